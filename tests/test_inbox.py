"""The inbox, its de-duplication and leases, the bounded backlog and the database rate limiter, on a
SQLite file and PostgreSQL: the real aiohttp app with a signed fake DingTalk and Feishu events, the
real Outbox and pipeline against the fake DingTalk robot (which throttles past 20 a minute)."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlmodel import Session

from analytics.store.audit import AuditEntry
from analytics.store.inbox import InboxMessage
from analytics.store.outbox import OutboxMessage
from bot.access import AccessPolicy
from bot.adapters.base import Destination, IncomingMessage
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.app import NOT_UNDERSTOOD, Bot
from bot.config import DeliverySettings, DingTalkRobot, DingTalkSettings, Settings
from bot.delivery.outbox import Outbox
from bot.delivery.pipeline import limits_from
from bot.delivery.ratelimit import DatabaseLimiter, Window
from bot.web import create_app
from bot.web.dispatch import BUSY_TEXT
from bot.web.inbox import Inbox, decode_message, encode_message
from handlers.base import Reply
from tests import wecom_client as wx
from tests.fakes.dingtalk_client import body, callback_payload, signed_headers
from tests.fakes.dingtalk_server import FakeDingTalk

FEISHU_CASES = json.loads((Path(__file__).parent / "fixtures" / "feishu" / "events.json").read_text("utf-8"))["cases"]


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def message(mid: str = "m1", **kw) -> IncomingMessage:  # noqa: ANN003
    live = Destination("dingtalk", "session", mid, {"webhook": "https://x/s?session=1", "expires_ms": 123,
                                                     "at_user_ids": ["u1"]})
    handle = {"live": live, "durable": Destination("dingtalk", "chat", "cidG", {"robot_code": "rc"}), "n": 3}
    return IncomingMessage(platform="dingtalk", message_id=mid, chat_id="cidG", user_id="u1", text="/帮助",
                           user_name="小王", received_at=datetime(2026, 12, 3, 1, 2, 3, tzinfo=UTC),
                           reply_handle=handle, **kw)


def count(engine, model) -> int:  # noqa: ANN001
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


# ---------------------------------------------------------------- the table and its key


def test_message_round_trips_through_json_with_its_reply_handle():
    msg = message()
    assert decode_message(json.loads(json.dumps(encode_message(msg)))) == msg


def test_the_unique_key_deduplicates_across_instances_and_restarts(engine):
    clock = Clock(datetime(2026, 12, 3, 9, tzinfo=UTC))
    first = Inbox(engine, "hostA:1:aaa", clock=clock)
    row = first.accept(message("m1"))
    assert row is not None
    again = Inbox(engine, "hostB:2:bbb", clock=clock)  # another replica, or this one after a restart
    assert again.accept(message("m1")) is None
    assert again.accept(IncomingMessage("wecom", "m1", "c", "u", "x")) is not None  # the key includes the platform
    first.finish(row)
    assert first.counts() == {"pending": 1, "done": 1, "failed": 0}


def test_leases_claims_and_attempts(engine):
    clock = Clock(datetime(2026, 12, 3, 9, tzinfo=UTC))
    a = Inbox(engine, "hostA:1:aaa", lease_seconds=60, max_attempts=2, clock=clock)
    b = Inbox(engine, "hostB:2:bbb", lease_seconds=60, max_attempts=2, clock=clock)
    c = Inbox(engine, "hostC:3:ccc", lease_seconds=60, max_attempts=2, clock=clock)
    a.accept(message("m1"))
    assert b.claim_stale(10) == []  # a's lease holds
    clock.now += timedelta(seconds=30)
    a.renew([1])
    clock.now += timedelta(seconds=45)
    assert b.claim_stale(10) == []  # renewed: still a's
    clock.now += timedelta(seconds=20)
    got_b, got_c = b.claim_stale(10), c.claim_stale(10)
    assert [m.message_id for _, m in got_b] == ["m1"] and got_c == []  # claimed once (compare-and-set)
    assert got_b[0][1] == message("m1")
    a.finish(1)  # a's late finish does not touch b's row
    assert b.counts()["pending"] == 1
    clock.now += timedelta(seconds=61)
    assert c.claim_stale(10) == []  # two attempts used: failed, not answered a third time
    assert c.counts() == {"pending": 0, "done": 0, "failed": 1}


def test_a_dead_local_owner_is_taken_over_at_once(engine):
    import os
    import socket

    host = socket.gethostname()[:32]
    old = Inbox(engine, f"{host}:{os.getpid()}:oldtag")  # this pid, another tag: an earlier incarnation
    old.accept(message("m1"))
    alive_elsewhere = Inbox(engine, "otherhost:1:xyz")
    alive_elsewhere.accept(message("m2"))
    restarted = Inbox(engine, f"{host}:{os.getpid()}:newtag")
    assert [m.message_id for _, m in restarted.claim_stale(10)] == ["m1"]


def test_sweep_deletes_rows_past_the_retention(engine):
    clock = Clock(datetime(2026, 12, 3, 9, tzinfo=UTC))
    inbox = Inbox(engine, "h:1:a", clock=clock)
    inbox.accept(message("old"))
    clock.now += timedelta(days=6)
    inbox.accept(message("new"))
    clock.now += timedelta(days=1, seconds=1)
    assert inbox.sweep(7) == 1
    assert inbox.accept(message("new")) is None and inbox.accept(message("old")) is not None


# ---------------------------------------------------------------- through the server


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        yield server


class Gate:
    """A bot whose commands wait until released (a chart burst), with a database for the inbox."""

    def __init__(self, engine):  # noqa: ANN001
        self.engine = engine
        self.release = asyncio.Event()
        self.started = 0

    async def handle(self, msg: IncomingMessage) -> Reply:
        self.started += 1
        await self.release.wait()
        return Reply(f"答复 {msg.message_id}")


def settings_for(fake: FakeDingTalk, tmp_path, **server) -> Settings:  # noqa: ANN001, ANN003
    token = FEISHU_CASES[0]["payload"].get("header", {}).get("token") or FEISHU_CASES[0]["payload"].get("token")
    return Settings(general={"data_dir": str(tmp_path / "data")}, server=server,
                    dingtalk={"app_key": fake.app_key, "app_secret": fake.app_secret, "robot_code": fake.robot_code,
                              "api_base": fake.base_url, "oapi_base": fake.base_url},
                    feishu={"verification_token": SecretStr(token or "")},
                    wecom={"corp_id": wx.CORP_ID, "token": SecretStr(wx.TOKEN),
                           "encoding_aes_key": SecretStr(wx.AES_KEY), "agent_id": 1000002})


def feishu_event(i: int) -> bytes:
    payload = copy.deepcopy(FEISHU_CASES[0]["payload"])
    payload["event"]["message"]["message_id"] = f"om_{i:04d}"
    payload.setdefault("header", {})["event_id"] = f"ev_{i:04d}"
    return json.dumps(payload, ensure_ascii=False).encode()


async def test_the_backlog_is_bounded_per_vendor(aiohttp_client, engine, fake, tmp_path):
    settings = settings_for(fake, tmp_path, max_pending_commands=3)
    bot = Gate(engine)
    app = create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)})
    client = await aiohttp_client(app)
    payloads = [callback_payload(fake, "/满意度", msg_id=f"dt{i}") for i in range(5)]
    answers = []
    for p in payloads:
        resp = await client.post("/dingtalk/callback", data=body(p), headers=signed_headers(fake.app_secret))
        answers.append((resp.status, (await resp.json())["errmsg"]))
    # DingTalk does not redeliver HTTP callbacks: past the limit the sender is told, at once, to resend later
    assert answers == [(200, "ok")] * 3 + [(200, "busy")] * 2
    busy = await fake.wait_sent(2)
    assert [s.kind for s in busy] == ["group", "group"] and all(BUSY_TEXT in s.markdown for s in busy)
    # Feishu redelivers what it did not see acknowledged: 503, nothing stored
    resp = await client.post("/feishu/callback", data=feishu_event(1), headers={"Content-Type": "application/json"})
    assert resp.status == 503
    # WeCom counts only HTTP 200 as received and retries anything else: 503, nothing stored
    now = int(time.time())
    query, xml = wx.post(wx.inner_text("/满意度", msg_id="7441000000000000001", ts=now), ts=now)
    resp = await client.post("/wecom/callback", params=query, data=xml.encode())
    assert resp.status == 503
    assert count(engine, InboxMessage) == 3 and bot.started == 3  # never more than the bound in flight
    bot.release.set()
    await fake.wait_sent(5)
    await asyncio.sleep(0.2)
    assert sorted(s.markdown for s in fake.sent if s.kind == "session") == ["答复 dt0", "答复 dt1", "答复 dt2"]
    with Session(engine) as s:
        assert sorted(s.exec(select(InboxMessage.status)).scalars().all()) == ["done"] * 3
    # room again: the redelivered Feishu event is taken and stored
    resp = await client.post("/feishu/callback", data=feishu_event(1), headers={"Content-Type": "application/json"})
    assert resp.status == 200 and count(engine, InboxMessage) == 4


async def test_unmatched_text_is_audited_like_a_refusal(aiohttp_client, engine, fake, tmp_path):
    settings = settings_for(fake, tmp_path)
    bot = Bot(settings, engine, access=AccessPolicy(settings.access, engine), chart_dir=tmp_path / "charts")
    client = await aiohttp_client(create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)}))
    p = callback_payload(fake, "今天天气怎么样呀")
    resp = await client.post("/dingtalk/callback", data=body(p), headers=signed_headers(fake.app_secret))
    assert resp.status == 200
    (sent,) = await fake.wait_sent(1)
    assert NOT_UNDERSTOOD.split("。")[0] in sent.markdown
    with Session(engine) as s:
        [entry] = s.exec(select(AuditEntry)).scalars().all()
    assert entry.message_id == p["msgId"] and entry.result.startswith(NOT_UNDERSTOOD[:10])


# ---------------------------------------------------------------- the outbound limiter in the database


def independent_admitted(times: list[float], count_: int, seconds: float) -> list[float]:
    """A plain loop: admit a send when fewer than ``count_`` admitted sends lie in the last ``seconds``."""
    admitted: list[float] = []
    for t in times:
        if sum(1 for a in admitted if a > t - seconds) < count_:
            admitted.append(t)
    return admitted


def test_limiter_state_is_shared_and_survives_a_restart(engine):
    limits = {"dingtalk": (Window(20, 60.0),)}
    replicas = [DatabaseLimiter(engine, limits), DatabaseLimiter(engine, limits)]
    times = [1000.0 + i * 1.5 for i in range(60)]
    admitted = []
    for i, t in enumerate(times[:30]):  # two replicas alternating on one robot
        if replicas[i % 2].acquire("dingtalk:robot:ops", "dingtalk", t) == 0:
            admitted.append(t)
    restarted = DatabaseLimiter(engine, limits)  # both gone, a new process on the same database
    for t in times[30:]:
        if restarted.acquire("dingtalk:robot:ops", "dingtalk", t) == 0:
            admitted.append(t)
    assert admitted == independent_admitted(times, 20, 60.0)
    assert restarted.wait_time("dingtalk:robot:ops", "dingtalk", times[-1]) > 0


async def test_a_restarted_outbox_cannot_burst_past_dingtalks_limit(engine, fake):
    url = fake.add_robot("tok-ops")
    ding = DingTalkSettings(oapi_base=fake.base_url, api_base=fake.base_url,
                            robots=[DingTalkRobot(name="ops", webhook=SecretStr(url))])
    settings = DeliverySettings(poll_seconds=0.2)

    opened: list[DingTalkSender] = []

    def outbox() -> Outbox:
        opened.append(DingTalkSender(ding))
        return Outbox(engine, {"dingtalk": opened[-1]}, settings=settings,
                      limiter=DatabaseLimiter(engine, limits_from(settings)))

    first = outbox()
    for i in range(15):
        await first.enqueue(Destination("dingtalk", "robot", "ops"), Reply(f"推送 {i}"))
    assert await first.drain() == 15
    restarted = outbox()  # a new process: an in-memory limiter would start from zero here
    for i in range(15, 30):
        await restarted.enqueue(Destination("dingtalk", "robot", "ops"), Reply(f"推送 {i}"))
    assert await restarted.drain() == 5  # 20 in the minute, the rest wait for the window
    robot_sends = [s for s in fake.sent if s.kind == "robot"]
    assert len(robot_sends) == 20 and not [r for r in fake.refused if r[0] == "robot"]  # never throttled (130101)
    with Session(engine) as s:
        pending = s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).scalars().all()
    assert len(pending) == 10 and all(r.next_attempt_at is not None for r in pending)
    for sender in opened:
        await sender.close()


async def test_a_stream_frame_not_stored_is_not_acked_and_its_redelivery_gets_through(fake):
    from bot.adapters import dingtalk_stream
    from bot.web.dispatch import Unavailable

    got: list[IncomingMessage] = []
    down = [True]

    def submit(msg: IncomingMessage) -> bool:
        if down[0]:
            raise Unavailable("inbox unavailable")  # what the dispatcher raises when the database is down
        got.append(msg)
        return True

    settings = DingTalkSettings(app_key=fake.app_key, app_secret=fake.app_secret, robot_code=fake.robot_code,
                                api_base=fake.base_url, oapi_base=fake.base_url, mode="stream")
    bridge = dingtalk_stream.StreamBridge(settings, submit)
    bridge.start()
    try:
        await asyncio.wait_for(fake.stream.connected.wait(), 10)
        frame = {"specVersion": "1.0", "type": "CALLBACK",
                 "headers": {"messageId": "frame-1", "topic": dingtalk_stream.ROBOT_TOPIC,
                             "contentType": "application/json"},
                 "data": json.dumps(callback_payload(fake, "/帮助"))}

        def acks() -> list[dict]:
            return [a for a in fake.stream.acks if a["headers"]["messageId"] == "frame-1"]

        await fake.stream.sockets[-1].send_json(frame)
        await fake.wait_for(lambda: len(acks()) == 1)
        assert acks()[0]["code"] != 200 and got == []  # not stored: not acknowledged as received
        down[0] = False
        await fake.stream.sockets[-1].send_json(frame)  # DingTalk delivers it again
        await fake.wait_for(lambda: len(acks()) == 2)
        assert acks()[1]["code"] == 200 and [m.text for m in got] == ["/帮助"]
    finally:
        await bridge.stop()


async def test_an_inbox_outage_is_retryable_where_the_vendor_retries_and_answered_from_memory_on_dingtalk(aiohttp_client, engine, fake, tmp_path):
    from sqlalchemy.exc import OperationalError

    from bot.web.context import CONTEXT

    settings = settings_for(fake, tmp_path)
    bot = Gate(engine)
    app = create_app(bot, settings, senders={"dingtalk": DingTalkSender(settings.dingtalk)})
    inbox = app[CONTEXT].dispatcher.inbox

    def down(_msg):  # noqa: ANN001, ANN202 - the database is unreachable
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    inbox.accept = down
    client = await aiohttp_client(app)
    p = callback_payload(fake, "/满意度")
    resp = await client.post("/dingtalk/callback", data=body(p), headers=signed_headers(fake.app_secret))
    # DingTalk does not redeliver a robot callback: taken from memory (200) and answered, not dropped
    assert resp.status == 200 and (await resp.json())["errmsg"] == "ok"
    again = await client.post("/dingtalk/callback", data=body(p), headers=signed_headers(fake.app_secret))
    assert again.status == 409  # a retry of it in this process is still a duplicate
    resp = await client.post("/feishu/callback", data=feishu_event(7), headers={"Content-Type": "application/json"})
    assert resp.status == 503  # Feishu redelivers: not stored, so not taken
    await asyncio.sleep(0.1)
    assert bot.started == 1 and count(engine, InboxMessage) == 0  # the DingTalk command only
    bot.release.set()
    await fake.wait_for(lambda: any("答复" in s.markdown for s in fake.sent), within=10)
