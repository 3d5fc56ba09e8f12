"""Signed, expiring links to chart images served by the bot at ``/charts/{id}.png``.

``publish(path)`` copies a rendered PNG under a random id into the public chart folder and
returns ``{public_base_url}/charts/{id}.png?exp=<unix s>&sig=<hmac>``; the signature is
HMAC-SHA256 over ``"{id}.{exp}"``. Files survive a restart (the key must too: set
``server.chart_signing_key``, or it is derived from the first configured app secret) and are
swept once their links have expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings

log = logging.getLogger(__name__)

ID_RE = re.compile(r"^[0-9a-f]{32}$")
# Exported files (/知识库 导出) ride the same signed links under /files/: a random id plus the file's suffix.
FILE_RE = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")
FILE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_DERIVE_LABEL = b"csbot chart links v1"


def signing_key(settings: Settings) -> bytes:
    """``server.chart_signing_key``, else a key derived from an app secret, else a random one."""
    explicit = settings.server.chart_signing_key.get_secret_value()
    if explicit:
        return explicit.encode("utf-8")
    for secret in (settings.dingtalk.app_secret, settings.wecom.secret, settings.feishu.app_secret):
        value = secret.get_secret_value()
        if value:
            return hmac.new(value.encode("utf-8"), _DERIVE_LABEL, hashlib.sha256).digest()
    log.warning("no chart_signing_key or app secret configured: chart links stop working on restart")
    return secrets.token_bytes(32)


class ChartLinks:
    """Publishes chart files and checks the signed links to them."""

    def __init__(self, directory: Path, key: bytes, base_url: str, ttl_s: int,
                 clock: Callable[[], float] = time.time):
        self.directory = Path(directory)
        self.key = key
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s
        self.clock = clock

    def _sig(self, chart_id: str, exp: int) -> str:
        mac = hmac.new(self.key, f"{chart_id}.{exp}".encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def sign(self, chart_id: str, exp: int) -> str:
        return f"{self.base_url}/charts/{chart_id}.png?exp={exp}&sig={self._sig(chart_id, exp)}"

    def publish(self, chart_path: str | os.PathLike[str]) -> str:
        """Register a chart file and return its signed URL (valid for ``ttl_s`` seconds)."""
        chart_id = secrets.token_hex(16)
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{chart_id}.png"
        # A copy, not a link: the renderer may overwrite its file in place for the next answer.
        shutil.copyfile(chart_path, target)
        return self.sign(chart_id, int(self.clock()) + self.ttl_s)

    def publish_file(self, path: str | os.PathLike[str]) -> str:
        """Register an exported file (.csv or .xlsx) and return its signed URL (valid for ``ttl_s`` seconds)."""
        suffix = Path(path).suffix.lower()
        if suffix.lstrip(".") not in FILE_TYPES:
            raise ValueError(f"only {', '.join(FILE_TYPES)} files are published")
        file_id = secrets.token_hex(16) + suffix
        folder = self.directory / "files"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / file_id)
        exp = int(self.clock()) + self.ttl_s
        return f"{self.base_url}/files/{file_id}?exp={exp}&sig={self._sig(file_id, exp)}"

    def resolve_file(self, file_id: str, exp: str, sig: str) -> tuple[int, Path | None]:
        """(HTTP status, file) for a ``/files/`` request: 200 with the file, else 403/404/410."""
        if not FILE_RE.match(file_id) or not exp.isascii() or not exp.isdigit() or len(exp) > 12:
            return 404, None
        if not hmac.compare_digest(self._sig(file_id, int(exp)).encode("ascii"), sig.encode("utf-8", "replace")):
            return 403, None
        if int(exp) < self.clock():
            return 410, None
        path = self.directory / "files" / file_id
        return (200, path) if path.is_file() else (404, None)

    def resolve(self, chart_id: str, exp: str, sig: str) -> tuple[int, Path | None]:
        """(HTTP status, file) for a request: 200 with the file, else 403/404/410."""
        if not ID_RE.match(chart_id) or not exp.isascii() or not exp.isdigit() or len(exp) > 12:
            return 404, None
        expected = self._sig(chart_id, int(exp))
        if not hmac.compare_digest(expected.encode("ascii"), sig.encode("utf-8", "replace")):
            return 403, None
        if int(exp) < self.clock():
            return 410, None
        path = self.directory / f"{chart_id}.png"
        return (200, path) if path.is_file() else (404, None)

    def sweep(self) -> int:
        """Delete published files older than the link lifetime; return how many."""
        if not self.directory.is_dir():
            return 0
        cutoff = self.clock() - self.ttl_s - 60
        removed = 0
        for path in [*self.directory.glob("*.png"), *self.directory.glob("files/*")]:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def build_chart_links(settings: Settings) -> ChartLinks | None:
    """Signed chart links, or None when ``server.public_base_url`` is not set."""
    if not settings.server.public_base_url:
        return None
    directory = Path(settings.general.data_dir) / "public-charts"
    return ChartLinks(directory, signing_key(settings), settings.server.public_base_url,
                      settings.server.chart_url_ttl_seconds)
