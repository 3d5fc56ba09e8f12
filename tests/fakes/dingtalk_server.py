"""A fake DingTalk on a loopback port, strict like the real one (PROTOCOLS.md §1).

* ``POST /robot/send?access_token=&timestamp=&sign=``: custom robot. Sign mode checks the
  HMAC-SHA256 of ``"{ts}\\n{secret}"`` (computed here independently of csbot) and the ±1 h window;
  keyword mode needs a keyword in the content (310000 otherwise); 20 messages per minute, then
  throttled for 10 minutes (130101); bodies over 20000 bytes are refused (460101).
* ``POST /robot/sendBySession?session=``: the reply URL from a callback; unknown or expired
  sessions get 300001.
* ``POST /v1.0/oauth2/accessToken``: issues expiring tokens for the configured app.
* ``POST /v1.0/robot/groupMessages/send`` and ``/v1.0/robot/oToMessages/batchSend``: token in
  ``x-acs-dingtalk-access-token`` (401 ``InvalidAuthentication`` otherwise), robotCode must match,
  ``msgParam`` must be a JSON *string*; unknown staff ids come back in ``invalidStaffIdList``.
* ``POST /media/upload?access_token=``: multipart ``media`` + ``type`` → ``media_id``.
* Stream mode: ``POST /v1.0/gateway/connections/open`` → a ``ws://`` endpoint + ticket, and the
  WebSocket itself: frames pushed by the test, acks recorded.

Send failures can be injected with :meth:`fail_next` (5xx, QPS 403, any errcode).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.fake_http import FakeServer

MAX_BODY = 20_000
OK = {"errcode": 0, "errmsg": "ok"}


def independent_sign(secret: str, timestamp: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), (timestamp + "\n" + secret).encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


@dataclass
class Robot:
    secret: str = ""
    keywords: tuple[str, ...] = ()
    sent_at: deque[float] = field(default_factory=deque)
    throttled_until: float = 0.0


@dataclass
class Sent:
    kind: str  # robot | session | group | user
    target: str
    body: dict[str, Any]
    raw_bytes: int
    raw_query: str = ""
    at: float = field(default_factory=time.monotonic)  # when it arrived (benchmarks)

    @property
    def markdown(self) -> str:
        if self.kind in ("group", "user"):
            return json.loads(self.body["msgParam"]).get("text", "")
        return self.body.get("markdown", {}).get("text", "") or self.body.get("text", {}).get("content", "")


def _content(body: dict[str, Any]) -> str:
    parts = [json.dumps(body.get(body.get("msgtype", ""), {}), ensure_ascii=False)]
    return " ".join(parts)


class FakeDingTalk(FakeServer):
    def __init__(self, *, app_key: str = "dingfakeappkey", app_secret: str = "fake-app-secret-0123456789",
                 robot_code: str = "dingfakerobot", token_ttl: int = 7200, clock: Callable[[], float] = time.time,
                 bad_token_status: int = 401):
        super().__init__(clock)
        self.app_key, self.app_secret, self.robot_code = app_key, app_secret, robot_code
        self.token_ttl = token_ttl
        self.bad_token_status = bad_token_status
        self.robots: dict[str, Robot] = {}
        self.sessions: dict[str, int] = {}
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.known_staff: set[str] | None = None
        self.delay_s = 0.0  # answer sends this much later (a slow vendor)
        # Robot sends to hold this many seconds each before accepting (one entry per request). A held
        # request whose client went away meanwhile (a killed csbot) is not delivered: it lands in ``dropped``.
        self.robot_holds: list[float] = []
        self.holding = 0
        self.dropped: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.uploads: list[bytes] = []
        self.refused: list[tuple[str, int | str]] = []
        self.stream = FakeStream(self)
        self._ids = itertools.count(1)
        self._media_ids = itertools.count(1)
        r = self.app.router
        r.add_post("/robot/send", self._robot_send)
        r.add_post("/robot/sendBySession", self._session_send)
        r.add_post("/v1.0/oauth2/accessToken", self._token)
        r.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        r.add_post("/v1.0/robot/oToMessages/batchSend", self._user_send)
        r.add_post("/media/upload", self._upload)
        r.add_post("/v1.0/gateway/connections/open", self.stream.open)
        r.add_get("/stream", self.stream.socket)
        self.app.on_shutdown.append(self.stream.close_all)

    # ------------------------------------------------------------ test helpers

    def add_robot(self, token: str, *, secret: str = "", keywords: tuple[str, ...] = ()) -> str:
        self.robots[token] = Robot(secret, tuple(keywords))
        return f"{self.base_url}/robot/send?access_token={token}"

    def new_session(self, ttl_ms: int = 5_400_000) -> tuple[str, int]:
        session = secrets.token_hex(8)
        expires = int(self.clock() * 1000) + ttl_ms
        self.sessions[session] = expires
        return f"{self.base_url}/robot/sendBySession?session={session}", expires

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def sent_to(self, kind: str) -> list[Sent]:
        return [s for s in self.sent if s.kind == kind]

    async def wait_sent(self, count: int, within: float = 10.0) -> list[Sent]:
        deadline = asyncio.get_running_loop().time() + within
        while len(self.sent) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} messages, got {len(self.sent)}: {self.sent}")
            await asyncio.sleep(0.01)
        return self.sent

    def texts(self) -> list[Sent]:
        """Messages that carry text (markdown or sampleMarkdown), not images."""
        return [s for s in self.sent if s.kind in ("robot", "session") or s.body.get("msgKey") == "sampleMarkdown"]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met; sent so far: {self.sent}")
            await asyncio.sleep(0.01)

    def _refuse(self, kind: str, code: int | str, msg: str, status: int = 200) -> web.Response:
        self.refused.append((kind, code))
        if isinstance(code, str):
            return web.json_response({"code": code, "message": msg, "requestid": "fake"}, status=status)
        return web.json_response({"errcode": code, "errmsg": msg}, status=status)

    async def _json(self, request: web.Request) -> tuple[dict[str, Any] | None, int]:
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None, len(raw)
        return (body if isinstance(body, dict) else None), len(raw)

    # ------------------------------------------------------------ legacy oapi

    async def _robot_send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        robot = self.robots.get(token)
        if robot is None:
            return self._refuse("robot", 300001, "token is not exist")
        if robot.secret:
            ts, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
            if not ts.isdigit() or abs(self.clock() * 1000 - int(ts)) > 3_600_000:
                return self._refuse("robot", 310000, "invalid timestamp")
            if not hmac.compare_digest(independent_sign(robot.secret, ts), sign):
                return self._refuse("robot", 310000, "sign not match, more: [https://ding-doc.dingtalk.com]")
        if (failure := self.injected()) is not None:
            return failure
        body, size = await self._json(request)
        if body is None:
            return self._refuse("robot", 400, "invalid json")
        if self.robot_holds:
            self.holding += 1
            await asyncio.sleep(self.robot_holds.pop(0))
            self.holding -= 1
            if request.transport is None or request.transport.is_closing():
                self.dropped.append(body)
                return web.json_response(OK)  # nobody is there to read it
        if size > MAX_BODY:
            return self._refuse("robot", 460101, "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;")
        if robot.keywords and not any(k in _content(body) for k in robot.keywords):
            return self._refuse("robot", 310000, "keywords not in content")
        now = self.clock()
        if now < robot.throttled_until:
            return self._refuse("robot", 130101, "send too fast, exceed 20 times per minute")
        while robot.sent_at and now - robot.sent_at[0] >= 60:
            robot.sent_at.popleft()
        if len(robot.sent_at) >= 20:
            robot.throttled_until = now + 600
            return self._refuse("robot", 130101, "send too fast, exceed 20 times per minute")
        robot.sent_at.append(now)
        self.sent.append(Sent("robot", token, body, size, request.rel_url.raw_query_string))
        return web.json_response(OK)

    async def _session_send(self, request: web.Request) -> web.Response:
        session = request.query.get("session", "")
        expires = self.sessions.get(session)
        if expires is None or self.clock() * 1000 >= expires:
            return self._refuse("session", 300001, "session 不存在")
        if (failure := self.injected()) is not None:
            return failure
        body, size = await self._json(request)
        delay = self.delay_s
        if delay:
            await asyncio.sleep(delay)
        if delay and (request.transport is None or request.transport.is_closing()):
            self.dropped.append(body or {})  # the sender is gone (a killed csbot): not delivered
            return web.json_response(OK)
        if body is None or body.get("msgtype") not in ("text", "markdown", "actionCard", "link", "feedCard"):
            return self._refuse("session", 400, "invalid message")
        if size > MAX_BODY:
            return self._refuse("session", 460101, "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;")
        self.sent.append(Sent("session", session, body, size))
        return web.json_response(OK)

    async def _upload(self, request: web.Request) -> web.Response:
        if self.tokens.get(request.query.get("access_token", ""), 0) <= self.clock():
            return self._refuse("upload", 40014, "不合法的access_token")
        form = await request.post()
        media = form.get("media")
        if form.get("type") != "image" or not isinstance(media, web.FileField):
            return self._refuse("upload", 40004, "不合法的媒体文件类型")
        self.uploads.append(media.file.read())
        return web.json_response({**OK, "media_id": f"@lALPfake{next(self._media_ids)}", "type": "image"})

    # ------------------------------------------------------------ api.dingtalk.com

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        body, _ = await self._json(request)
        if not body or body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return self._refuse("token", "authFailed", "鉴权失败", status=401)
        token = secrets.token_hex(16)
        self.tokens[token] = self.clock() + self.token_ttl
        return web.json_response({"accessToken": token, "expireIn": self.token_ttl})

    def _check_token(self, request: web.Request) -> web.Response | None:
        if self.tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""), 0) <= self.clock():
            return self._refuse("openapi", "InvalidAuthentication", "不合法的access_token",
                                status=self.bad_token_status)
        return None

    async def _openapi_body(self, request: web.Request) -> tuple[dict[str, Any] | None, int, web.Response | None]:
        if (bad := self._check_token(request)) is not None:
            return None, 0, bad
        if (failure := self.injected()) is not None:
            return None, 0, failure
        body, size = await self._json(request)
        if body is None or body.get("robotCode") != self.robot_code:
            return None, size, self._refuse("openapi", "invalidParameter.robotCode", "robot 不存在", status=400)
        if body.get("msgKey") not in ("sampleText", "sampleMarkdown", "sampleImageMsg") \
                or not isinstance(body.get("msgParam"), str):
            return None, size, self._refuse("openapi", "invalidParameter", "msgKey/msgParam", status=400)
        try:
            json.loads(body["msgParam"])
        except ValueError:
            return None, size, self._refuse("openapi", "invalidParameter", "msgParam is not JSON", status=400)
        return body, size, None

    async def _group_send(self, request: web.Request) -> web.Response:
        body, size, bad = await self._openapi_body(request)
        if bad is not None:
            return bad
        assert body is not None
        self.sent.append(Sent("group", body.get("openConversationId", ""), body, size))
        return web.json_response({"processQueryKey": f"pqk{next(self._ids)}"})

    async def _user_send(self, request: web.Request) -> web.Response:
        body, size, bad = await self._openapi_body(request)
        if bad is not None:
            return bad
        assert body is not None
        users = [u for u in body.get("userIds", []) if isinstance(u, str)]
        invalid = [u for u in users if self.known_staff is not None and u not in self.known_staff]
        for user in users:
            if user not in invalid:
                self.sent.append(Sent("user", user, body, size))
        return web.json_response({"processQueryKey": f"pqk{next(self._ids)}", "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": []})


class FakeStream:
    """The Stream-mode gateway: one ticket-authenticated WebSocket; tests push frames and read acks."""

    def __init__(self, server: FakeDingTalk):
        self.server = server
        self.tickets: set[str] = set()
        self.opens = 0
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: list[dict[str, Any]] = []
        self.connected = asyncio.Event()

    async def open(self, request: web.Request) -> web.Response:
        self.opens += 1
        body, _ = await self.server._json(request)
        if not body or body.get("clientId") != self.server.app_key or body.get("clientSecret") != self.server.app_secret:
            return web.json_response({"code": "authFailed", "message": "鉴权失败"}, status=401)
        ticket = secrets.token_urlsafe(12)
        self.tickets.add(ticket)
        return web.json_response({"endpoint": f"ws://127.0.0.1:{self.server.port}/stream", "ticket": ticket})

    async def socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self.tickets:
            return web.Response(status=403)
        self.tickets.discard(request.query["ticket"])
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self.connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws

    async def close_all(self, _app: web.Application | None = None) -> None:
        for ws in self.sockets:
            await ws.close()

    async def push(self, frame_type: str, topic: str, data: dict[str, Any]) -> str:
        message_id = f"msg-{secrets.token_hex(6)}"
        frame = {"specVersion": "1.0", "type": frame_type,
                 "headers": {"appId": "fake", "connectionId": "c1", "contentType": "application/json",
                             "messageId": message_id, "time": str(int(time.time() * 1000)), "topic": topic},
                 "data": json.dumps(data, ensure_ascii=False)}
        await self.sockets[-1].send_str(json.dumps(frame, ensure_ascii=False))
        return message_id

    async def push_callback(self, payload: dict[str, Any]) -> str:
        return await self.push("CALLBACK", "/v1.0/im/bot/messages/get", payload)

    async def push_ping(self, opaque: str = "ping-data") -> str:
        return await self.push("SYSTEM", "ping", {"opaque": opaque})

    async def wait_ack(self, message_id: str, within: float = 10.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for ack in self.acks:
                if ack.get("headers", {}).get("messageId") == message_id:
                    return ack
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no ack for {message_id}; acks: {self.acks}")
            await asyncio.sleep(0.01)
