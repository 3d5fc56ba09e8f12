"""Feishu custom bot and app sends against the fake Feishu: signing vector, limits, images, errors."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from PIL import Image
from pydantic import SecretStr

from bot.adapters.base import Destination, SendError
from bot.adapters.feishu import FeishuSender, sign
from bot.config import FeishuRobot, FeishuSettings
from handlers.base import Chart, Reply
from tests.fakes.feishu_server import FakeFeishu

ROBOT = Destination("feishu", "robot", "ops")
CHAT = Destination("feishu", "chat", "oc_chat_1")


def test_official_sign_vector():
    # PROTOCOLS appendix, checked with openssl: key = "ts\nsecret", message = empty
    assert sign("demo", 1599360473) == "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
    assert sign("demo", "1599360473") != "DkEDUyVoOOJ539qBvUgMyzkzIdRWlf4e/V3Rq+ONJnQ="  # DingTalk-style


@pytest.fixture
def clock():
    return {"now": 1_732_600_000.0}


@pytest.fixture
async def fake(clock):
    server = FakeFeishu(clock=lambda: clock["now"])
    async with server:
        yield server


def make_settings(fake, *, secret="SEC-demo-1", keywords=(), app=False, app_secret=None) -> FeishuSettings:
    return FeishuSettings(
        api_base=fake.base_url,
        app_id=fake.app_id if app else "", app_secret=SecretStr((app_secret or fake.app_secret) if app else ""),
        robots=[FeishuRobot(name="ops", webhook=SecretStr(fake.hook_url()), secret=SecretStr(secret),
                            keywords=list(keywords))])


def make_sender(fake, clock, **kw) -> FeishuSender:
    links = kw.pop("chart_links", None)
    return FeishuSender(make_settings(fake, **kw), chart_links=links, clock=lambda: clock["now"])


def png(path):
    Image.fromarray(np.full((20, 30, 3), 128, dtype=np.uint8)).save(path, format="PNG")
    return path


async def test_signed_text_is_accepted(fake, clock):
    s = make_sender(fake, clock)
    await s.send(ROBOT, Reply("投诉 12 件"))
    await s.close()
    [hooked] = fake.hooked
    assert hooked.body["msg_type"] == "text" and hooked.body["content"]["text"] == "投诉 12 件"
    assert hooked.body["timestamp"] == str(int(clock["now"]))  # seconds, as a string, in the body


async def test_wrong_secret_is_permanent_and_not_leaked(fake, clock, caplog):
    caplog.set_level(logging.DEBUG)
    s = make_sender(fake, clock, secret="SEC-wrong-secret-77")
    with pytest.raises(SendError) as err:
        await s.send(ROBOT, Reply("x"))
    await s.close()
    assert err.value.code == 19021 and not err.value.retryable
    text = str(err.value) + caplog.text
    assert "SEC-wrong-secret-77" not in text and "hook-token-0001" not in text


async def test_title_becomes_a_post(fake, clock):
    s = make_sender(fake, clock)
    await s.send(ROBOT, Reply("**满意度 93.1%**\n参评 120", title="本周满意度"))
    await s.close()
    body = fake.hooked[0].body
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "本周满意度"
    assert post["content"] == [[{"tag": "text", "text": "满意度 93.1%"}], [{"tag": "text", "text": "参评 120"}]]


async def test_long_text_split_under_20kb_bodies(fake, clock):
    lines = [f"第{i}条：\"客服\"回复慢，用户说\\n等了很久" for i in range(900)]
    s = make_sender(fake, clock)
    await s.send(ROBOT, Reply("\n".join(lines)))
    await s.close()
    assert len(fake.hooked) > 1
    assert all(h.raw_bytes <= 20_000 for h in fake.hooked)
    assert "\n".join(fake.texts()).splitlines() == lines


async def test_keyword_mode_adds_the_keyword(fake, clock):
    fake.bots["hook-token-0001"] = ("SEC-demo-1", ["客服日报"])
    s = make_sender(fake, clock, keywords=["客服日报"])
    await s.send(ROBOT, Reply("昨天投诉 3 件"))
    await s.close()
    assert fake.texts() == ["客服日报 昨天投诉 3 件"]


async def test_chart_without_app_becomes_a_signed_link(fake, clock, tmp_path):
    path = png(tmp_path / "c.png")
    s = make_sender(fake, clock, chart_links=lambda p: f"https://bot.example.com/charts/{p.stem}.png?exp=1&sig=x")
    await s.send(ROBOT, Reply("见图", charts=[Chart(path, "趋势")]))
    await s.close()
    post = fake.hooked[0].body["content"]["post"]["zh_cn"]
    assert [{"tag": "a", "text": "查看图表", "href": "https://bot.example.com/charts/c.png?exp=1&sig=x"}] == \
        [n for line in post["content"] for n in line if n["tag"] == "a"]


async def test_chart_without_app_or_link_degrades_to_text(fake, clock, tmp_path):
    s = make_sender(fake, clock)
    await s.send(ROBOT, Reply("见图", charts=[Chart(png(tmp_path / "c.png"), "趋势")]))
    await s.close()
    assert "[图表] 趋势（未配置飞书应用凭证或公网地址，无法附图）" in fake.texts()[0]


async def test_chart_with_app_is_uploaded_as_image_key(fake, clock, tmp_path):
    path = png(tmp_path / "c.png")
    s = make_sender(fake, clock, app=True)
    await s.send(ROBOT, Reply("见图", charts=[Chart(path, "趋势")]))
    await s.close()
    [img] = [n for line in fake.hooked[0].body["content"]["post"]["zh_cn"]["content"] for n in line
             if n["tag"] == "img"]
    assert fake.images[img["image_key"]] == path.read_bytes()


async def test_reply_in_chat_uses_app_api_and_refreshes_token(fake, clock):
    s = make_sender(fake, clock, app=True)
    await s.send(CHAT, Reply("一"))
    fake.revoke_tokens()  # next call gets HTTP 400 + 99991663
    await s.send(CHAT, Reply("二", title="标题"))
    await s.close()
    assert fake.token_calls == 2
    first, second = fake.app_messages
    assert first["receive_id"] == "oc_chat_1" and first["receive_id_type"] == "chat_id"
    assert first["msg_type"] == "text" and first["content_obj"] == {"text": "一"}
    assert second["msg_type"] == "post" and second["content_obj"]["post"]["zh_cn"]["title"] == "标题"


async def test_chat_reply_without_app_is_a_clear_permanent_error(fake, clock):
    s = make_sender(fake, clock)
    with pytest.raises(SendError, match="app credentials") as err:
        await s.send(CHAT, Reply("x"))
    assert not err.value.retryable


async def test_wrong_app_secret_is_permanent(fake, clock):
    s = make_sender(fake, clock, app=True, app_secret="nope-nope-nope")
    with pytest.raises(SendError) as err:
        await s.send(CHAT, Reply("x"))
    await s.close()
    assert not err.value.retryable and "nope-nope-nope" not in str(err.value)


@pytest.mark.parametrize(("failure", "retryable", "code"), [
    ({"body": {"code": 11232, "msg": "frequency limited"}}, True, 11232),  # Feishu rate limit
    ({"status": 429, "body": {"code": 99991400, "msg": "limited"}, "headers": {"x-ogw-ratelimit-reset": "3"}},
     True, 99991400),  # gateway 429
    ({"status": 500}, True, 500),  # server error
    ({"status": 502}, True, 502),  # bad gateway
    ({"body": {"code": 19024, "msg": "Key Words Not Found"}}, False, 19024),  # keyword config
    ({"status": 400, "body": {"code": 9499, "msg": "Bad Request"}}, False, 9499),  # payload
])
async def test_errors_are_classified(fake, clock, failure, retryable, code):
    fake.fail_next(**failure)
    s = make_sender(fake, clock)
    with pytest.raises(SendError) as err:
        await s.send(ROBOT, Reply("x"))
    await s.close()
    assert (err.value.retryable, err.value.code) == (retryable, code)
    if "headers" in failure:
        assert err.value.retry_after == 3.0


async def test_fake_enforces_5_per_second(fake, clock):
    s = make_sender(fake, clock)
    for i in range(5):
        await s.send(ROBOT, Reply(f"m{i}"))
    with pytest.raises(SendError) as err:
        await s.send(ROBOT, Reply("m5"))
    assert err.value.code == 11232 and err.value.retryable
    clock["now"] += 1.5
    await s.send(ROBOT, Reply("m6"))
    await s.close()
    assert json.dumps(fake.texts(), ensure_ascii=False).count("m") == 6
