"""Several outbox workers on one database (``csbot serve`` replicas), SQLite file and PostgreSQL: every
row is sent once, rows to one destination stay in order across workers, and a killed worker's claimed
rows are sent by another once their lease runs out — never before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlmodel import Session, select

from analytics.store.outbox import OutboxMessage
from bot.adapters.base import Destination
from bot.adapters.wecom_api import WeComSender
from bot.config import DeliverySettings, WeComRobot, WeComSettings
from bot.delivery.outbox import Outbox
from handlers.base import Reply
from tests.fakes.wecom_server import FakeWeCom

SETTINGS = DeliverySettings(claim_lease_seconds=60, max_attempts=3, backoff_base_seconds=1, jitter=0,
                            rate_limits=[{"platform": "wecom", "count": 1000, "per_seconds": 60}])


class Clock:
    def __init__(self):
        self.t = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def epoch(self) -> float:
        return self.t.timestamp()


def sender_for(fake: FakeWeCom, *names: str) -> WeComSender:
    fake.robot_keys.update(f"key-{n}" for n in names)
    return WeComSender(WeComSettings(corp_id=fake.corp_id, secret=SecretStr(fake.secret), agent_id=fake.agent_id,
                                     api_base=fake.base_url,
                                     robots=[WeComRobot(name=n, webhook=SecretStr(fake.webhook_url(f"key-{n}")))
                                             for n in names]))


def texts_by_key(fake: FakeWeCom) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sent in fake.sent:
        out.setdefault(sent.key, []).append(sent.body["markdown"]["content"])
    return out


async def test_two_workers_send_every_row_once_in_order(engine):
    clock = Clock()
    async with FakeWeCom(clock=clock.epoch) as fake:
        senders = [sender_for(fake, "a", "b"), sender_for(fake, "a", "b")]
        workers = [Outbox(engine, {"wecom": s}, clock, settings=SETTINGS, owner=f"w{i}") for i, s in enumerate(senders)]
        for i in range(12):
            await workers[i % 2].enqueue(Destination("wecom", "robot", "a"), Reply(f"a-{i:02d}"))
            await workers[(i + 1) % 2].enqueue(Destination("wecom", "robot", "b"), Reply(f"b-{i:02d}"))
        done = await asyncio.gather(*(w.drain() for w in workers))
        done2 = await asyncio.gather(*(w.drain() for w in workers))
        for s in senders:
            await s.close()
    assert sum(done) + sum(done2) == 24
    by_key = texts_by_key(fake)
    assert by_key["key-a"] == [f"a-{i:02d}" for i in range(12)]
    assert by_key["key-b"] == [f"b-{i:02d}" for i in range(12)]
    with Session(engine) as s:
        assert {r.status for r in s.exec(select(OutboxMessage)).all()} == {"sent"}


async def test_a_killed_workers_rows_wait_for_the_lease_then_go_once(engine):
    clock = Clock()
    async with FakeWeCom(clock=clock.epoch) as fake:
        dead_sender, live_sender = sender_for(fake, "a"), sender_for(fake, "a")
        dead = Outbox(engine, {"wecom": dead_sender}, clock, settings=SETTINGS, owner="dead")
        live = Outbox(engine, {"wecom": live_sender}, clock, settings=SETTINGS, owner="live")
        for i in range(3):
            await dead.enqueue(Destination("wecom", "robot", "a"), Reply(f"m{i}"))
        claimed = await asyncio.to_thread(dead._due_queues, clock())  # claimed, then the process is killed
        assert [len(q) for q in claimed] == [3]
        assert await live.drain() == 0  # the lease holds: the rows are not sent twice
        await live.enqueue(Destination("wecom", "robot", "a"), Reply("m3"))
        assert await live.drain() == 0  # and later rows to the same place wait behind them (order)
        clock.t += timedelta(seconds=61)
        assert await live.drain() == 4
        for s in (dead_sender, live_sender):
            await s.close()
    assert texts_by_key(fake)["key-a"] == ["m0", "m1", "m2", "m3"]
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.status, r.claimed_by) for r in rows] == [("sent", "live")] * 4
