"""End to end as ``csbot serve`` runs it: the real aiohttp app with its scheduler and outbox worker, a
spike of complaints POSTed to the event API, and the alert — with its chart link and the on-call @ —
arriving at a fake DingTalk robot on port 0 that checks the robot's signature. Real clock: five weeks
of a small shop are imported up to the present first (SQLite file and PostgreSQL).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.ingest import ingest_records
from analytics.store import alerts as store
from bot.app import Bot
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.jobs.alerts import AlertJob
from bot.jobs.scheduler import JobScheduler
from bot.web import create_app
from bot.web.build import build_senders
from tests.fakes.dingtalk_server import FakeDingTalk

SH = ZoneInfo("Asia/Shanghai")
TOKEN = "ingest-token-abcdef123456"
ONCALL = "13900001111"
SECRET = "SECfake-robot-secret-0123"


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        server.add_robot("tok-ops", secret=SECRET)
        yield server


def _history(now: datetime) -> tuple[list[dict], list[dict]]:
    rng = random.Random(5)
    conversations, complaints = [], []
    at = (now - timedelta(days=36)).replace(minute=0, second=0, microsecond=0)
    while at < now - timedelta(minutes=5):
        for _ in range(14 if 9 <= at.hour < 22 else 3):
            started = at + timedelta(seconds=rng.uniform(0, 3600))
            if started >= now:
                continue
            cid = f"C{len(conversations):06d}"
            conversations.append({"conversation_id": cid, "started_at": started.isoformat(), "agent": "小王",
                                  "channel": "淘宝"})
            if rng.random() < 0.04:
                complaints.append({"complaint_id": f"P{len(complaints):06d}", "created_at": started.isoformat(),
                                   "text": "质量不好", "channel": "淘宝", "category": "质量", "product": "围巾"})
        at += timedelta(hours=1)
    return conversations, complaints


async def test_an_event_batch_spike_pages_the_robot(aiohttp_client, engine, fake, tmp_path):
    now = datetime.now(SH)
    conversations, complaints = _history(now)
    ingest_records(engine, "conversations", conversations, tz=SH, enrich=False)
    ingest_records(engine, "complaints", complaints, tz=SH, enrich=False)
    settings = Settings(
        general={"data_dir": str(tmp_path)},
        ingest={"tokens": [TOKEN]},
        dingtalk={"robots": [{"name": "ops", "webhook": f"{fake.base_url}/robot/send?access_token=tok-ops",
                              "secret": SECRET}]},
        alerts={"targets": ["dingtalk:ops"], "oncall_dingtalk_mobiles": [ONCALL], "hold_minutes": 0,
                "series": ["complaints"]},
        digests={"enabled": False},
    )
    bot = Bot(settings, engine, chart_dir=tmp_path / "charts")
    senders = build_senders(settings, None)
    outbox = Outbox(engine, senders, settings=settings.delivery, tz=SH)
    job = AlertJob(settings, engine, owner=outbox.owner, chart_dir=tmp_path / "charts", wake=outbox.wake)
    jobs = JobScheduler(settings, None, job)
    client = await aiohttp_client(create_app(bot, settings, senders=senders, outbox=outbox, jobs=jobs))
    await fake.wait_for(lambda: not job.cache.empty, within=30)  # the start-up check has run: nothing to say
    assert fake.sent == []

    spike = [{"complaint_id": f"S{i:03d}", "created_at": (now - timedelta(minutes=20 - i * 0.5)).isoformat(),
              "text": "快递三天没动，物流不更新", "channel": "淘宝", "category": "物流", "product": "羽绒服"}
             for i in range(30)]
    resp = await client.post("/api/v1/events", json={"kind": "complaints", "records": spike},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200 and (await resp.json())["accepted"] == 30

    await fake.wait_for(lambda: any("告警" in s.markdown for s in fake.sent), within=30)
    (page,) = [s for s in fake.sent if "告警" in s.markdown]
    assert page.body["at"]["atMobiles"] == [ONCALL] and f"@{ONCALL}" in page.markdown
    (record,) = store.open_alerts(engine)
    assert f"#{record.id}" in page.markdown and "物流" in page.markdown
    assert record.status == store.FIRING and record.notified
