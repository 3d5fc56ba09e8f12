"""The contract every adapter passes (Alertmanager ``notify/test`` idea), parametrized over all of them.

Senders: a send failure carries no secret (neither in the exception nor in the logs), vendor 5xx
and rate limits are retryable, 4xx are not, and long text arrives split within the platform's
byte limit. Inbound routes (through the real server app): a bad signature gets 401/403 and
nothing is dispatched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.base import Destination, Sender, SendError
from bot.config import (
    DingTalkRobot,
    DingTalkSettings,
    FeishuRobot,
    FeishuSettings,
    Settings,
    WeComRobot,
    WeComSettings,
)
from handlers.base import Reply

LONG_LINES = [f"第{i:04d}行：渠道=淘宝 客服小王 满意度 93.1% 参评 120 / 会话 300，首响 12.5 秒" for i in range(300)]


@dataclass
class Case:
    sender: Sender
    destination: Destination
    fake: Any  # the FakeServer, or None for the console
    secrets: list[str]
    limit: int  # bytes per message, as the platform measures them
    sizes: Callable[[], list[int]]  # measured size of each message that arrived
    texts: Callable[[], list[str]]
    vendor_error: dict[str, Any] = field(default_factory=dict)  # a 4xx-class vendor error body
    rate_limit_error: dict[str, Any] = field(default_factory=dict)

    def all_secrets(self) -> list[str]:
        extra = []
        if self.fake is not None:
            extra += list(getattr(self.fake, "tokens", []) or [])
        return [s for s in self.secrets + extra if s]


def _utf8(s: str) -> int:
    return len(s.encode("utf-8"))


async def wecom_case(kind: str) -> Case:
    from bot.adapters.wecom_api import WeComSender
    from tests.fakes.wecom_server import FakeWeCom

    fake = await FakeWeCom().start()
    key = next(iter(fake.robot_keys))
    settings = WeComSettings(corp_id=fake.corp_id, secret=SecretStr(fake.secret), agent_id=fake.agent_id,
                             api_base=fake.base_url, robots=[WeComRobot(name="ops", webhook=SecretStr(fake.webhook_url()))])
    field_ = "markdown" if kind == "robot" else "text"
    return Case(
        WeComSender(settings), Destination("wecom", kind, "ops" if kind == "robot" else "LiSi"), fake,
        [key, fake.secret], 4096 if kind == "robot" else 2048,
        lambda: [_utf8(s.body[field_]["content"]) for s in fake.sent],
        fake.texts,
        vendor_error={"errcode": 40058, "errmsg": f"invalid parameter, url {fake.webhook_url()}"},
        rate_limit_error={"errcode": 45009, "errmsg": "api freq out of limit"},
    )


async def feishu_case(kind: str) -> Case:
    from bot.adapters.feishu import FeishuSender
    from tests.fakes.feishu_server import FakeFeishu

    fake = await FakeFeishu().start()
    token = next(iter(fake.bots))
    app = kind == "chat"
    settings = FeishuSettings(api_base=fake.base_url, app_id=fake.app_id if app else "",
                              app_secret=SecretStr(fake.app_secret if app else ""),
                              robots=[FeishuRobot(name="ops", webhook=SecretStr(fake.hook_url()),
                                                  secret=SecretStr("SEC-demo-1"))])

    def sizes() -> list[int]:
        if app:
            return [len(json.dumps({k: v for k, v in m.items() if k not in ("content_obj", "receive_id_type")},
                                   ensure_ascii=False).encode()) for m in fake.app_messages]
        return [h.raw_bytes for h in fake.hooked]

    def texts() -> list[str]:
        if not app:
            return fake.texts()
        out = []
        for m in fake.app_messages:
            c = m["content_obj"]
            out.append(c["text"] if "text" in c else "\n".join(
                "".join(n.get("text", "") for n in line) for line in c["post"]["zh_cn"]["content"]))
        return out

    return Case(
        FeishuSender(settings), Destination("feishu", "robot" if not app else "chat", "ops" if not app else "oc_1"),
        fake, [token, "SEC-demo-1", fake.app_secret], 30_000 if app else 20_000, sizes, texts,
        vendor_error={"code": 9499, "msg": f"Bad Request {fake.hook_url()}"},
        rate_limit_error={"code": 11232, "msg": "frequency limited"},
    )


async def dingtalk_case() -> Case:
    sender_mod = pytest.importorskip("bot.adapters.dingtalk_sender")
    fake_mod = pytest.importorskip("tests.fakes.dingtalk_server")
    fake = await fake_mod.FakeDingTalk().start()
    token, secret = "dt-robot-token-123456", "SECdingtalkcontractsecret0001"
    url = fake.add_robot(token, secret=secret)
    settings = DingTalkSettings(api_base=fake.base_url, oapi_base=fake.base_url,
                                robots=[DingTalkRobot(name="ops", webhook=SecretStr(url), secret=SecretStr(secret))])
    return Case(
        sender_mod.DingTalkSender(settings), Destination("dingtalk", "robot", "ops"), fake, [token, secret], 20_000,
        lambda: [s.raw_bytes for s in fake.sent], lambda: [s.markdown for s in fake.sent],
        vendor_error={"errcode": 310000, "errmsg": f"sign not match {url}"},
        rate_limit_error={"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
    )


async def console_case() -> Case:
    from bot.adapters.console import MAX_TEXT_BYTES, ConsoleSender

    sender = ConsoleSender(stream=None)
    return Case(sender, Destination("console", "user", "console"), None, [], MAX_TEXT_BYTES,
                lambda: [_utf8(d.text) for d in sender.delivered], lambda: [d.text for d in sender.delivered])


CASES: dict[str, Callable[[], Any]] = {
    "wecom-robot": lambda: wecom_case("robot"),
    "wecom-app": lambda: wecom_case("user"),
    "feishu-robot": lambda: feishu_case("robot"),
    "feishu-app": lambda: feishu_case("chat"),
    "dingtalk-robot": dingtalk_case,
    "console": console_case,
}


@pytest.fixture(params=list(CASES))
async def case(request):
    made: Case = await CASES[request.param]()
    yield made
    await made.sender.close()
    if made.fake is not None:
        await made.fake.close()


def _needs_transport(case: Case) -> None:
    if case.fake is None:
        pytest.skip("the console has no vendor transport to fail")


async def test_long_text_is_split_within_the_byte_limit(case):
    text = "\n".join(LONG_LINES * (5 if case.fake is None else 1))  # the console allows 100 KB
    await case.sender.send(case.destination, Reply(text, title="明细"))
    sizes = case.sizes()
    assert len(sizes) > 1, "a long reply must arrive as several messages"
    assert max(sizes) <= case.limit
    joined = "\n".join(case.texts())
    assert LONG_LINES[0] in joined and LONG_LINES[-1] in joined


async def test_5xx_is_retryable(case):
    _needs_transport(case)
    case.fake.fail_next(status=503)
    with pytest.raises(SendError) as err:
        await case.sender.send(case.destination, Reply("hi"))
    assert err.value.retryable


async def test_vendor_rate_limit_is_retryable(case):
    _needs_transport(case)
    case.fake.fail_next(body=case.rate_limit_error)
    with pytest.raises(SendError) as err:
        await case.sender.send(case.destination, Reply("hi"))
    assert err.value.retryable


@pytest.mark.parametrize("status", [400, 404])
async def test_4xx_is_not_retryable(case, status):
    _needs_transport(case)
    case.fake.fail_next(status=status)
    with pytest.raises(SendError) as err:
        await case.sender.send(case.destination, Reply("hi"))
    assert not err.value.retryable


async def test_failure_carries_no_secret(case, caplog):
    _needs_transport(case)
    caplog.set_level(logging.DEBUG)
    await case.sender.send(case.destination, Reply("warm up"))  # tokens get issued and cached
    case.fake.fail_next(body=case.vendor_error)  # the vendor echoes the webhook URL back
    with pytest.raises(SendError) as err:
        await case.sender.send(case.destination, Reply("hi"))
    assert not err.value.retryable
    exposed = f"{err.value} {err.value.args} {caplog.text}"
    leaked = [s for s in case.all_secrets() if s in exposed]
    assert not leaked


# ---------------------------------------------------------------- inbound: through the real server app

WX_TOKEN, WX_KEY, WX_CORP = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
DT_SECRET = "dingtalk-app-secret-contract"
FS_KEY = "feishu-encrypt-key"


class RefusingBot:
    """Any dispatched message is a contract failure."""

    engine = None

    def __init__(self):
        self.calls = 0

    async def handle(self, msg):
        self.calls += 1
        return None


def _bad_wecom() -> tuple[str, dict[str, str], dict[str, str], bytes]:
    from tests import wecom_client as wx

    query, body = wx.post(wx.inner_text("/满意度 本周"), ts=int(time.time()))
    return "/wecom/callback", dict(query, msg_signature="0" * 40), {}, body.encode()


def _bad_dingtalk() -> tuple[str, dict[str, str], dict[str, str], bytes]:
    ts = str(int(time.time() * 1000))
    wrong = base64.b64encode(hmac.new(b"not-the-secret", f"{ts}\nnot-the-secret".encode(),
                                      hashlib.sha256).digest()).decode()
    body = json.dumps({"msgtype": "text", "text": {"content": " /满意度 本周"}, "msgId": "m1",
                       "conversationType": "1", "conversationId": "cid1", "senderStaffId": "u1"}).encode()
    return "/dingtalk/callback", {}, {"timestamp": ts, "sign": wrong, "Content-Type": "application/json"}, body


def _bad_feishu() -> tuple[str, dict[str, str], dict[str, str], bytes]:
    body = json.dumps({"encrypt": base64.b64encode(b"0" * 48).decode()}).encode()
    headers = {"X-Lark-Request-Timestamp": str(int(time.time())), "X-Lark-Request-Nonce": "n",
               "X-Lark-Signature": "0" * 64}
    return "/feishu/callback", {}, headers, body


@pytest.mark.parametrize("make", [_bad_wecom, _bad_dingtalk, _bad_feishu], ids=["wecom", "dingtalk", "feishu"])
async def test_bad_signature_is_refused_and_nothing_happens(aiohttp_client, make):
    server = pytest.importorskip("bot.web")
    settings = Settings(
        wecom=WeComSettings(corp_id=WX_CORP, token=SecretStr(WX_TOKEN), encoding_aes_key=SecretStr(WX_KEY)),
        dingtalk=DingTalkSettings(app_key="k", app_secret=SecretStr(DT_SECRET)),
        feishu=FeishuSettings(encrypt_key=SecretStr(FS_KEY)),
    )
    bot = RefusingBot()
    client = await aiohttp_client(server.create_app(bot, settings, senders={}))
    path, query, headers, body = make()
    resp = await client.post(path, params=query, headers=headers, data=body)
    assert resp.status in (401, 403)
    assert bot.calls == 0
