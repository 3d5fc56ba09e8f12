"""Done-means: a WeCom callback built by wechatpy gets the right ``/满意度 本周`` answer, delivered
through the outbox to the (fake) WeCom app-message API, via the real aiohttp server app."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from pydantic import SecretStr

from bot.adapters.wecom_api import plain_text
from bot.app import Bot
from bot.config import Settings, WeComSettings
from bot.delivery.outbox import Outbox
from tests import metric_data as md
from tests import wecom_client as wx
from tests.fakes.wecom_server import FakeWeCom

server = pytest.importorskip("bot.web")

WEEK = (datetime(2026, 11, 23, tzinfo=md.TZ), md.NOW)


@pytest.fixture
async def fake():
    async with FakeWeCom(corp_id=wx.CORP_ID) as f:
        yield f


async def _wait_for(predicate, limit_s=20.0):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_satisfaction_this_week_reaches_wecom(aiohttp_client, engine, fake, tmp_path):
    rows = md.make_rows()
    md.load(engine, rows)
    settings = Settings(wecom=WeComSettings(
        corp_id=wx.CORP_ID, token=SecretStr(wx.TOKEN), encoding_aes_key=SecretStr(wx.AES_KEY),
        agent_id=fake.agent_id, secret=SecretStr(fake.secret), api_base=fake.base_url))
    bot = Bot(settings, engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
    from bot.adapters.wecom_api import WeComSender

    senders = {"wecom": WeComSender(settings.wecom)}
    outbox = Outbox(engine, senders, settings=settings.delivery, tz=settings.tz)
    app = server.create_app(bot, settings, senders=senders, outbox=outbox)
    client = await aiohttp_client(app)

    query, body = wx.post(wx.inner_text("/满意度 本周", user="LiSi", msg_id="7441000000000000001"),
                          ts=int(time.time()))
    resp = await client.post("/wecom/callback", params=query, data=body.encode())
    assert resp.status == 200 and await resp.text() == ""  # acked empty; the command runs after the ack

    # WeCom retries the same MsgId: acknowledged, not answered twice
    query2, body2 = wx.post(wx.inner_text("/满意度 本周", user="LiSi", msg_id="7441000000000000001"),
                            ts=int(time.time()), nonce="retry-2")
    assert (await client.post("/wecom/callback", params=query2, data=body2.encode())).status == 200

    expected = await bot.ask("/满意度 本周")
    n_images = len(expected.charts)
    assert await _wait_for(lambda: len(fake.sent) >= 1 + n_images)
    await asyncio.sleep(0.2)  # a duplicate would arrive now
    texts = [s.body for s in fake.sent if s.body["msgtype"] == "text"]
    images = [s.body for s in fake.sent if s.body["msgtype"] == "image"]
    assert len(texts) == 1 and len(images) == n_images
    sent = texts[0]
    assert sent["touser"] == "LiSi" and sent["agentid"] == fake.agent_id
    assert sent["text"]["content"] == plain_text(expected)
    value, n = md.expect_csat(rows, *WEEK, {})  # independent plain-loop computation
    assert f"满意度 {value * 100:.1f}%" in sent["text"]["content"]
    assert f"参评 {n:,}" in sent["text"]["content"]
    assert all(img["image"]["media_id"] in fake.media for img in images)
