"""DingTalkSender against the fake DingTalk: signatures, keywords, limits, errors, images, tokens."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from bot.adapters.base import Destination, SendError
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.config import DingTalkRobot, DingTalkSettings
from handlers.base import Chart, Reply
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.test_dingtalk_protocol import VECTOR_ENCODED, VECTOR_SECRET, VECTOR_TS

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ROBOT_TOKEN = "robot-access-token-0001"


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        yield server


def settings_for(fake: FakeDingTalk, *robots: DingTalkRobot, app: bool = True) -> DingTalkSettings:
    creds = {"app_key": fake.app_key, "app_secret": SecretStr(fake.app_secret)} if app else {}
    return DingTalkSettings(robot_code=fake.robot_code, api_base=fake.base_url, oapi_base=fake.base_url,
                            robots=list(robots), **creds)


def robot(fake: FakeDingTalk, name: str = "ops", *, secret: str = "", keywords: tuple[str, ...] = ()) -> DingTalkRobot:
    url = fake.add_robot(ROBOT_TOKEN + name, secret=secret, keywords=keywords)
    return DingTalkRobot(name=name, webhook=SecretStr(url), secret=SecretStr(secret), keywords=list(keywords))


async def test_sign_mode_uses_the_protocol_vector_on_the_wire():
    async with FakeDingTalk(clock=lambda: VECTOR_TS / 1000) as fake:
        sender = DingTalkSender(settings_for(fake, robot(fake, secret=VECTOR_SECRET), app=False),
                                now_ms=lambda: VECTOR_TS)
        await sender.send(Destination("dingtalk", "robot", "ops"), Reply("日报已生成", title="日报"))
        await sender.close()
    (sent,) = fake.sent
    assert sent.raw_query == f"access_token={ROBOT_TOKEN}ops&timestamp={VECTOR_TS}&sign={VECTOR_ENCODED}"


async def test_wrong_secret_is_permanent_and_the_error_carries_no_secret(fake):
    settings = settings_for(fake, robot(fake, secret="SECright"), app=False)
    settings.robots[0].secret = SecretStr("SECwrong-secret-value")
    sender = DingTalkSender(settings)
    with pytest.raises(SendError) as err:
        await sender.send(Destination("dingtalk", "robot", "ops"), Reply("x"))
    await sender.close()
    assert err.value.code == 310000 and not err.value.retryable
    assert "SECwrong" not in str(err.value) and ROBOT_TOKEN not in str(err.value)


async def test_keyword_mode_gets_its_keyword(fake):
    sender = DingTalkSender(settings_for(fake, robot(fake, keywords=("客服",)), app=False))
    await sender.send(Destination("dingtalk", "robot", "ops"), Reply("满意度 92%", title="日报"))
    await sender.close()
    (sent,) = fake.sent
    assert sent.body["markdown"]["title"] == "客服 日报"


async def test_rate_limit_130101_is_retryable_with_the_ten_minute_penalty(fake):
    sender = DingTalkSender(settings_for(fake, robot(fake), app=False))
    for i in range(20):
        await sender.send(Destination("dingtalk", "robot", "ops"), Reply(f"消息 {i}"))
    with pytest.raises(SendError) as err:
        await sender.send(Destination("dingtalk", "robot", "ops"), Reply("第 21 条"))
    await sender.close()
    assert err.value.code == 130101 and err.value.retryable and err.value.retry_after == 600.0
    assert len(fake.sent) == 20


@pytest.mark.parametrize(("status", "body", "retryable", "refresh"), [
    (500, None, True, False),  # 5xx: retry
    (200, {"errcode": 500100, "errmsg": "系统异常"}, True, False),  # transient server error
    (200, {"errcode": -1, "errmsg": "系统繁忙"}, True, False),  # busy
    (200, {"errcode": 310000, "errmsg": "ip 不在白名单中"}, False, False),  # config error: permanent
    (200, {"errcode": 460101, "errmsg": "body 大小不合法"}, False, False),  # too large: permanent
])
async def test_robot_errors_are_classified(fake, status, body, retryable, refresh):
    sender = DingTalkSender(settings_for(fake, robot(fake), app=False))
    fake.fail_next(status=status, body=body)
    with pytest.raises(SendError) as err:
        await sender.send(Destination("dingtalk", "robot", "ops"), Reply("x"))
    await sender.close()
    assert (err.value.retryable, err.value.refresh_token) == (retryable, refresh)
    assert ROBOT_TOKEN not in str(err.value)


async def test_long_reply_is_split_within_the_byte_limit(fake):
    sender = DingTalkSender(settings_for(fake, robot(fake), app=False))
    text = "\n".join(f"{i:03d} 客服小王 满意度 95.0% 首响 12.3 秒 解决率 88.8%" for i in range(700))
    await sender.send(Destination("dingtalk", "robot", "ops"), Reply(text, title="客服明细"))
    await sender.close()
    assert len(fake.sent) > 1 and all(s.raw_bytes <= 20_000 for s in fake.sent)
    # Lines end with a markdown hard break ("  \n"); a part may end on one.
    got = "".join(s.body["markdown"]["text"].rstrip(" ") for s in fake.sent).replace("  \n", "").replace("\n", "")
    assert got == text.replace("\n", "")
    assert not fake.refused


async def test_expired_session_is_refused_before_any_request(fake):
    url, expires = fake.new_session(ttl_ms=1000)
    sender = DingTalkSender(settings_for(fake), now_ms=lambda: expires)
    with pytest.raises(SendError) as err:
        await sender.send(Destination("dingtalk", "session", "m1", {"webhook": url, "expires_ms": expires}),
                          Reply("x"))
    await sender.close()
    assert err.value.code == "session_expired" and not err.value.retryable
    assert fake.requests == 0 and fake.sent == []


async def test_openapi_token_is_cached_and_refreshed_once_when_rejected():
    async with FakeDingTalk(bad_token_status=400) as fake:  # InvalidAuthentication seen with HTTP 400 too
        sender = DingTalkSender(settings_for(fake))
        chat = Destination("dingtalk", "chat", "cidGroup==")
        await sender.send(chat, Reply("一"))
        await sender.send(chat, Reply("二"))
        assert fake.token_requests == 1
        fake.revoke_tokens()
        await sender.send(chat, Reply("三"))
        await sender.close()
    assert fake.token_requests == 2
    assert [json.loads(s.body["msgParam"])["text"] for s in fake.sent] == ["一", "二", "三"]
    assert fake.refused == [("openapi", "InvalidAuthentication")]


async def test_openapi_errors(fake):
    sender = DingTalkSender(settings_for(fake))
    fake.known_staff = {"manager4756"}
    with pytest.raises(SendError) as unknown:
        await sender.send(Destination("dingtalk", "user", "nobody"), Reply("x"))
    assert not unknown.value.retryable
    fake.fail_next(status=403, body={"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "message": "qps"})
    with pytest.raises(SendError) as qps:
        await sender.send(Destination("dingtalk", "user", "manager4756"), Reply("x"))
    assert qps.value.retryable
    fake.fail_next(status=503)
    with pytest.raises(SendError) as down:
        await sender.send(Destination("dingtalk", "chat", "cidGroup=="), Reply("x"))
    assert down.value.retryable
    wrong = DingTalkSender(settings_for(fake).model_copy(update={"robot_code": "not-my-robot"}))
    with pytest.raises(SendError) as bad:
        await wrong.send(Destination("dingtalk", "chat", "cidGroup=="), Reply("x"))
    assert not bad.value.retryable
    await sender.close()
    await wrong.close()


async def test_bad_app_secret_is_a_clear_permanent_error(fake):
    settings = settings_for(fake).model_copy(update={"app_secret": SecretStr("wrong-app-secret")})
    sender = DingTalkSender(settings)
    with pytest.raises(SendError) as err:
        await sender.send(Destination("dingtalk", "chat", "cidGroup=="), Reply("x"))
    await sender.close()
    assert not err.value.retryable and not err.value.refresh_token
    assert "wrong-app-secret" not in str(err.value)


async def test_charts_without_public_url_are_uploaded(fake, tmp_path):
    chart = tmp_path / "trend.png"
    chart.write_bytes(PNG)
    reply = Reply("满意度 92%", title="满意度", charts=[Chart(chart, "趋势")])
    sender = DingTalkSender(settings_for(fake))
    await sender.send(Destination("dingtalk", "chat", "cidGroup=="), reply)
    url, expires = fake.new_session()
    await sender.send(Destination("dingtalk", "session", "m1", {"webhook": url, "expires_ms": expires}), reply)
    await sender.close()
    assert fake.uploads == [PNG, PNG]
    group_md, group_img, session_md = fake.sent
    assert json.loads(group_md.body["msgParam"])["text"] == "满意度 92%"  # no broken image in the text
    assert json.loads(group_img.body["msgParam"]) == {"photoURL": "@lALPfake1"}
    assert session_md.body["markdown"]["text"] == "满意度 92%\n\n![趋势](@lALPfake2)"


async def test_charts_with_public_url_are_links_and_robots_never_upload(fake, tmp_path):
    chart = tmp_path / "trend.png"
    chart.write_bytes(PNG)
    reply = Reply("满意度 92%", charts=[Chart(chart, "趋势")])
    linked = DingTalkSender(settings_for(fake, robot(fake)), chart_links=lambda p: f"https://bot.example/{p.name}")
    await linked.send(Destination("dingtalk", "robot", "ops"), reply)
    plain = DingTalkSender(settings_for(fake, robot(fake, "ops2")))
    await plain.send(Destination("dingtalk", "robot", "ops2"), reply)
    await linked.close()
    await plain.close()
    assert fake.uploads == []
    assert fake.sent[0].body["markdown"]["text"].endswith("![趋势](https://bot.example/trend.png)")
    assert fake.sent[1].body["markdown"]["text"].endswith("[图表] 趋势（图片暂不可用）")


async def test_unknown_robot_and_unknown_kind(fake):
    sender = DingTalkSender(settings_for(fake))
    with pytest.raises(SendError, match="no robot named"):
        await sender.send(Destination("dingtalk", "robot", "missing"), Reply("x"))
    with pytest.raises(SendError, match="unknown destination kind"):
        await sender.send(Destination("dingtalk", "fax", "x"), Reply("x"))
    await sender.close()
