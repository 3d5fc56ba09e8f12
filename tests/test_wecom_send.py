"""WeCom senders against the fake WeCom API: tokens, byte limits, images, error classification."""

from __future__ import annotations

import base64
import hashlib
import io
import logging

import numpy as np
import pytest
from PIL import Image
from pydantic import SecretStr

from bot.adapters.base import Destination, SendError
from bot.adapters.wecom_api import WeComSender
from bot.config import WeComRobot, WeComSettings
from handlers.base import Attachment, Chart, Reply
from tests.fakes.wecom_server import FakeWeCom


@pytest.fixture
async def fake():
    server = FakeWeCom()
    async with server:
        yield server


def make_settings(fake: FakeWeCom, *, secret: str | None = None) -> WeComSettings:
    return WeComSettings(corp_id=fake.corp_id, secret=SecretStr(secret or fake.secret), agent_id=fake.agent_id,
                         api_base=fake.base_url,
                         robots=[WeComRobot(name="ops", webhook=SecretStr(fake.webhook_url()))])


@pytest.fixture
async def sender(fake):
    s = WeComSender(make_settings(fake))
    yield s
    await s.close()


USER = Destination("wecom", "user", "LiSi")
ROBOT = Destination("wecom", "robot", "ops")


def png(path, size=(64, 48), noise=False):
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8) if noise else \
        np.full((size[1], size[0], 3), 200, dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="PNG")
    return path


async def test_app_text_uses_one_cached_token(fake, sender):
    await sender.send(USER, Reply("**满意度 93.1%**\n参评 120", title="本周"))
    await sender.send(USER, Reply("第二条"))
    assert fake.gettoken_calls == 1
    first = fake.sent[0].body
    assert first["touser"] == "LiSi" and first["agentid"] == fake.agent_id and first["msgtype"] == "text"
    assert first["text"]["content"] == "【本周】\n满意度 93.1%\n参评 120"  # app text has no markdown


@pytest.mark.parametrize("invalidate", ["expire_tokens", "revoke_tokens"])  # 42001, 40014
async def test_stale_token_is_refreshed_and_the_send_retried(fake, sender, invalidate):
    await sender.send(USER, Reply("一"))
    getattr(fake, invalidate)()
    await sender.send(USER, Reply("二"))
    assert fake.gettoken_calls == 2
    assert fake.texts() == ["一", "二"]
    assert fake.sent[0].token != fake.sent[1].token


async def test_wrong_secret_is_permanent_and_not_leaked(fake, caplog):
    caplog.set_level(logging.DEBUG)
    s = WeComSender(make_settings(fake, secret="wrong-secret-value-123"))
    with pytest.raises(SendError) as err:
        await s.send(USER, Reply("x"))
    await s.close()
    assert not err.value.retryable and err.value.code == 40001
    assert "wrong-secret-value-123" not in str(err.value) and "wrong-secret-value-123" not in caplog.text


async def test_long_app_text_is_split_within_2048_bytes(fake, sender):
    lines = [f"第{i}行：客服小王本周满意度很高，继续保持" for i in range(300)]
    await sender.send(USER, Reply("\n".join(lines)))
    texts = fake.texts()
    assert len(texts) > 1
    assert all(len(t.encode()) <= 2048 for t in texts)
    assert "\n".join(texts).splitlines() == lines  # cut at line breaks only, nothing lost


async def test_app_chart_is_uploaded_then_sent_as_image(fake, sender, tmp_path):
    chart = Chart(png(tmp_path / "c.png"), "趋势")
    await sender.send(USER, Reply("见图", charts=[chart]))
    kinds = [s.body["msgtype"] for s in fake.sent]
    assert kinds == ["text", "image"]
    assert fake.media[fake.sent[1].body["image"]["media_id"]] == chart.path.read_bytes()


async def test_app_chat_destination_uses_appchat(fake, sender):
    await sender.send(Destination("wecom", "chat", "wrk-chat-1"), Reply("群消息"))
    assert fake.sent[0].path == "/cgi-bin/appchat/send" and fake.sent[0].body["chatid"] == "wrk-chat-1"


async def test_robot_markdown_split_within_4096_bytes(fake, sender):
    text = "\n".join(f"- 商品{i}：差评 {i} 条，主要是物流慢和包装破损" for i in range(400))
    await sender.send(ROBOT, Reply(text, title="差评"))
    texts = fake.texts()
    assert len(texts) > 1 and all(len(t.encode()) <= 4096 for t in texts)
    assert all(s.body["msgtype"] == "markdown" for s in fake.sent)
    assert texts[0].startswith("**差评**\n")


async def test_robot_chart_is_base64_with_md5_of_raw_bytes(fake, sender, tmp_path):
    path = png(tmp_path / "c.png")
    await sender.send(ROBOT, Reply("", charts=[Chart(path, "趋势")]))
    [image] = [s.body["image"] for s in fake.sent if s.body["msgtype"] == "image"]
    raw = path.read_bytes()
    assert base64.b64decode(image["base64"]) == raw
    assert image["md5"] == hashlib.md5(raw).hexdigest()


