"""A signed, encrypted Feishu ``im.message.receive_v1`` event for ``/满意度 本周`` through the real server
app: acknowledged at once, answered through the outbox to the (fake) Feishu app message API."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from datetime import datetime

import pytest
from pydantic import SecretStr

from bot.app import Bot
from bot.config import FeishuSettings, Settings
from bot.delivery.outbox import Outbox
from tests import metric_data as md
from tests.fakes.feishu_server import FakeFeishu
from tests.test_feishu_callback import CASES, encrypt, signed_headers

server = pytest.importorskip("bot.web")
WEEK = (datetime(2026, 11, 23, tzinfo=md.TZ), md.NOW)
KEY, TOKEN = "e2e-encrypt-key", "VT-masked"


async def test_satisfaction_this_week_reaches_feishu(aiohttp_client, engine, tmp_path):
    rows = md.make_rows()
    md.load(engine, rows)
    async with FakeFeishu() as fake:
        settings = Settings(feishu=FeishuSettings(
            app_id=fake.app_id, app_secret=SecretStr(fake.app_secret), api_base=fake.base_url,
            verification_token=SecretStr(TOKEN), encrypt_key=SecretStr(KEY)))
        bot = Bot(settings, engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
        from bot.adapters.feishu import FeishuSender

        senders = {"feishu": FeishuSender(settings.feishu)}
        outbox = Outbox(engine, senders, settings=settings.delivery, tz=settings.tz)
        client = await aiohttp_client(server.create_app(bot, settings, senders=senders, outbox=outbox))

        event = copy.deepcopy(CASES[0]["payload"])  # "@_user_1 /满意度 本周" in group oc_group1
        body = json.dumps({"encrypt": encrypt(KEY, json.dumps(event))}).encode()
        for _ in range(2):  # Feishu redelivers until it sees 200: answered once
            resp = await client.post("/feishu/callback", data=body,
                                     headers=signed_headers(body, ts=int(time.time()), key=KEY))
            assert resp.status == 200

        expected = await bot.ask("/满意度 本周")
        for _ in range(2000):
            if fake.app_messages:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        [sent] = fake.app_messages
        assert sent["receive_id"] == "oc_group1" and sent["receive_id_type"] == "chat_id"
        lines = ["".join(n.get("text", "") for n in line) for line in sent["content_obj"]["post"]["zh_cn"]["content"]]
        value, n = md.expect_csat(rows, *WEEK, {})  # independent plain-loop computation
        assert f"满意度 {value * 100:.1f}%" in lines[0]
        assert any(f"参评 {n:,}" in line for line in lines)
        assert len([x for line in sent["content_obj"]["post"]["zh_cn"]["content"] for x in line
                    if x["tag"] == "img"]) == len(expected.charts)
