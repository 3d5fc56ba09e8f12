"""The outbox end to end, on SQLite and PostgreSQL, against the fake WeCom and Feishu servers.

Retries, rate limits, dedup, mutes, ordering and restarts are driven by a fake clock shared by the
outbox and the fake vendors; nothing here waits on wall-clock time.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image
from pydantic import SecretStr
from sqlmodel import Session, select

from analytics.store.outbox import OutboxMessage
from bot.adapters.base import Destination
from bot.adapters.feishu import FeishuSender
from bot.adapters.wecom_api import WeComSender
from bot.config import DeliveryMute, DeliverySettings, FeishuRobot, FeishuSettings, WeComRobot, WeComSettings
from bot.delivery.outbox import Outbox
from handlers.base import Chart, Reply
from tests.fakes.feishu_server import FakeFeishu
from tests.fakes.wecom_server import FakeWeCom

ROBOT = Destination("wecom", "robot", "ops")
USER = Destination("wecom", "user", "LiSi")
FEISHU = Destination("feishu", "robot", "ops")
WECOM_KEY = "robot-key-aaaa-1111"


class FakeClock:
    def __init__(self):
        self.t = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def epoch(self) -> float:
        return self.t.timestamp()

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
async def wecom(clock):
    server = FakeWeCom(clock=clock.epoch)
    async with server:
        yield server


@pytest.fixture
async def feishu(clock):
    server = FakeFeishu(clock=clock.epoch)
    async with server:
        yield server


@pytest.fixture
async def senders(wecom, feishu, clock):
    made = {
        "wecom": WeComSender(WeComSettings(corp_id=wecom.corp_id, secret=SecretStr(wecom.secret),
                                           agent_id=wecom.agent_id, api_base=wecom.base_url,
                                           robots=[WeComRobot(name="ops", webhook=SecretStr(wecom.webhook_url()))])),
        "feishu": FeishuSender(FeishuSettings(robots=[FeishuRobot(name="ops", webhook=SecretStr(feishu.hook_url()),
                                                                  secret=SecretStr("SEC-demo-1"))]),
                               clock=clock.epoch),
    }
    yield made
    for s in made.values():
        await s.close()


SETTINGS = DeliverySettings(max_attempts=4, backoff_base_seconds=2, backoff_max_seconds=120, jitter=0.2,
                            dedup_window_seconds=3600)


@pytest.fixture
def make_outbox(engine, senders, clock):
    def make(**overrides):
        settings = SETTINGS.model_copy(update=overrides)
        return Outbox(engine, senders, clock, settings=settings, rng=random.Random(1))
    return make


def rows(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


async def test_enqueue_then_drain_sends_once(make_outbox, wecom, engine):
    outbox = make_outbox()
    await outbox.enqueue(ROBOT, Reply("昨日投诉 3 件", title="日报"), dedup_key="digest:2026-11-24")
    assert outbox.pending_count() == 1  # persisted before any send
    assert await outbox.drain() == 1
    assert wecom.texts() == ["**日报**\n昨日投诉 3 件"]
    [row] = rows(engine)
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 0, True)
    assert await outbox.drain() == 0 and len(wecom.sent) == 1


async def test_restart_loses_nothing(engine, senders, clock, wecom, tmp_path):
    chart = tmp_path / "charts" / "trend.png"
    chart.parent.mkdir()
    Image.fromarray(np.full((10, 10, 3), 90, dtype=np.uint8)).save(chart)
    first = Outbox(engine, senders, clock, settings=SETTINGS)
    await first.enqueue(ROBOT, Reply("重启前排队的消息", charts=[Chart(chart, "趋势")]))
    await first.enqueue(USER, Reply("给李四的回复"))
    del first  # the process stops before the worker ran
    assert wecom.sent == []
    [stored, _] = rows(engine)
    assert stored.charts == [{"path": str(chart), "title": "趋势"}]  # charts are kept by path
    second = Outbox(engine, senders, clock, settings=SETTINGS)
    assert await second.drain() == 2
    robot = [s.body["msgtype"] for s in wecom.sent if s.key]
    app = [s.body["text"]["content"] for s in wecom.sent if not s.key]
    assert robot == ["markdown", "image"] and app == ["给李四的回复"]
    assert "重启前排队的消息" in wecom.texts()


async def test_5xx_is_retried_with_backoff(make_outbox, wecom, clock, engine):
    outbox = make_outbox()
    wecom.fail_next(2, status=502)
    await outbox.enqueue(ROBOT, Reply("告警：投诉激增"))
    assert await outbox.drain() == 0
    [row] = rows(engine)
    assert row.status == "pending" and row.attempts == 1 and "HTTP 502" in row.last_error
    first_retry = row.next_attempt_at
    assert timedelta(seconds=2) <= first_retry - clock() <= timedelta(seconds=2.4)
    clock.advance(1)
    assert await outbox.drain() == 0 and rows(engine)[0].attempts == 1  # not due yet: untouched
    clock.advance(2)
    assert await outbox.drain() == 0 and rows(engine)[0].attempts == 2  # second 502, longer wait
    assert rows(engine)[0].next_attempt_at - clock() >= timedelta(seconds=4)
    clock.advance(5)
    assert await outbox.drain() == 1
    assert wecom.texts() == ["告警：投诉激增"] and rows(engine)[0].status == "sent"


async def test_rate_limit_code_honours_retry_after(make_outbox, wecom, clock, engine):
    outbox = make_outbox()
    wecom.fail_next(body={"errcode": 45009, "errmsg": "api freq out of limit"})
    await outbox.enqueue(ROBOT, Reply("x"))
    await outbox.drain()
    clock.advance(30)
    await outbox.drain()
    assert wecom.sent == []  # 45009 asks for a minute; the 2 s backoff is not enough
    clock.advance(31)
    await outbox.drain()
    assert wecom.texts() == ["x"]


async def test_4xx_is_permanent_and_not_retried(make_outbox, wecom, clock, engine):
    outbox = make_outbox()
    wecom.fail_next(body={"errcode": 40058, "errmsg": "invalid parameter"})
    await outbox.enqueue(ROBOT, Reply("x"))
    assert await outbox.drain() == 1
    requests = wecom.requests
    clock.advance(3600)
    await outbox.drain()
    [row] = rows(engine)
    assert row.status == "failed" and row.attempts == 1 and "40058" in row.last_error
    assert wecom.requests == requests and wecom.sent == []


async def test_gives_up_after_max_attempts(make_outbox, wecom, clock, engine):
    outbox = make_outbox()
    wecom.fail_next(10, status=503)
    await outbox.enqueue(ROBOT, Reply("x"))
    for _ in range(6):
        await outbox.drain()
        clock.advance(200)
    [row] = rows(engine)
    assert row.status == "failed" and row.attempts == 4 and wecom.requests == 4


async def test_no_duplicates(make_outbox, wecom, clock, engine):
    outbox = make_outbox()
    await outbox.enqueue(ROBOT, Reply("日报"), dedup_key="digest:11-24")
    await outbox.enqueue(ROBOT, Reply("日报"), dedup_key="digest:11-24")  # still pending: dropped
    await outbox.drain()
    await outbox.enqueue(ROBOT, Reply("日报"), dedup_key="digest:11-24")  # sent 0 s ago: duplicate
    await outbox.drain()
    await outbox.enqueue(Destination("wecom", "robot", "ops2"), Reply("日报"), dedup_key="digest:11-24")
    clock.advance(3601)
    await outbox.enqueue(ROBOT, Reply("日报"), dedup_key="digest:11-24")  # window passed: sent again
    await outbox.drain()
    assert [r.status for r in rows(engine)] == ["sent", "duplicate", "failed", "sent"]
    assert wecom.texts() == ["日报", "日报"]  # "ops2" has no [[wecom.robots]] entry: failed, not sent


async def test_parts_are_not_repeated_after_a_failure(make_outbox, wecom, clock, engine):
    outbox = make_outbox()
    lines = [f"第{i}行 客服回复满意度统计明细" for i in range(400)]
    reply = Reply("\n".join(lines))
    await outbox.enqueue(ROBOT, reply)
    # The fake answers 200 to the first part, then 500 once: inject by pre-queueing failures after one success
    wecom.failures.clear()
    orig_injected = wecom.injected
    state = {"n": 0}

    def injected():
        state["n"] += 1
        if state["n"] == 2:
            wecom.fail_next(status=500)
        return orig_injected()

    wecom.injected = injected
    await outbox.drain()
    [row] = rows(engine)
    assert row.status == "pending" and row.parts_sent == 1 and row.attempts == 1
    clock.advance(10)
    await outbox.drain()
    texts = wecom.texts()
    assert "\n".join(texts).splitlines() == lines  # every line once, in order: no part repeated
    assert rows(engine)[0].status == "sent"


async def test_client_side_rate_limit_wecom_20_per_minute(make_outbox, wecom, clock, engine):
    outbox = make_outbox()
    for i in range(25):
        await outbox.enqueue(ROBOT, Reply(f"消息{i}"))
    await outbox.drain()
    assert len(wecom.sent) == 20  # the 21st waits for the window instead of provoking 45009
    assert rows(engine)[20].last_error is None and rows(engine)[20].attempts == 0
    clock.advance(60)
    await outbox.drain()
    assert wecom.texts() == [f"消息{i}" for i in range(25)]  # in order, none rejected by the vendor


async def test_client_side_rate_limit_feishu_5_per_second(make_outbox, feishu, clock, engine):
    outbox = make_outbox()
    for i in range(12):
        await outbox.enqueue(FEISHU, Reply(f"f{i}"))
    await outbox.drain()
    assert len(feishu.hooked) == 5
    for _ in range(3):
        clock.advance(1)
        await outbox.drain()
    assert feishu.texts() == [f"f{i}" for i in range(12)]


async def test_a_waiting_destination_does_not_block_others(make_outbox, wecom, feishu, clock, engine):
    outbox = make_outbox()
    wecom.fail_next(status=500)
    await outbox.enqueue(ROBOT, Reply("w1"))
    await outbox.enqueue(ROBOT, Reply("w2"))  # same destination: waits behind w1 to keep order
    await outbox.enqueue(FEISHU, Reply("f1"))
    await outbox.drain()
    assert wecom.texts() == [] and feishu.texts() == ["f1"]
    clock.advance(5)
    await outbox.drain()
    assert wecom.texts() == ["w1", "w2"]


async def test_mutes(make_outbox, wecom, engine):
    # 09:00 UTC is 17:00 in Shanghai
    outbox = make_outbox(mutes=[DeliveryMute(destination="wecom:robot:*", start="16:00", end="18:00")])
    await outbox.enqueue(ROBOT, Reply("静默中"))
    await outbox.enqueue(USER, Reply("不受影响"))
    await outbox.drain()
    assert [r.status for r in rows(engine)] == ["muted", "sent"]
    assert wecom.texts() == ["不受影响"]


async def test_secrets_never_in_logs_or_rows(make_outbox, wecom, clock, engine, caplog):
    caplog.set_level(logging.DEBUG)
    outbox = make_outbox()
    wecom.fail_next(status=500)
    wecom.fail_next(body={"errcode": 93000, "errmsg": f"invalid webhook url, key={WECOM_KEY}"})
    await outbox.enqueue(ROBOT, Reply("x"))
    await outbox.enqueue(USER, Reply("y"))
    await outbox.drain()
    clock.advance(10)
    await outbox.drain()
    stored = " ".join(str(r.last_error) for r in rows(engine))
    for secret in (WECOM_KEY, wecom.secret, *wecom.tokens):
        assert secret not in caplog.text
        assert secret not in stored
    assert "93000" in stored


async def test_worker_loop_delivers_and_stops(make_outbox, wecom, clock):
    import asyncio

    outbox = make_outbox(poll_seconds=0.05)
    task = asyncio.create_task(outbox.run())
    await outbox.enqueue(ROBOT, Reply("后台发送"))
    for _ in range(200):
        if wecom.sent:
            break
        await asyncio.sleep(0.01)
    outbox.stop()
    await asyncio.wait_for(task, 5)
    assert wecom.texts() == ["后台发送"]


async def test_missing_sender_fails_permanently(engine, clock):
    outbox = Outbox(engine, {}, clock, settings=SETTINGS)
    await outbox.enqueue(Destination("dingtalk", "robot", "ops"), Reply("x"))
    await outbox.drain()
    [row] = rows(engine)
    assert row.status == "failed" and "no sender" in row.last_error


async def test_worker_sleeps_while_a_destination_waits(engine, senders, wecom):
    """A head row deferred for a minute (rate limit) must not make the worker spin on the rows behind it."""
    import asyncio

    outbox = Outbox(engine, senders, settings=SETTINGS.model_copy(update={"poll_seconds": 5.0}))
    for i in range(22):  # 20 go out, the 21st waits ~60 s for the window, the 22nd waits behind it
        await outbox.enqueue(ROBOT, Reply(f"m{i}"))
    rounds = 0
    original = outbox._round_once

    async def counting():
        nonlocal rounds
        rounds += 1
        return await original()

    outbox._round_once = counting
    task = asyncio.create_task(outbox.run())
    for _ in range(300):
        if len(wecom.sent) >= 20:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    outbox.stop()
    await asyncio.wait_for(task, 5)
    assert len(wecom.sent) == 20
    assert rounds <= 3  # one round sends 20, then the worker sleeps until the window frees
