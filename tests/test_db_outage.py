"""A database outage in the middle of callback traffic, on PostgreSQL.

PostgreSQL itself cannot be stopped here (other tests use the server), so the app reaches a
throwaway database through a TCP proxy on loopback that the test closes — refusing new connections
and cutting the open ones, which is what the app sees when the server stops — and reopens.

Asserted: before, during and after the outage every signed DingTalk callback gets a 200 or a
vendor-retryable 503, never another status; every callback acknowledged with 200 is answered at the
(fake) DingTalk; after the proxy is back, new callbacks are accepted and answered without a restart.

DingTalk's HTTP robot callback is not redelivered (bot/adapters/dingtalk_http.py), so while the inbox
cannot be written a DingTalk callback is taken from memory with 200 and answered (with the "database
unavailable" reply if the database is still down when it runs) instead of a 503 that would drop it;
WeCom and Feishu get 503 and redeliver.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy.engine import make_url

from analytics.store.db import make_engine, open_database
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.app import Bot
from bot.config import Settings
from bot.web import create_app
from tests import metric_data as md
from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk

pytestmark = pytest.mark.pg


class Proxy:
    """A TCP forwarder to ``host:port`` that can be taken down (listener closed, connections cut) and back."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_callbacks_survive_a_database_outage(aiohttp_client, db_factory, pg_server, tmp_path):
    url = db_factory.url("postgresql")
    direct = open_database(url)  # migrated through the real port
    md.load(direct, md.make_rows())
    parsed = make_url(url)
    proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    engine = make_engine(parsed.set(port=proxy.port).render_as_string(hide_password=False))
    async with FakeDingTalk() as fake:
        settings = Settings(general={"data_dir": str(tmp_path / "data")},
                            dingtalk={"app_key": fake.app_key, "app_secret": fake.app_secret,
                                      "robot_code": fake.robot_code, "api_base": fake.base_url,
                                      "oapi_base": fake.base_url})
        bot = Bot(settings, engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
        client = await aiohttp_client(create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)}))

        async def fire(n: int, tag: str) -> list[int]:
            statuses = []
            for i in range(n):
                payload = callback_payload(fake, "/帮助", staff_id=f"{tag}{i}", msg_id=f"outage-{tag}-{i}")
                resp = await client.post("/dingtalk/callback", data=body(payload),
                                         headers=signed_headers(fake.app_secret))
                statuses.append(resp.status)
                await asyncio.sleep(0.05)
            return statuses

        before = await fire(5, "before")
        await proxy.stop()
        during = await fire(10, "during")
        await asyncio.sleep(1.0)  # answers of the commands taken before and during the outage run now
        await proxy.start()
        after = await fire(5, "after")

        assert before == [200] * 5 and after == [200] * 5
        assert set(during) <= {200, 503}, during
        assert during.count(200) >= 1  # DingTalk does not redeliver: taken from memory and answered
        accepted = before.count(200) + during.count(200) + after.count(200)
        await fake.wait_for(lambda: len(fake.texts()) >= accepted, within=60)
        assert len(fake.texts()) == accepted  # each accepted callback answered once
    await proxy.stop()
    engine.dispose()
    direct.dispose()
