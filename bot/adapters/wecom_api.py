"""WeCom outbound: the self-built app's message API and the group robot webhook.

* :class:`WeComAppSender`: ``gettoken`` (cached, refreshed early and on 42001/40014/40001),
  ``message/send`` to users/parties/tags and ``appchat/send`` to app group chats; text ≤ 2048
  bytes; charts uploaded with ``media/upload?type=image`` and sent as ``image`` messages.
* :class:`WeComRobotSender`: ``webhook/send?key=``; markdown ≤ 4096 bytes; charts as ``image``
  messages with base64 + md5 of the raw bytes, PNG/JPEG ≤ 2 MB (re-encoded smaller if needed); files (the
  /知识库 导出 XLSX/CSV) uploaded with ``webhook/upload_media?key=&type=file`` (field ``media`` with the file
  name, 5 B–20 MB) and sent as ``file`` messages (PROTOCOLS.md §2a). The app sender has no documented file
  path: its replies keep the signed download link the command puts in the text.
* :class:`WeComSender`: the one ``"wecom"`` Sender the outbox uses; routes by destination kind.

Byte limits are measured on UTF-8 bytes (:mod:`bot.delivery.split`); long text becomes several
messages, cut at line breaks. Errors are classified by :mod:`bot.delivery.errors` and redacted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.adapters.base import Destination, Sender, SendError
from bot.adapters.httpjson import JsonClient, dumps
from bot.adapters.images import ImageError, load_image
from bot.config import WeComRobot, WeComSettings
from bot.delivery.split import limit_for, split_text
from bot.redact import redact, register_secret
from handlers.base import Attachment, Chart, Reply

log = logging.getLogger(__name__)

PLATFORM = "wecom"
IMAGE_MAX_BYTES = 2 * 1024 * 1024
FILE_MIN_BYTES, FILE_MAX_BYTES = 5, 20 * 1024 * 1024  # upload_media's limits for type=file
TOKEN_EARLY_REFRESH_S = 300
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def plain_text(reply: Reply) -> str:
    """Text for channels without markdown: ``**bold**`` markers dropped, title as a 【】 line."""
    body = _BOLD.sub(r"\1", reply.text)
    return f"【{reply.title}】\n{body}" if reply.title else body


def markdown_text(reply: Reply) -> str:
    return f"**{reply.title}**\n{reply.text}" if reply.title else reply.text


def text_messages(content: str, limit: int) -> list[str]:
    """``content`` as one or more message bodies within ``limit`` UTF-8 bytes."""
    return [part for part in split_text(content, limit) if part.strip()] or ([content] if content else [])


def chart_note(chart: Chart, why: str) -> str:
    return f"[图表] {chart.title}（{why}）"


@dataclass
class _Token:
    value: str
    expires_at: float


class WeComAppSender(Sender):
    """Sends through the self-built app (``corp_id`` + ``secret`` + ``agent_id``)."""

    platform = PLATFORM

    def __init__(self, settings: WeComSettings, *, client: JsonClient | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.client = client or JsonClient(PLATFORM)
        self._monotonic = monotonic
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        register_secret(settings.secret.get_secret_value())

    @property
    def configured(self) -> bool:
        return bool(self.settings.corp_id and self.settings.secret.get_secret_value() and self.settings.agent_id)

    def _url(self, path: str) -> str:
        return f"{self.settings.api_base.rstrip('/')}/cgi-bin/{path}"

    async def close(self) -> None:
        await self.client.close()

    async def access_token(self) -> str:
        """The cached app token, fetched when missing or about to expire."""
        async with self._token_lock:
            if self._token is None or self._monotonic() >= self._token.expires_at:
                self._token = await self._fetch_token()
            return self._token.value

    def invalidate_token(self, value: str) -> None:
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch_token(self) -> _Token:
        params = {"corpid": self.settings.corp_id, "corpsecret": self.settings.secret.get_secret_value()}
        try:
            body = await self.client.request("GET", self._url("gettoken"), params=params, what="gettoken")
        except SendError as exc:
            if exc.refresh_token:  # gettoken itself rejected the secret: retrying cannot help
                raise SendError(str(exc), code=exc.code, retryable=False) from None
            raise
        token = str(body.get("access_token") or "")
        if not token:
            raise SendError("wecom gettoken returned no access_token", retryable=True)
        register_secret(token)
        ttl = float(body.get("expires_in") or 7200)
        return _Token(token, self._monotonic() + max(60.0, ttl - TOKEN_EARLY_REFRESH_S))

    async def call(self, method: str, path: str, what: str, *, params: dict[str, str] | None = None,
                   make_data: Callable[[], Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """An authenticated API call; on a stale-token code, refetch the token and try once more.

        ``make_data`` builds the request body per attempt (a multipart form can be sent only once).
        """
        for attempt in (1, 2):
            token = await self.access_token()
            query = {**(params or {}), "access_token": token}
            if make_data is not None:
                kwargs["data"] = make_data()
            try:
                return await self.client.request(method, self._url(path), params=query, what=what, **kwargs)
            except SendError as exc:
                if not exc.refresh_token or attempt == 2:
                    raise
                log.info("wecom %s: token rejected (code %s), fetching a new one", what, exc.code)
                self.invalidate_token(token)
        raise AssertionError("unreachable")

    def _envelope(self, destination: Destination) -> tuple[str, dict[str, Any]]:
        target = destination.target
        if destination.kind == "chat":
            return "appchat/send", {"chatid": target}
        field = {"user": "touser", "party": "toparty", "tag": "totag"}.get(destination.kind)
        if field is None:
            raise SendError(f"wecom app cannot send to a {destination.kind!r} destination")
        return "message/send", {field: target, "agentid": self.settings.agent_id, "safe": 0}

    async def send(self, destination: Destination, reply: Reply) -> None:
        if not self.configured:
            raise SendError("wecom app is not configured (corp_id, secret, agent_id)")
        path, envelope = self._envelope(destination)
        for content in text_messages(plain_text(reply), limit_for("wecom", "app_text")):
            await self._post(path, {**envelope, "msgtype": "text", "text": {"content": content}})
        for chart in reply.charts:
            await self._send_chart(path, envelope, chart)

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        result = await self.call("POST", path, path, data=dumps(body), headers=JSON_HEADERS)
        invalid = [result.get(k) for k in ("invaliduser", "invalidparty", "invalidtag") if result.get(k)]
        if invalid:
            log.warning("wecom %s: some recipients are invalid: %s", path, redact(invalid)[:200])

    async def _send_chart(self, path: str, envelope: dict[str, Any], chart: Chart) -> None:
        try:
            data, kind = await asyncio.to_thread(load_image, chart.path, IMAGE_MAX_BYTES)
        except ImageError as exc:
            note = chart_note(chart, "图片无法发送")
            log.warning("wecom chart %s not sent: %s", chart.title, exc)
            await self._post(path, {**envelope, "msgtype": "text", "text": {"content": note}})
            return
        media_id = await self.upload_image(data, f"chart.{'jpg' if kind == 'jpeg' else 'png'}")
        await self._post(path, {**envelope, "msgtype": "image", "image": {"media_id": media_id}})

    async def upload_image(self, data: bytes, filename: str) -> str:
        content_type = "image/jpeg" if filename.endswith(".jpg") else "image/png"

        def form() -> aiohttp.FormData:
            fd = aiohttp.FormData()
            fd.add_field("media", data, filename=filename, content_type=content_type)
            return fd

        body = await self.call("POST", "media/upload", "media/upload", params={"type": "image"}, make_data=form)
        media_id = str(body.get("media_id") or "")
        if not media_id:
            raise SendError("wecom media/upload returned no media_id", retryable=True)
        return media_id


class WeComRobotSender(Sender):
    """Pushes to group robots (``[[wecom.robots]]``) by name."""

    platform = PLATFORM

    def __init__(self, robots: list[WeComRobot], *, client: JsonClient | None = None):
        self.client = client or JsonClient(PLATFORM)
        self._robots = {r.name: r for r in robots}
        register_secret(*(r.webhook.get_secret_value() for r in robots))

    async def close(self) -> None:
        await self.client.close()

    def _webhook(self, name: str) -> str:
        robot = self._robots.get(name)
        if robot is None:
            raise SendError(f"no [[wecom.robots]] entry named {name!r}")
        return robot.webhook.get_secret_value()

    async def send(self, destination: Destination, reply: Reply) -> None:
        url = self._webhook(destination.target)
        content = markdown_text(reply)
        people = destination.extra.get("mention_userids") or []  # an alert's on-call people: <@userid> in markdown
        if people:
            content = content.rstrip() + "\n" + " ".join(f"<@{u}>" for u in people)
        for part in text_messages(content, limit_for("wecom", "markdown")):
            await self._post(url, {"msgtype": "markdown", "markdown": {"content": part}})
        for chart in reply.charts:
            await self._post(url, await self.chart_body(chart))
        for attachment in reply.files:
            await self._post(url, await self.file_body(url, attachment))

    async def file_body(self, url: str, attachment: Attachment) -> dict[str, Any]:
        """A ``file`` message after ``upload_media`` (the media_id is this robot's), or a text note when the file
        cannot be sent (missing, or outside 5 B–20 MB): the reply's text still carries its download link."""
        try:
            data = await asyncio.to_thread(attachment.path.read_bytes)
        except OSError as exc:
            log.warning("wecom file %s not sent: %s", attachment.title, exc)
            data = b""
        if not FILE_MIN_BYTES <= len(data) <= FILE_MAX_BYTES:
            return {"msgtype": "text", "text": {"content": f"[文件] {attachment.title}（文件无法发送，请用文中的下载链接）"}}

        def form() -> aiohttp.FormData:
            fd = aiohttp.FormData()
            fd.add_field("media", data, filename=attachment.path.name, content_type="application/octet-stream")
            return fd

        upload = url.replace("/webhook/send", "/webhook/upload_media", 1)
        body = await self.client.request("POST", upload, params={"type": "file"}, what="webhook/upload_media",
                                         data=form())
        media_id = str(body.get("media_id") or "")
        if not media_id:
            raise SendError("wecom webhook/upload_media returned no media_id", retryable=True)
        return {"msgtype": "file", "file": {"media_id": media_id}}

    @staticmethod
    async def chart_body(chart: Chart) -> dict[str, Any]:
        """An ``image`` message (base64 + md5 of the raw bytes), or a text note if it cannot be sent."""
        try:
            data, _ = await asyncio.to_thread(load_image, chart.path, IMAGE_MAX_BYTES)
        except ImageError as exc:
            log.warning("wecom chart %s not sent as image: %s", chart.title, exc)
            return {"msgtype": "text", "text": {"content": chart_note(chart, "图片无法发送")}}
        return {"msgtype": "image", "image": {"base64": base64.b64encode(data).decode("ascii"),
                                              "md5": hashlib.md5(data).hexdigest()}}

    async def _post(self, url: str, body: dict[str, Any]) -> None:
        await self.client.request("POST", url, what="webhook/send", data=dumps(body), headers=JSON_HEADERS)


class WeComSender(Sender):
    """The ``"wecom"`` Sender: ``robot`` destinations go to a group robot, the rest to the app."""

    platform = PLATFORM

    def __init__(self, settings: WeComSettings, *, client: JsonClient | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.client = client or JsonClient(PLATFORM)
        self.app = WeComAppSender(settings, client=self.client, monotonic=monotonic)
        self.robots = WeComRobotSender(settings.robots, client=self.client)

    async def send(self, destination: Destination, reply: Reply) -> None:
        target = self.robots if destination.kind == "robot" else self.app
        await target.send(destination, reply)

    async def close(self) -> None:
        await self.client.close()
