"""``/metrics``, JSON logs with a request id, and ``/readyz`` against the real aiohttp app.

Traffic goes through the real routes: a signed DingTalk callback whose live session has expired, so the
reply takes the durable path (outbox → the fake DingTalk's OpenAPI); a scheduler on the app with a
timed job and a job that misfires for real (a date in the past beyond its grace). The gauges read from
the database are compared with a plain count over the stored rows.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.date import DateTrigger
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from analytics.store.alerts import AlertRecord
from analytics.store.db import make_engine
from analytics.store.outbox import OutboxMessage
from bot import logs
from bot.app import Bot
from bot.delivery.outbox import Outbox
from bot.jobs.leader import leadership_for
from bot.jobs.scheduler import JobScheduler
from bot.redact import register_secret
from bot.web import create_app
from tests import metric_data as md
from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.test_server_dingtalk import make_settings, start

TOKEN = "metrics-token-0123456789"


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        yield server


def families(text: str) -> dict[str, list]:
    """Metric family name → samples (counters are listed under their name without ``_total``)."""
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def sample(fams: dict[str, list], name: str, **labels: str) -> float | None:
    for family in fams.values():
        for s in family:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


@pytest.fixture
def json_log():
    """A handler on the root logger writing JSON lines into a buffer, as ``log_format = "json"`` does."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logs.configure_handler(handler, "json")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(old_level)


async def test_metrics_after_traffic_and_the_request_id_from_callback_to_delivery(aiohttp_client, engine, fake,
                                                                                 tmp_path, json_log):
    client, settings = await start(aiohttp_client, engine, md.make_rows(), fake, tmp_path,
                                   outbox=lambda engine, senders: Outbox(engine, senders),
                                   server={"metrics_token": TOKEN}, delivery={"poll_seconds": 0.2})
    payload = callback_payload(fake, "投诉 今天", private=True, session_ttl_ms=-1000)
    resp = await client.post("/dingtalk/callback", data=body(payload),
                             headers={**signed_headers(fake.app_secret), "X-Request-Id": "req-cb-0001"})
    assert resp.status == 200
    await fake.wait_for(lambda: len(fake.texts()) == 1)
    bad = await client.post("/dingtalk/callback", data=body(payload), headers={"timestamp": "1", "sign": "x"})
    assert bad.status in (401, 403)

    # The request id went with the reply into the outbox row, and every line on the way carries it.
    def stored() -> list[OutboxMessage]:
        with Session(engine) as session:
            return list(session.exec(select(OutboxMessage)).all())

    await fake.wait_for(lambda: [r.status for r in stored()] == ["sent"], within=30)
    (row,) = stored()
    assert row.extra["request_id"] == "req-cb-0001"
    await fake.wait_for(lambda: f"outbox #{row.id} -> " in json_log.getvalue(), within=30)  # logged after the row
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    tagged = [line["message"] for line in lines if line.get("request_id") == "req-cb-0001"]
    assert any(m.startswith("command 投诉") for m in tagged), tagged
    assert any(m.startswith(f"outbox #{row.id}") for m in tagged), tagged

    # Gauges from the database: a pending row held back for later, an open firing alert.
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(OutboxMessage(created_at=now - timedelta(seconds=90), platform="wecom", kind="chat", target="c1",
                                  destination_key="wecom:chat:c1", text="稍后", status="pending", attempts=0,
                                  parts_sent=0, next_attempt_at=now + timedelta(hours=1), updated_at=now))
        session.add(AlertRecord(key="complaints", open_key="complaints", status="firing", label="投诉",
                                started_at=now, updated_at=now))
        session.commit()
        rows = session.exec(select(OutboxMessage)).all()
    pending = {}
    for r in rows:
        if r.status == "pending":
            pending[r.platform] = pending.get(r.platform, 0) + 1

    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong-token-xxxxxxx"})).status == 401
    scrape = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scrape.status == 200
    fams = families(await scrape.text())
    assert sample(fams, "csbot_commands_total", command="投诉", outcome="ok") == 1
    assert sample(fams, "csbot_answer_seconds_count", command="投诉") == 1
    assert sample(fams, "csbot_callback_requests_total", platform="dingtalk", status="200") == 1
    assert sample(fams, "csbot_callback_requests_total", platform="dingtalk", status=str(bad.status)) == 1
    assert sample(fams, "csbot_deliveries_total", platform="dingtalk", outcome="sent") == 1
    assert sample(fams, "csbot_outbox_pending", platform="wecom") == pending["wecom"] == 1
    assert sample(fams, "csbot_outbox_pending", platform="dingtalk") is None  # nothing pending there
    assert 90 <= sample(fams, "csbot_outbox_oldest_pending_seconds", platform="wecom") < 3600
    assert sample(fams, "csbot_alerts_open", status="firing") == 1
    assert sample(fams, "csbot_alerts_open", status="pending") == 0
    assert sample(fams, "csbot_database_up") == 1
    await client.close()


