"""Feishu / Lark outbound: custom-bot webhooks and (optionally) the app's message API.

* Custom bot (``[[feishu.robots]]``): ``POST /open-apis/bot/v2/hook/<token>``. Signing is
  unusual: HMAC-SHA256 with **key** ``f"{ts}\\n{secret}"`` over an **empty** message, ts in
  seconds, and ``timestamp``/``sign`` go in the JSON body (:func:`sign`). Keyword mode: the
  first keyword is prepended when a message contains none.
* App (``app_id``/``app_secret``): ``tenant_access_token`` cached and refreshed; images uploaded
  with ``/open-apis/im/v1/images`` to get an ``image_key``; replies to chats with
  ``/open-apis/im/v1/messages``.
* Charts: an ``img`` node when app credentials exist; otherwise a link to the chart served by
  the bot (``chart_links``, needs ``public_base_url``); otherwise a text line.

Bodies stay under Feishu's 20 KB limit, measured on the serialized JSON bytes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.adapters.base import Destination, Sender, SendError
from bot.adapters.httpjson import JsonClient, dumps
from bot.adapters.images import ImageError, load_image
from bot.config import FeishuRobot, FeishuSettings
from bot.delivery.split import post_cost, split_text
from bot.redact import register_secret
from handlers.base import Chart, Reply

log = logging.getLogger(__name__)

PLATFORM = "feishu"
BODY_MAX_BYTES = 20_000  # custom bot request body
APP_BODY_MAX_BYTES = 30_000  # im/v1/messages: post/card bodies ≤ 30 KB (text may be 150 KB)
ENVELOPE_BYTES = 1_000  # msg_type, timestamp, sign, receive_id, the first post line
IMAGE_MAX_BYTES = 10 * 1024 * 1024
TOKEN_EARLY_REFRESH_S = 300
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}

ChartLinks = Callable[[Path], str]
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def sign(secret: str, timestamp: int | str) -> str:
    """Feishu custom-bot signature: key = ``"{timestamp}\\n{secret}"``, message = empty."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def with_keyword(text: str, keywords: list[str]) -> str:
    if not keywords or any(k in text for k in keywords):
        return text
    return f"{keywords[0]} {text}"


