"""Stream mode: the official SDK on its own thread, against the fake gateway and WebSocket."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from bot.adapters import dingtalk_stream
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.app import Bot
from bot.config import DingTalkSettings
from bot.web import create_app
from tests import metric_data as md
from tests.fakes.dingtalk_client import callback_payload
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.test_server_dingtalk import make_settings


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        yield server


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(dingtalk_stream, "BACKOFF_MIN_S", 0.05)


async def test_stream_message_is_acked_at_once_and_answered_over_http(aiohttp_client, sqlite_engine, fake, tmp_path):
    settings = make_settings(fake, tmp_path, dingtalk={"mode": "stream"})
    md.load(sqlite_engine, md.make_rows(days=10))
    bot = Bot(settings, sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
    client = await aiohttp_client(create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)}))
    await asyncio.wait_for(fake.stream.connected.wait(), 10)
    main_thread = threading.get_ident()

    frame_id = await fake.stream.push_callback(callback_payload(fake, "/满意度 本周"))
    ack = await fake.stream.wait_ack(frame_id)
    assert ack["code"] == 200 and ack["headers"]["messageId"] == frame_id
    await fake.wait_for(lambda: len(fake.texts()) == 1)
    assert fake.texts()[0].kind == "session"
    assert fake.texts()[0].body["markdown"]["text"].startswith("**满意度 ")
    assert threading.get_ident() == main_thread

    ping = await fake.stream.push_ping("opaque-123")
    ping_ack = await fake.stream.wait_ack(ping)
    assert ping_ack["code"] == 200 and '"opaque": "opaque-123"' in ping_ack["data"]  # data echoed back

    ready = await (await client.get("/readyz")).json()
    assert ready["checks"]["dingtalk_stream"] == "connected"


async def test_redelivered_frame_is_acked_but_handled_once(sqlite_engine, fake, tmp_path):
    got: list = []
    bridge = dingtalk_stream.StreamBridge(_settings(fake), lambda msg: got.append(msg) or True)
    bridge.start()
    try:
        await asyncio.wait_for(fake.stream.connected.wait(), 10)
        payload = callback_payload(fake, "/投诉 今天")
        frame = {"specVersion": "1.0", "type": "CALLBACK",
                 "headers": {"messageId": "same-frame", "topic": dingtalk_stream.ROBOT_TOPIC,
                             "contentType": "application/json"},
                 "data": json.dumps(payload)}
        for _ in range(2):
            await fake.stream.sockets[-1].send_json(frame)
        await fake.wait_for(lambda: len([a for a in fake.stream.acks
                                         if a["headers"]["messageId"] == "same-frame"]) == 2)
        await asyncio.sleep(0.1)
        assert [m.text for m in got] == ["/投诉 今天"]
        assert got[0].reply_handle["live"].extra["webhook"] == payload["sessionWebhook"]
    finally:
        await bridge.stop()


async def test_reconnects_after_a_disconnect_frame(fake):
    got: list = []
    bridge = dingtalk_stream.StreamBridge(_settings(fake), lambda msg: got.append(msg) or True)
    bridge.start()
    try:
        await asyncio.wait_for(fake.stream.connected.wait(), 10)
        assert fake.stream.opens == 1
        await fake.stream.push("SYSTEM", "disconnect", {"reason": "server restart"})
        await fake.wait_for(lambda: fake.stream.opens >= 2 and bridge.connected and len(fake.stream.sockets) == 2)
        await fake.stream.push_callback(callback_payload(fake, "/满意度 本周", private=True))
        await fake.wait_for(lambda: len(got) == 1)
    finally:
        await bridge.stop()
    assert not bridge.connected


async def test_wrong_credentials_keep_retrying_without_blocking_the_loop(fake):
    settings = _settings(fake).model_copy(update={"app_key": "wrong"})
    bridge = dingtalk_stream.StreamBridge(settings, lambda msg: True)
    bridge.start()
    ticks = 0
    while fake.stream.opens < 3:  # the server loop keeps running while the SDK thread retries
        await asyncio.sleep(0.01)
        ticks += 1
    await bridge.stop()
    assert ticks > 0 and not bridge.connected and fake.stream.sockets == []


def _settings(fake: FakeDingTalk) -> DingTalkSettings:
    return DingTalkSettings(app_key=fake.app_key, app_secret=fake.app_secret, robot_code=fake.robot_code,
                            api_base=fake.base_url, oapi_base=fake.base_url, mode="stream")
