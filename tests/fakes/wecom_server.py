"""A fake WeCom API (qyapi.weixin.qq.com) on a loopback port, strict like the real one.

* ``GET /cgi-bin/gettoken``: checks corpid + corpsecret, issues expiring tokens (40001 otherwise).
* ``POST /cgi-bin/message/send`` and ``/cgi-bin/appchat/send``: token must be current (42001 when
  expired, 40014 when unknown/revoked), agentid must match, text ≤ 2048 UTF-8 bytes (45002).
* ``POST /cgi-bin/media/upload?type=image``: multipart field ``media`` → media_id.
* ``POST /cgi-bin/webhook/upload_media?key=&type=file``: field ``media`` (with filename), 5 B–20 MB → a
  media_id valid only for that robot (``msgtype: file`` with another robot's id → 40007).
* ``POST /cgi-bin/webhook/send?key=``: unknown key 93000; markdown ≤ 4096 bytes and text ≤ 2048
  (40058); image base64 must decode to a PNG/JPEG ≤ 2 MB whose md5 matches (40058);
  20 messages per minute per key (45009).
Failures can be injected with :meth:`fail_next` (5xx, rate-limit codes, any errcode).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.fake_http import FakeServer

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"


@dataclass
class Sent:
    path: str
    body: dict[str, Any]
    raw_bytes: int
    token: str = ""
    key: str = ""


@dataclass
class _Token:
    value: str
    expires_at: float
    revoked: bool = False


@dataclass
class FakeWeCom(FakeServer):
    corp_id: str = "wwcorp0001"
    secret: str = "app-secret-0123456789"
    agent_id: int = 1000002
    robot_keys: set[str] = field(default_factory=lambda: {"robot-key-aaaa-1111"})
    token_ttl: int = 7200
    robot_rate_per_minute: int = 20
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        FakeServer.__init__(self, self.clock)
        self.sent: list[Sent] = []
        self.tokens: dict[str, _Token] = {}
        self.gettoken_calls = 0
        self.media: dict[str, bytes] = {}
        self.robot_files: dict[str, tuple[str, str, bytes]] = {}  # media_id → (robot key, filename, bytes)
        self._robot_sends: dict[str, list[float]] = {}
        self._ids = itertools.count(1)
        self.app.add_routes([
            web.get("/cgi-bin/gettoken", self.gettoken),
            web.post("/cgi-bin/message/send", self.message_send),
            web.post("/cgi-bin/appchat/send", self.message_send),
            web.post("/cgi-bin/media/upload", self.media_upload),
            web.post("/cgi-bin/webhook/send", self.webhook_send),
            web.post("/cgi-bin/webhook/upload_media", self.webhook_upload),
        ])

    # -------------------------------------------------------------- helpers for tests

    def webhook_url(self, key: str | None = None) -> str:
        return f"{self.base_url}/cgi-bin/webhook/send?key={key or next(iter(self.robot_keys))}"

    def expire_tokens(self) -> None:
        for token in self.tokens.values():
            token.expires_at = self.clock() - 1

    def revoke_tokens(self) -> None:
        for token in self.tokens.values():
            token.revoked = True

    def texts(self) -> list[str]:
        out = []
        for s in self.sent:
            kind = s.body.get("msgtype")
            if kind in ("text", "markdown"):
                out.append(s.body[kind]["content"])
        return out

    # -------------------------------------------------------------- API

    async def gettoken(self, request: web.Request) -> web.Response:
        self.gettoken_calls += 1
        q = request.query
        if q.get("corpid") != self.corp_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        if q.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        value = f"tok-{next(self._ids)}-" + hashlib.sha1(str(self.clock()).encode()).hexdigest()[:16]
        self.tokens[value] = _Token(value, self.clock() + self.token_ttl)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": value,
                                  "expires_in": self.token_ttl})

    def _check_token(self, request: web.Request) -> web.Response | None:
        token = self.tokens.get(request.query.get("access_token", ""))
        if token is None or token.revoked:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        if self.clock() >= token.expires_at:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    async def message_send(self, request: web.Request) -> web.Response:
        bad = self._check_token(request)
        if bad is not None:
            return bad
        injected = self.injected()
        if injected is not None:
            return injected
        raw = await request.read()
        body = json.loads(raw)
        if request.path.endswith("message/send") and body.get("agentid") != self.agent_id:
            return web.json_response({"errcode": 40056, "errmsg": "invalid agentid"})
        if request.path.endswith("message/send") and not any(body.get(k) for k in ("touser", "toparty", "totag")):
            return web.json_response({"errcode": 40035, "errmsg": "invalid parameter: no receiver"})
        kind = body.get("msgtype")
        if kind == "text" and len(body["text"]["content"].encode("utf-8")) > 2048:
            return web.json_response({"errcode": 45002, "errmsg": "content size out of limit"})
        if kind == "image" and body["image"].get("media_id") not in self.media:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        self.sent.append(Sent(request.path, body, len(raw), token=request.query["access_token"]))
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"m{len(self.sent)}"})

    async def media_upload(self, request: web.Request) -> web.Response:
        bad = self._check_token(request)
        if bad is not None:
            return bad
        if request.query.get("type") != "image":
            return web.json_response({"errcode": 40004, "errmsg": "invalid media type"})
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return web.json_response({"errcode": 41005, "errmsg": "media data missing"})
        data = media.file.read()
        if not (data.startswith(PNG) or data.startswith(JPEG)) or len(data) > 2 * 1024 * 1024:
            return web.json_response({"errcode": 40005, "errmsg": "invalid file type"})
        media_id = f"media-{next(self._ids)}"
        self.media[media_id] = data
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "image", "media_id": media_id,
                                  "created_at": str(int(self.clock()))})

    async def webhook_upload(self, request: web.Request) -> web.Response:
        """``upload_media?key=&type=file``: field ``media`` with a filename, 5 B–20 MB; the media_id is the robot's."""
        key = request.query.get("key", "")
        if key not in self.robot_keys:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        if request.query.get("type") not in ("file", "voice"):
            return web.json_response({"errcode": 40004, "errmsg": "invalid media type"})
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField) or not media.filename:
            return web.json_response({"errcode": 41005, "errmsg": "media data missing"})
        data = media.file.read()
        if not 5 <= len(data) <= 20 * 1024 * 1024:
            return web.json_response({"errcode": 40006, "errmsg": "invalid file size"})
        media_id = f"robot-media-{next(self._ids)}"
        self.robot_files[media_id] = (key, media.filename, data)
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id,
                                  "created_at": str(int(self.clock()))})

    def _robot_rate_ok(self, key: str) -> bool:
        now = self.clock()
        recent = [t for t in self._robot_sends.get(key, []) if t > now - 60]
        self._robot_sends[key] = recent
        if len(recent) >= self.robot_rate_per_minute:
            return False
        recent.append(now)
        return True

    async def webhook_send(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        if key not in self.robot_keys:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        injected = self.injected()
        if injected is not None:
            return injected
        if not self._robot_rate_ok(key):
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return web.json_response({"errcode": 40058, "errmsg": "invalid json"})
        error = _robot_body_error(body)
        if body.get("msgtype") == "file":
            owner = self.robot_files.get(str((body.get("file") or {}).get("media_id")), ("",))[0]
            if owner != key:  # unknown, or uploaded by another robot: valid only for the robot that uploaded it
                return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        if error:
            return web.json_response({"errcode": 40058, "errmsg": error})
        self.sent.append(Sent(request.path, body, len(raw), key=key))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def _robot_body_error(body: dict[str, Any]) -> str:
    kind = body.get("msgtype")
    if kind == "text":
        return "text.content exceed max length 2048" if len(body["text"]["content"].encode()) > 2048 else ""
    if kind == "markdown":
        size = len(body["markdown"]["content"].encode())
        return f"markdown.content exceed max length 4096 ({size})" if size > 4096 else ""
    if kind == "image":
        try:
            data = base64.b64decode(body["image"]["base64"], validate=True)
        except (binascii.Error, KeyError, ValueError):
            return "image.base64 invalid"
        if hashlib.md5(data).hexdigest() != body["image"].get("md5"):
            return "image.md5 mismatch"
        if len(data) > 2 * 1024 * 1024 or not (data.startswith(PNG) or data.startswith(JPEG)):
            return "image size or type invalid"
        return ""
    if kind == "file":
        return "" if isinstance(body.get("file"), dict) and body["file"].get("media_id") else "file.media_id missing"
    return f"unsupported msgtype {kind!r}"