def _plain(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def post_content(title: str, lines: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"post": {"zh_cn": {"title": title, "content": lines}}}


def text_lines(text: str) -> list[list[dict[str, Any]]]:
    return [[{"tag": "text", "text": line}] for line in _plain(text).split("\n")]


@dataclass
class _Token:
    value: str
    expires_at: float


class FeishuApp:
    """The app credential: tenant token, image upload and chat messages. Optional."""

    def __init__(self, settings: FeishuSettings, client: JsonClient, monotonic: Callable[[], float]):
        self.settings = settings
        self.client = client
        self._monotonic = monotonic
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        register_secret(settings.app_secret.get_secret_value())

    @property
    def configured(self) -> bool:
        return bool(self.settings.app_id and self.settings.app_secret.get_secret_value())

    def _url(self, path: str) -> str:
        return f"{self.settings.api_base.rstrip('/')}/open-apis/{path}"

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._monotonic() >= self._token.expires_at:
                self._token = await self._fetch_token()
            return self._token.value

    async def _fetch_token(self) -> _Token:
        body = {"app_id": self.settings.app_id, "app_secret": self.settings.app_secret.get_secret_value()}
        try:
            result = await self.client.request("POST", self._url("auth/v3/tenant_access_token/internal"),
                                               what="tenant_access_token", code_field="code", data=dumps(body),
                                               headers=JSON_HEADERS)
        except SendError as exc:
            if exc.refresh_token:
                raise SendError(str(exc), code=exc.code, retryable=False) from None
            raise
        value = str(result.get("tenant_access_token") or "")
        if not value:
            raise SendError("feishu tenant_access_token missing in response", retryable=True)
        register_secret(value)
        ttl = float(result.get("expire") or 7200)
        return _Token(value, self._monotonic() + max(60.0, ttl - TOKEN_EARLY_REFRESH_S))

    async def call(self, path: str, what: str, *, make_data: Callable[[], Any], params: dict[str, str] | None = None,
                   json_body: bool = True) -> dict[str, Any]:
        """An authenticated POST; a stale token is dropped, refetched and the call retried once."""
        for attempt in (1, 2):
            token = await self.token()
            headers = {"Authorization": f"Bearer {token}", **(JSON_HEADERS if json_body else {})}
            try:
                return await self.client.request("POST", self._url(path), what=what, code_field="code",
                                                 params=params, data=make_data(), headers=headers)
            except SendError as exc:
                if not exc.refresh_token or attempt == 2:
                    raise
                if self._token is not None and self._token.value == token:
                    self._token = None
        raise AssertionError("unreachable")

    async def upload_image(self, data: bytes) -> str:
        def form() -> aiohttp.FormData:
            fd = aiohttp.FormData()
            fd.add_field("image_type", "message")
            fd.add_field("image", data, filename="chart.png", content_type="image/png")
            return fd

        result = await self.call("im/v1/images", "image upload", make_data=form, json_body=False)
        key = str((result.get("data") or {}).get("image_key") or "")
        if not key:
            raise SendError("feishu image upload returned no image_key", retryable=True)
        return key

    async def send_message(self, destination: Destination, msg_type: str, content: dict[str, Any]) -> None:
        id_type = {"chat": "chat_id", "user": "open_id"}.get(destination.kind)
        if id_type is None:
            raise SendError(f"feishu app cannot send to a {destination.kind!r} destination")
        body = {"receive_id": destination.target, "msg_type": msg_type,
                "content": json.dumps(content, ensure_ascii=False)}
        await self.call("im/v1/messages", "im/v1/messages", params={"receive_id_type": id_type},
                        make_data=lambda: dumps(body))


class FeishuSender(Sender):
    """The ``"feishu"`` Sender: ``robot`` → custom bot webhook; ``chat``/``user`` → the app API."""

    platform = PLATFORM

    def __init__(self, settings: FeishuSettings, *, chart_links: ChartLinks | None = None,
                 client: JsonClient | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.client = client or JsonClient(PLATFORM)
        self.app = FeishuApp(settings, self.client, monotonic)
        self.chart_links = chart_links
        self.clock = clock
        self._robots = {r.name: r for r in settings.robots}
        register_secret(*(v for r in settings.robots for v in (r.webhook.get_secret_value(),
                                                                 r.secret.get_secret_value())))

    async def close(self) -> None:
        await self.client.close()

    async def send(self, destination: Destination, reply: Reply) -> None:
        robot = self._robot(destination) if destination.kind == "robot" else None
        if robot is None and not self.app.configured:
            raise SendError("feishu app credentials (app_id, app_secret) are needed to reply in chats")
        keywords = robot.keywords if robot else []
        for msg_type, content in await self.messages(reply, keywords, via_app=robot is None):
            if robot is not None:
                await self._post_robot(robot, msg_type, content)
            else:
                await self.app.send_message(destination, msg_type, content)

    def _robot(self, destination: Destination) -> FeishuRobot:
        robot = self._robots.get(destination.target)
        if robot is None:
            raise SendError(f"no [[feishu.robots]] entry named {destination.target!r}")
        return robot

    async def messages(self, reply: Reply, keywords: list[str], *, via_app: bool = False
                       ) -> list[tuple[str, dict[str, Any]]]:
        """``(msg_type, content)`` pairs: text split under the body limit, charts on the last one.

        The budget is counted in serialized bytes: JSON escapes, the per-line ``post`` nodes, and
        for the app API the second JSON encoding of ``content``.
        """
        cost = _app_cost if via_app else _robot_cost
        title = reply.title or ""
        chart_nodes = [await self._chart_nodes(c) for c in reply.charts]
        overhead = sum(cost(ch) for ch in title + (keywords[0] if keywords else "") + json.dumps(chart_nodes))
        limit = (APP_BODY_MAX_BYTES if via_app else BODY_MAX_BYTES) - ENVELOPE_BYTES - overhead
        chunks = split_text(_plain(reply.text), max(256, limit), cost=cost) if reply.text else []
        out: list[tuple[str, dict[str, Any]]] = []
        for i, chunk in enumerate(chunks or [""]):
            last = i == max(0, len(chunks) - 1)
            head = title if i == 0 else ""
            if not head and not (last and chart_nodes):
                out.append(("text", {"text": with_keyword(chunk, keywords)}))
                continue
            lines = text_lines(with_keyword(chunk, keywords)) if chunk else []
            if last:
                lines += [node for nodes in chart_nodes for node in nodes]
            out.append(("post", post_content(with_keyword(head, keywords) if head else "", lines)))
        return [m for m in out if _has_content(m)]

    async def _chart_nodes(self, chart: Chart) -> list[list[dict[str, Any]]]:
        if self.app.configured:
            try:
                data, _ = await asyncio.to_thread(load_image, chart.path, IMAGE_MAX_BYTES)
                return [[{"tag": "img", "image_key": await self.app.upload_image(data)}]]
            except ImageError as exc:
                log.warning("feishu chart %s not uploaded: %s", chart.title, exc)
        if self.chart_links is not None and chart.path.exists():
            try:
                url = self.chart_links(chart.path)
            except Exception as exc:  # noqa: BLE001 - a missing public_base_url must not lose the text
                log.warning("no link for chart %s: %s", chart.title, type(exc).__name__)
            else:
                return [[{"tag": "text", "text": f"[图表] {chart.title}："},
                         {"tag": "a", "text": "查看图表", "href": url}]]
        return [[{"tag": "text", "text": f"[图表] {chart.title}（未配置飞书应用凭证或公网地址，无法附图）"}]]

    async def _post_robot(self, robot: FeishuRobot, msg_type: str, content: dict[str, Any]) -> None:
        body: dict[str, Any] = {"msg_type": msg_type, "content": content}
        secret = robot.secret.get_secret_value()
        if secret:
            ts = int(self.clock())
            body = {"timestamp": str(ts), "sign": sign(secret, ts), **body}
        data = dumps(body)
        if len(data) > BODY_MAX_BYTES:  # split_text budgets for this; a guard, not a code path
            raise SendError(f"feishu body of {len(data)} bytes exceeds {BODY_MAX_BYTES}")
        await self.client.request("POST", robot.webhook.get_secret_value(), what="bot/v2/hook",
                                  code_field="code", data=data, headers=JSON_HEADERS)


_robot_cost = post_cost


def _app_cost(ch: str) -> int:
    """Bytes in an app message body, where ``content`` is JSON encoded twice."""
    if ch == "\n":
        return len(json.dumps('"}],[{"tag":"text","text":"')) - 2  # the seam, escaped once more
    return len(json.dumps(json.dumps(ch, ensure_ascii=False)[1:-1], ensure_ascii=False).encode("utf-8")) - 2


def _has_content(message: tuple[str, dict[str, Any]]) -> bool:
    msg_type, content = message
    if msg_type == "text":
        return bool(content["text"].strip())
    post = content["post"]["zh_cn"]
    return bool(post["title"] or post["content"])
