"""One small JSON-over-HTTP helper for the WeCom and Feishu senders.

It turns every way a vendor call can fail into a classified, redacted :class:`SendError`:
network errors and timeouts (retryable), HTTP status (5xx/429 retryable, other 4xx permanent),
and the ``errcode``/``code`` these vendors return inside HTTP 200 bodies.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from bot.delivery.errors import network_error, retry_after_header, send_error
from bot.redact import redact

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


def dumps(body: Any) -> bytes:
    """JSON as UTF-8 with Chinese kept as-is (``\\uXXXX`` escapes would triple the byte count)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class JsonClient:
    """An aiohttp session made on first use (inside the running loop), closed by :meth:`close`."""

    def __init__(self, platform: str, *, timeout: aiohttp.ClientTimeout = TIMEOUT):
        self.platform = platform
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request(self, method: str, url: str, *, what: str, code_field: str = "errcode",
                      **kwargs: Any) -> dict[str, Any]:
        """Call ``url`` and return the JSON body; raise a classified :class:`SendError` otherwise."""
        try:
            async with self.session().request(method, url, **kwargs) as resp:
                raw = await resp.read()
                status = resp.status
                wait = retry_after_header(resp.headers.get("Retry-After")
                                          or resp.headers.get("x-ogw-ratelimit-reset"))
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise network_error(self.platform, exc, what=what) from None
        body = _json_or_none(raw)
        code = body.get(code_field) if isinstance(body, dict) else None
        if status != 200:
            raise send_error(self.platform, status=status, code=code, message=_errmsg(body, raw),
                             retry_after=wait, what=what)
        if not isinstance(body, dict):
            raise send_error(self.platform, status=502, message="response is not a JSON object", what=what)
        if code not in (0, None):
            raise send_error(self.platform, code=code, message=_errmsg(body, raw), retry_after=wait, what=what)
        return body


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _errmsg(body: Any, raw: bytes) -> str:
    if isinstance(body, dict):
        return str(body.get("errmsg") or body.get("msg") or body.get("message") or "")
    return redact(raw[:200].decode("utf-8", "replace"))

