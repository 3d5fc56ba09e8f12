"""Health, readiness, metrics, signed chart links, the dispatcher's bookkeeping, graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from pydantic import SecretStr

from analytics.store.db import make_engine
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.app import Bot
from bot.config import Settings
from bot.web import create_app
from bot.web.charts import ChartLinks, signing_key
from bot.web.dispatch import RecentIds, durable_destination
from tests import metric_data as md
from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk
from tests.test_access import msg
from tests.test_server_dingtalk import make_settings


async def test_healthz_and_readyz_on_a_migrated_database(aiohttp_client, engine):
    app = create_app(Bot(Settings(), engine), Settings(), senders={})
    client = await aiohttp_client(app)
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json()) == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


async def test_readyz_fails_without_migrations(aiohttp_client, tmp_path):
    raw = make_engine(f"sqlite:///{tmp_path}/empty.db")  # reachable, never migrated
    client = await aiohttp_client(create_app(Bot(Settings(), raw), Settings(), senders={}))
    resp = await client.get("/readyz")
    assert resp.status == 503
    checks = (await resp.json())["checks"]
    assert checks["database"] == "ok" and checks["migrations"].startswith("missing")
    raw.dispose()


async def test_readyz_fails_when_the_database_is_unreachable(aiohttp_client):
    down = make_engine("postgresql://postgres@127.0.0.1:1/none")  # nothing listens on port 1
    client = await aiohttp_client(create_app(Bot(Settings(), down), Settings(), senders={}))
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert (await resp.json())["checks"]["database"] == "error: OperationalError"


async def test_metrics_count_callbacks_and_requests(aiohttp_client, sqlite_engine, tmp_path):
    async with FakeDingTalk() as fake:
        settings = make_settings(fake, tmp_path)
        md.load(sqlite_engine, md.make_rows(days=10))
        bot = Bot(settings, sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
        client = await aiohttp_client(create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)}))
        ok = await client.post("/dingtalk/callback", data=body(callback_payload(fake, "/满意度 本周")),
                               headers=signed_headers(fake.app_secret))
        bad = await client.post("/dingtalk/callback", data=b"{}", headers={"timestamp": "1", "sign": "x"})
        assert (ok.status, bad.status) == (200, 401)
        await fake.wait_for(lambda: len(fake.texts()) == 1)
        text = await (await client.get("/metrics")).text()
    assert 'csbot_callbacks_total{outcome="accepted",platform="dingtalk"} 1.0' in text
    assert 'csbot_callbacks_total{outcome="bad_signature",platform="dingtalk"} 1.0' in text
    assert 'csbot_http_requests_total{route="/dingtalk/callback",status="401"} 1.0' in text
    assert 'csbot_replies_total{outcome="sent",path="live",platform="dingtalk"} 1.0' in text
    assert fake.app_secret not in text


async def test_shutdown_finishes_in_flight_replies(aiohttp_client, sqlite_engine, tmp_path):
    async with FakeDingTalk() as fake:
        settings = make_settings(fake, tmp_path)
        md.load(sqlite_engine, md.make_rows(days=10))
        bot = Bot(settings, sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
        client = await aiohttp_client(create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)}))
        fake.delay_s = 0.5  # the reply is still on its way when shutdown starts
        resp = await client.post("/dingtalk/callback", data=body(callback_payload(fake, "/投诉 今天")),
                                 headers=signed_headers(fake.app_secret))
        assert resp.status == 200 and fake.sent == []
        await client.close()  # runs the app's shutdown and cleanup
        assert len(fake.texts()) == 1 and fake.texts()[0].body["markdown"]["text"].startswith("**投诉 ")


async def test_shutdown_cancels_what_exceeds_the_grace_period(aiohttp_client, sqlite_engine, tmp_path):
    async with FakeDingTalk() as fake:
        settings = make_settings(fake, tmp_path, server={"shutdown_grace_seconds": 0})
        md.load(sqlite_engine, md.make_rows(days=10))
        bot = Bot(settings, sqlite_engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
        app = create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)})
        client = await aiohttp_client(app)
        fake.delay_s = 2.0
        await client.post("/dingtalk/callback", data=body(callback_payload(fake, "/投诉 今天")),
                          headers=signed_headers(fake.app_secret))
        await client.close()
        assert fake.sent == []


# ---------------------------------------------------------------- chart links


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_chart_links_sign_verify_and_expire(tmp_path):
    clock = Clock(1_800_000_000.0)
    links = ChartLinks(tmp_path / "public", b"k" * 32, "https://bot.example.com/", 600, clock=clock)
    source = tmp_path / "c.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\n...")
    url = links.publish(source)
    assert url.startswith("https://bot.example.com/charts/")
    chart_id = url.split("/charts/")[1].split(".png")[0]
    exp = url.split("exp=")[1].split("&")[0]
    sig = url.split("sig=")[1]
    assert int(exp) == 1_800_000_600
    status, path = links.resolve(chart_id, exp, sig)
    assert status == 200 and path.read_bytes() == source.read_bytes()
    source.write_bytes(b"overwritten by the next render")
    assert path.read_bytes().startswith(b"\x89PNG")  # a copy: later renders do not change sent links
    assert links.resolve(chart_id, str(int(exp) + 1), sig)[0] == 403  # extended expiry without a new signature
    other = ChartLinks(tmp_path / "public", b"x" * 32, "https://bot.example.com", 600, clock=clock)
    assert other.resolve(chart_id, exp, sig)[0] == 403  # another key
    assert links.resolve("../../etc/passwd", exp, sig)[0] == 404
    assert links.resolve(chart_id, "", sig)[0] == 404
    clock.now += 601
    assert links.resolve(chart_id, exp, sig)[0] == 410


def test_chart_sweep_removes_only_expired_files(tmp_path):
    clock = Clock(time.time())
    links = ChartLinks(tmp_path / "public", b"k" * 32, "https://b", 600, clock=clock)
    source = tmp_path / "c.png"
    source.write_bytes(b"png")
    old, new = links.publish(source), links.publish(source)
    old_file = tmp_path / "public" / (old.split("/charts/")[1].split("?")[0])
    os.utime(old_file, (clock.now - 3600, clock.now - 3600))
    assert links.sweep() == 1
    assert not old_file.exists() and len(list((tmp_path / "public").glob("*.png"))) == 1
    assert new


def test_signing_key_precedence():
    explicit = Settings(server={"chart_signing_key": "explicit-key"})
    assert signing_key(explicit) == b"explicit-key"
    derived = Settings(dingtalk={"app_secret": SecretStr("dt-secret")})
    key = signing_key(derived)
    assert key == signing_key(derived) and b"dt-secret" not in key and len(key) == 32
    assert signing_key(Settings()) != signing_key(Settings())  # random when nothing is configured


# ---------------------------------------------------------------- dispatcher bookkeeping


def test_recent_ids_expire_and_stay_bounded():
    clock = Clock(0.0)
    recent = RecentIds(ttl=10, max_size=3, clock=clock)
    assert recent.add("a") and not recent.add("a")
    clock.now = 11
    assert recent.add("a")  # forgotten after the TTL
    assert recent.add("b") and recent.add("c") and recent.add("d")  # "a" evicted to keep 3
    assert recent.add("a")


@pytest.mark.parametrize(("private", "expected"), [(True, "dingtalk:user:u1"), (False, "dingtalk:chat:cidGROUP")])
def test_default_durable_destination(private, expected):
    assert durable_destination(msg(private=private)).key == expected


async def test_graceful_drain_refuses_new_work():
    from bot.web.dispatch import Dispatcher, ShuttingDown

    class NoReply:
        async def handle(self, _msg):  # a bot that never answers: only the bookkeeping is under test
            await asyncio.sleep(0)

    dispatcher = Dispatcher(NoReply(), {})
    assert await dispatcher.submit(msg(mid="x1")) and not await dispatcher.submit(msg(mid="x1"))
    assert await dispatcher.drain(1.0) == 0 and dispatcher.pending == 0
    with pytest.raises(ShuttingDown):
        await dispatcher.submit(msg(mid="x2"))


def test_build_parts_wires_access_senders_outbox_and_links(tmp_path):
    from bot.access import AccessPolicy
    from bot.delivery.outbox import Outbox
    from bot.web.build import build_parts

    settings = Settings(database={"url": f"sqlite:///{tmp_path}/serve.db"}, general={"data_dir": str(tmp_path)},
                        server={"public_base_url": "https://csbot.example.com"})
    parts = build_parts(settings)
    assert isinstance(parts.bot.access, AccessPolicy) and isinstance(parts.outbox, Outbox)
    assert set(parts.senders) == {"dingtalk", "wecom", "feishu"}
    assert parts.chart_links is not None and parts.chart_links.base_url == "https://csbot.example.com"
    parts.engine.dispose()
