"""A fake Feishu open platform on a loopback port, strict like the real one.

* ``POST /open-apis/bot/v2/hook/{token}``: unknown token → 19001; when the bot has a secret the
  body must carry ``timestamp`` (seconds, within 1 h) and ``sign`` = base64(HMAC-SHA256(key =
  "ts\\nsecret", msg = "")) → else 19021; keyword mode → 19024; body > 20 KB or a malformed
  message → 9499; more than 5/s or 100/min per bot → 11232.
* ``POST /open-apis/auth/v3/tenant_access_token/internal`` → tenant token (10003 on a bad secret).
* ``POST /open-apis/im/v1/images`` and ``/open-apis/im/v1/messages``: Bearer token required
  (HTTP 400 + 99991663 when stale).
Failures can be injected with :meth:`fail_next`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.fake_http import FakeServer

OK = {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}


def expected_sign(secret: str, ts: str) -> str:
    return base64.b64encode(hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


@dataclass
class Hooked:
    token: str
    body: dict[str, Any]
    raw_bytes: int


@dataclass
class FakeFeishu(FakeServer):
    # hook token -> (secret or "", keywords)
    bots: dict[str, tuple[str, list[str]]] = field(default_factory=lambda: {"hook-token-0001": ("SEC-demo-1", [])})
    app_id: str = "cli_fake_app"
    app_secret: str = "fake-app-secret-xyz"
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        FakeServer.__init__(self, self.clock)
        self.hooked: list[Hooked] = []
        self.app_messages: list[dict[str, Any]] = []
        self.images: dict[str, bytes] = {}
        self.tokens: set[str] = set()
        self.token_calls = 0
        self._sends: dict[str, list[float]] = {}
        self._ids = itertools.count(1)
        self.app.add_routes([
            web.post("/open-apis/bot/v2/hook/{token}", self.hook),
            web.post("/open-apis/auth/v3/tenant_access_token/internal", self.tenant_token),
            web.post("/open-apis/im/v1/images", self.upload_image),
            web.post("/open-apis/im/v1/messages", self.send_message),
        ])

    def hook_url(self, token: str | None = None) -> str:
        return f"{self.base_url}/open-apis/bot/v2/hook/{token or next(iter(self.bots))}"

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def texts(self) -> list[str]:
        out = []
        for h in self.hooked:
            if h.body["msg_type"] == "text":
                out.append(h.body["content"]["text"])
            else:
                post = h.body["content"]["post"]["zh_cn"]
                lines = ["".join(n.get("text", "") for n in line) for line in post["content"]]
                out.append("\n".join(([post["title"]] if post["title"] else []) + lines))
        return out

    def _rate_ok(self, token: str) -> bool:
        now = self.clock()
        recent = [t for t in self._sends.get(token, []) if t > now - 60]
        self._sends[token] = recent
        if sum(1 for t in recent if t > now - 1) >= 5 or len(recent) >= 100:
            return False
        recent.append(now)
        return True

    async def hook(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in self.bots:
            return web.json_response({"code": 19001, "msg": "param invalid: incoming webhook access token invalid"})
        injected = self.injected()
        if injected is not None:
            return injected
        raw = await request.read()
        if len(raw) > 20 * 1024:
            return web.json_response({"code": 9499, "msg": "Bad Request"}, status=400)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return web.json_response({"code": 9499, "msg": "Bad Request"}, status=400)
        secret, keywords = self.bots[token]
        if secret:
            ts = str(body.get("timestamp", ""))
            fresh = ts.isdigit() and abs(self.clock() - int(ts)) <= 3600
            if not fresh or not hmac.compare_digest(str(body.get("sign", "")), expected_sign(secret, ts)):
                return web.json_response({"code": 19021, "msg": "sign match fail or timestamp is not within one "
                                                                "hour from current time"})
        if not _valid_message(body):
            return web.json_response({"code": 9499, "msg": "Bad Request"}, status=400)
        if keywords and not any(k in json.dumps(body["content"], ensure_ascii=False) for k in keywords):
            return web.json_response({"code": 19024, "msg": "Key Words Not Found"})
        if not self._rate_ok(token):
            return web.json_response({"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"})
        self.hooked.append(Hooked(token, body, len(raw)))
        return web.json_response(OK)

    async def tenant_token(self, request: web.Request) -> web.Response:
        self.token_calls += 1
        body = await request.json()
        if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
            return web.json_response({"code": 10003, "msg": "invalid param"})
        value = f"t-{next(self._ids)}-fake"
        self.tokens.add(value)
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": value, "expire": 7200})

    def _auth(self, request: web.Request) -> web.Response | None:
        value = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if value not in self.tokens:
            return web.json_response({"code": 99991663, "msg": "Invalid access token for authorization."},
                                     status=400)
        return None

    async def upload_image(self, request: web.Request) -> web.Response:
        bad = self._auth(request)
        if bad is not None:
            return bad
        form = await request.post()
        image = form.get("image")
        if form.get("image_type") != "message" or not isinstance(image, web.FileField):
            return web.json_response({"code": 234001, "msg": "Invalid request param."}, status=400)
        key = f"img_v3_{next(self._ids)}"
        self.images[key] = image.file.read()
        return web.json_response({"code": 0, "msg": "success", "data": {"image_key": key}})

    async def send_message(self, request: web.Request) -> web.Response:
        bad = self._auth(request)
        if bad is not None:
            return bad
        injected = self.injected()
        if injected is not None:
            return injected
        body = await request.json()
        body["content_obj"] = json.loads(body["content"])
        body["receive_id_type"] = request.query.get("receive_id_type")
        self.app_messages.append(body)
        return web.json_response({"code": 0, "msg": "success", "data": {"message_id": f"om_{next(self._ids)}"}})


def _valid_message(body: dict[str, Any]) -> bool:
    kind, content = body.get("msg_type"), body.get("content")
    if kind == "text":
        return isinstance(content, dict) and isinstance(content.get("text"), str) and bool(content["text"])
    if kind == "post":
        post = (content or {}).get("post") or {}
        lang = post.get("zh_cn") or post.get("en_us")
        return isinstance(lang, dict) and isinstance(lang.get("content"), list)
    return kind in ("image", "share_chat", "interactive")