async def test_scheduler_runs_misfires_and_leader_identity(aiohttp_client, sqlite_engine, fake, tmp_path):
    settings = make_settings(fake, tmp_path, digests={"enabled": False}, alerts={"enabled": False},
                             server={"leader_poll_seconds": 0.2})
    bot = Bot(settings, sqlite_engine, chart_dir=tmp_path / "charts")
    jobs = JobScheduler(settings, None, None, leader=leadership_for(sqlite_engine, "replica-a"))
    ran = []

    async def tick() -> str:
        ran.append(1)
        return "ok"

    jobs.add_timed("test.tick", "test tick", tick, 0.1)
    client = await aiohttp_client(create_app(bot, settings, senders={}, jobs=jobs))
    await fake.wait_for(lambda: len(ran) >= 2, within=30)
    jobs.scheduler.add_job(tick, DateTrigger(run_date=datetime.now(UTC) - timedelta(seconds=30)), id="test.late",
                           misfire_grace_time=1)
    await fake.wait_for(lambda: jobs.scheduler.get_job("test.late") is None, within=30)
    fams = families(await (await client.get("/metrics")).text())  # no token configured: open
    assert sample(fams, "csbot_scheduler_job_runs_total", job_id="test.tick", outcome="ok") >= 2
    assert sample(fams, "csbot_scheduler_job_misfires_total", job_id="test.late") == 1
    assert sample(fams, "csbot_leader", replica="replica-a") == 1
    await client.close()


async def test_readyz_and_metrics_while_the_database_is_unreachable(aiohttp_client, fake, tmp_path):
    settings = make_settings(fake, tmp_path)
    dead = make_engine("postgresql://postgres@127.0.0.1:1/csbot")  # nothing listens on port 1
    try:
        client = await aiohttp_client(create_app(Bot(settings, dead, chart_dir=tmp_path / "charts"), settings,
                                                 senders={}))
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["database"].startswith("error")
        scrape = await client.get("/metrics")
        assert scrape.status == 200  # a scrape during an outage still answers, with the database down
        assert sample(families(await scrape.text()), "csbot_database_up") == 0
        assert (await client.get("/healthz")).status == 200
        await client.close()
    finally:
        dead.dispose()


def test_json_log_lines_parse_and_redact_secrets(json_log):
    secret = "app-secret-XYZ-987654"
    register_secret(secret)
    token = logs.request_id.set("req-json-1")
    try:
        log = logging.getLogger("csbot.test")
        log.warning("calling https://oapi.example/robot/send?access_token=tok-abc123 with %s", secret)
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            log.exception("send failed")
    finally:
        logs.request_id.reset(token)
    log.info("outside a request")
    first, second, third = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert first["level"] == "WARNING" and first["logger"] == "csbot.test" and first["request_id"] == "req-json-1"
    assert secret not in first["message"] and "tok-abc123" not in first["message"] and "***" in first["message"]
    assert "RuntimeError" in second["exc"] and secret not in second["exc"]
    assert "request_id" not in third
    datetime.fromisoformat(first["ts"])