async def test_robot_chart_over_2mb_is_shrunk(fake, sender, tmp_path):
    path = png(tmp_path / "big.png", size=(1100, 1000), noise=True)
    assert path.stat().st_size > 2 * 1024 * 1024
    await sender.send(ROBOT, Reply("", charts=[Chart(path, "大图")]))
    [image] = [s.body["image"] for s in fake.sent if s.body["msgtype"] == "image"]
    data = base64.b64decode(image["base64"])
    assert len(data) <= 2 * 1024 * 1024 and Image.open(io.BytesIO(data)).format == "PNG"


async def test_missing_chart_degrades_to_text(fake, sender, tmp_path):
    await sender.send(ROBOT, Reply("", charts=[Chart(tmp_path / "gone.png", "趋势")]))
    assert fake.texts() == ["[图表] 趋势（图片无法发送）"]


@pytest.mark.parametrize(("failure", "retryable", "code"), [
    ({"status": 502}, True, 502),  # gateway error
    ({"status": 503}, True, 503),  # unavailable
    ({"status": 429}, True, 429),  # HTTP rate limit
    ({"body": {"errcode": 45009, "errmsg": "api freq out of limit"}}, True, 45009),  # WeCom rate limit
    ({"body": {"errcode": -1, "errmsg": "system busy"}}, True, -1),  # transient
    ({"body": {"errcode": 40058, "errmsg": "invalid"}}, False, 40058),  # payload error
    ({"status": 404}, False, 404),  # not found
])
async def test_robot_errors_are_classified(fake, sender, failure, retryable, code):
    fake.fail_next(**failure)
    with pytest.raises(SendError) as err:
        await sender.send(ROBOT, Reply("x"))
    assert err.value.retryable is retryable and err.value.code == code
    assert "robot-key-aaaa-1111" not in str(err.value)


async def test_robot_unknown_key_is_permanent_and_redacted(fake, caplog):
    caplog.set_level(logging.DEBUG)
    settings = make_settings(fake).model_copy(update={
        "robots": [WeComRobot(name="ops", webhook=SecretStr(fake.webhook_url("deleted-key-999999")))]})
    s = WeComSender(settings)
    with pytest.raises(SendError) as err:
        await s.send(ROBOT, Reply("x"))
    await s.close()
    assert err.value.code == 93000 and not err.value.retryable
    assert "deleted-key-999999" not in str(err.value) + caplog.text


async def test_unknown_robot_name(sender):
    with pytest.raises(SendError, match="no \\[\\[wecom.robots\\]\\] entry"):
        await sender.send(Destination("wecom", "robot", "nope"), Reply("x"))


async def test_network_error_is_retryable_without_url(fake):
    settings = make_settings(fake)
    await fake.close()
    s = WeComSender(settings)
    with pytest.raises(SendError) as err:
        await s.send(ROBOT, Reply("x"))
    await s.close()
    assert err.value.retryable
    assert "robot-key" not in str(err.value)


async def test_robot_file_is_uploaded_with_its_name_then_sent_as_file(fake, sender, tmp_path):
    xlsx = tmp_path / "faq-kb-20261203-1200-abcdef.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    await sender.send(ROBOT, Reply("已导出 1 条", files=[Attachment(xlsx, "知识库导出 XLSX")]))
    kinds = [s.body["msgtype"] for s in fake.sent]
    assert kinds == ["markdown", "file"]
    media_id = fake.sent[1].body["file"]["media_id"]
    key, name, data = fake.robot_files[media_id]
    assert key == fake.sent[1].key and name == xlsx.name and data == xlsx.read_bytes()  # the bytes, the shown name


async def test_robot_file_too_small_degrades_to_a_note(fake, sender, tmp_path):
    tiny = tmp_path / "x.csv"
    tiny.write_bytes(b"a,b")  # under upload_media's 5 bytes
    await sender.send(ROBOT, Reply("导出", files=[Attachment(tiny, "知识库导出 CSV")]))
    assert [s.body["msgtype"] for s in fake.sent] == ["markdown", "text"] and not fake.robot_files
    assert "知识库导出 CSV" in fake.sent[1].body["text"]["content"]


def test_files_are_parts_for_wecom_robots_only_and_survive_the_outbox(tmp_path):
    from datetime import UTC, datetime

    from bot.delivery.outbox import delivery_from, row_from
    from bot.delivery.pipeline import plan_parts

    f = Attachment(tmp_path / "a.xlsx", "知识库导出 XLSX")
    reply = Reply("已导出", files=[f])
    assert [p.files for p in plan_parts(ROBOT, reply)] == [[], [f]]
    for other in (USER, Destination("dingtalk", "chat", "c1"), Destination("feishu", "chat", "oc_1")):
        assert all(not p.files for p in plan_parts(other, reply))  # the text's signed link is the file there
    back = delivery_from(row_from(ROBOT, reply, None, datetime.now(UTC))).reply
    assert back.files == [f] and back.charts == []
