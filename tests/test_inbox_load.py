"""Issue 17 load fixes: a recovered message keeps its callback's request id; the SQLite write gate
serves the ack path's writers before ordinary ones and never loses a write."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime

from sqlalchemy import text

from analytics.store import sqlite_gate
from analytics.store.sqlite_gate import WriteGate
from bot import logs
from bot.adapters.base import Destination, IncomingMessage
from bot.web.dispatch import Dispatcher
from bot.web.inbox import Inbox
from handlers.base import Reply


def message(mid: str) -> IncomingMessage:
    durable = Destination("dingtalk", "chat", "cidG", {"robot_code": "rc"})
    return IncomingMessage(platform="dingtalk", message_id=mid, chat_id="cidG", user_id="u1", text="/帮助",
                           received_at=datetime(2026, 12, 3, 1, 2, 3, tzinfo=UTC), reply_handle={"durable": durable})


class Echo:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    async def handle(self, msg: IncomingMessage) -> Reply:
        self.seen.append((msg.message_id, logs.request_id.get()))
        logging.getLogger("test.recovered").info("answering %s", msg.message_id)
        return Reply("ok")


class Outbox:
    def __init__(self) -> None:
        self.request_ids: list[str | None] = []

    async def enqueue(self, _destination: Destination, _reply: Reply, dedup_key: str) -> None:
        self.request_ids.append(logs.request_id.get())


def test_a_recovered_message_carries_the_request_id_of_its_callback(engine):
    killed = Inbox(engine, "elsewhere:1:dead", lease_seconds=0.001)  # a replica that accepted, then died
    killed.accept(message("m1"), request_id="rid-callback-1")
    killed.accept(message("m2"))  # stored without one (an older row)
    bot, outbox = Echo(), Outbox()

    async def go() -> None:
        dispatcher = Dispatcher(bot, {}, outbox, inbox=Inbox(engine, "here:2:live"))
        await asyncio.sleep(0.01)  # the dead replica's lease runs out
        assert await dispatcher.recover_once() == 2
        await dispatcher.drain(10)

    asyncio.run(go())
    assert sorted(bot.seen) == [("m1", "rid-callback-1"), ("m2", None)]
    assert sorted(outbox.request_ids, key=str) == [None, "rid-callback-1"]  # the outbox row keeps it too


def test_submit_stores_the_current_request_id(engine):
    inbox = Inbox(engine, "here:3:live")

    async def go() -> None:
        dispatcher = Dispatcher(Echo(), {}, Outbox(), inbox=inbox)
        token = logs.request_id.set("rid-submit")
        try:
            assert await dispatcher.submit(message("m3"))
        finally:
            logs.request_id.reset(token)
        await dispatcher.drain(10)

    asyncio.run(go())
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT message FROM inbox WHERE message_id = 'm3'")).scalar_one()
    assert (stored if isinstance(stored, dict) else __import__("json").loads(stored))["request_id"] == "rid-submit"


def test_gate_serves_priority_waiters_first():
    gate = WriteGate()
    assert gate.acquire(False)
    order: list[str] = []
    ready = threading.Barrier(3)

    def waiter(name: str, priority: bool) -> None:
        ready.wait()
        assert gate.acquire(priority)
        order.append(name)
        gate.release()

    plain = threading.Thread(target=waiter, args=("plain", False))
    ack = threading.Thread(target=waiter, args=("ack", True))
    plain.start()
    ack.start()
    ready.wait()
    while gate._priority_waiting == 0:  # the ack waiter is queued (plain is queued or about to be)
        threading.Event().wait(0.001)
    gate.release()
    plain.join()
    ack.join()
    assert order[0] == "ack"


def test_gate_times_out_instead_of_deadlocking():
    gate = WriteGate()
    assert gate.acquire(False)
    assert gate.acquire(True, timeout=0.01) is False  # the holder writing on a second connection goes on


def test_concurrent_writers_through_the_gate_lose_nothing(sqlite_engine):
    sqlite_gate.install(sqlite_engine)  # as CSBOT_SQLITE_GATE=1 does
    with sqlite_engine.begin() as conn:
        conn.execute(text("CREATE TABLE gate_t (thread TEXT, n INTEGER)"))

    def writer(name: str) -> None:
        for n in range(40):
            with sqlite_engine.begin() as conn:
                conn.execute(text("INSERT INTO gate_t VALUES (:t, :n)"), {"t": name, "n": n})

    names = [f"csbot-ack-{i}" if i % 2 else f"plain-{i}" for i in range(6)]
    threads = [threading.Thread(target=writer, args=(name,), name=name) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with sqlite_engine.connect() as conn:
        rows = conn.execute(text("SELECT thread, COUNT(*) FROM gate_t GROUP BY thread")).all()
    assert dict(rows) == dict.fromkeys(names, 40)


def test_the_event_lane_refuses_past_its_depth_with_a_retry_after():
    from bot.web.events import Busy, IngestLane

    lane = IngestLane(workers=1, max_waiting=1)
    release = threading.Event()
    results: list[object] = []

    async def go() -> None:
        first = asyncio.ensure_future(lane.run(release.wait, 10))
        second = asyncio.ensure_future(lane.run(lambda: "second"))
        await asyncio.sleep(0)
        try:
            await lane.run(lambda: "third")
        except Busy as exc:
            results.append(exc.retry_after)
        release.set()
        results.extend(await asyncio.gather(first, second))
        results.append(await lane.run(lambda: "after"))  # room again once the two finished

    asyncio.run(go())
    lane.close()
    assert results[0] >= 1 and results[1:] == [True, "second", "after"]
