"""The digest job with an injected clock, on a real SQLite file and PostgreSQL, delivering to the fake
DingTalk: sent once at its time, once with two replicas on one database, once after downtime within the
misfire grace and never beyond it, retried (bounded) while the database is down, a dead replica's
claim taken over after its lease, chat subscriptions (工作日 across 国庆, pause/resume/edit/unsubscribe,
non-admins refused) — all through the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from analytics.store import make_engine as raw_engine
from analytics.store.audit import AuditEntry
from analytics.store.digests import DigestRun
from analytics.store.outbox import OutboxMessage
from bot.access import AccessPolicy
from bot.adapters.base import Destination
from bot.adapters.dingtalk_sender import DingTalkSender
from bot.app import Bot
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.jobs import runs
from bot.jobs.digests import DigestJob, config_key, services_for
from handlers.base import Reply
from tests.fakes.dingtalk_server import FakeDingTalk

TZ = ZoneInfo("Asia/Shanghai")
ADMIN = "lead01"


class Clock:
    def __init__(self, start: datetime):
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def utc(self) -> datetime:
        return self.t.astimezone(UTC)

    def set(self, *args: int) -> None:
        self.t = datetime(*args, tzinfo=TZ)


@pytest.fixture
async def fake():
    async with FakeDingTalk() as server:
        server.add_robot("tok-ops")
        yield server


def settings_for(fake: FakeDingTalk, tmp_path, **digests) -> Settings:
    return Settings(
        general={"data_dir": str(tmp_path)},
        dingtalk={"app_key": fake.app_key, "app_secret": fake.app_secret, "robot_code": fake.robot_code,
                  "api_base": fake.base_url, "oapi_base": fake.base_url,
                  "robots": [{"name": "ops", "webhook": f"{fake.base_url}/robot/send?access_token=tok-ops"}]},
        access={"admins": [ADMIN], "user_rate_per_minute": 0},
        digests={"targets": ["dingtalk:ops"], **digests},
    )


class Replica:
    """What one ``csbot serve`` runs for digests: an outbox worker and the digest job, own replica id."""

    def __init__(self, settings: Settings, engine, clock: Clock, name: str):
        self.sender = DingTalkSender(settings.dingtalk)
        self.outbox = Outbox(engine, {"dingtalk": self.sender}, clock.utc, settings=settings.delivery, tz=TZ,
                             owner=name)
        self.job = DigestJob(settings, engine, self.outbox, services_for(settings, engine), clock=clock)

    async def tick_and_send(self) -> int:
        await self.job.tick()
        return await self.outbox.drain()

    async def close(self) -> None:
        await self.sender.close()


@pytest.fixture
async def make_replica(engine):
    made: list[Replica] = []

    def make(settings: Settings, clock: Clock, name: str = "r1", on=None) -> Replica:
        replica = Replica(settings, on or engine, clock, name)
        made.append(replica)
        return replica
    yield make
    for replica in made:
        await replica.close()


def digests(fake: FakeDingTalk) -> list[str]:
    return [s.markdown for s in fake.sent if "日报" in s.markdown or "周报" in s.markdown]


def run_rows(engine, *, skipped: bool = False) -> list[DigestRun]:
    """The run log, without the skipped rows unless asked (a fresh start records yesterday's 09:00, when
    no replica ran, as missed beyond the grace)."""
    with Session(engine) as s:
        rows = list(s.exec(select(DigestRun).order_by(DigestRun.id)).all())
    return rows if skipped else [r for r in rows if r.status != "skipped"]


async def test_sent_once_at_its_time(engine, fake, tmp_path, make_replica):
    clock = Clock(datetime(2026, 10, 8, 8, 59, 50, tzinfo=TZ))
    replica = make_replica(settings_for(fake, tmp_path), clock)
    assert await replica.tick_and_send() == 0 and fake.sent == []
    clock.set(2026, 10, 8, 9, 0, 0)
    assert await replica.tick_and_send() == 1
    [text] = digests(fake)
    assert "10月7日" in text  # a 日报 covers yesterday
    for minute in (0, 1, 30):
        clock.set(2026, 10, 8, 9, minute, 30)
        assert await replica.tick_and_send() == 0
    assert len(fake.sent) == 1
    [run] = run_rows(engine)
    assert (run.status, run.day, run.attempts, run.owner) == ("queued", date(2026, 10, 7), 1, "r1")
    clock.set(2026, 10, 9, 9, 0, 5)
    assert await replica.tick_and_send() == 1 and "10月8日" in digests(fake)[-1]


async def test_two_replicas_on_one_database_send_once(engine, fake, tmp_path, make_replica):
    clock = Clock(datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    settings = settings_for(fake, tmp_path)
    a, b = make_replica(settings, clock, "a"), make_replica(settings, clock, "b")
    for _ in range(3):
        await asyncio.gather(a.job.tick(), b.job.tick())
        await asyncio.gather(a.outbox.drain(), b.outbox.drain())
    assert len(digests(fake)) == 1
    [run] = run_rows(engine)
    assert run.status == "queued"
    with Session(engine) as s:
        [row] = s.exec(select(OutboxMessage)).all()
    assert row.status == "sent"


async def test_misfire_within_the_grace_is_sent_once_beyond_it_skipped(engine, fake, tmp_path, make_replica):
    settings = settings_for(fake, tmp_path, misfire_grace_seconds=1800)
    clock = Clock(datetime(2026, 10, 8, 9, 29, 0, tzinfo=TZ))  # back 29 minutes after 09:00
    replica = make_replica(settings, clock)
    assert await replica.tick_and_send() == 1
    clock.set(2026, 10, 8, 9, 29, 40)
    assert await replica.tick_and_send() == 0
    # The next day the bot is down until 09:31: beyond the 30-minute grace, so 10-08's 日报 is skipped.
    clock.set(2026, 10, 9, 9, 31, 0)
    assert await replica.tick_and_send() == 0
    clock.set(2026, 10, 9, 23, 0, 0)
    assert await replica.tick_and_send() == 0
    assert len(digests(fake)) == 1
    skipped = run_rows(engine, skipped=True)[-1]
    assert (skipped.day, skipped.status) == (date(2026, 10, 8), "skipped") and "grace" in skipped.last_error
    # Down three days: only the latest fire time counts (coalesced), sent once.
    clock.set(2026, 10, 12, 9, 10, 0)
    assert await replica.tick_and_send() == 1
    assert [r.day for r in run_rows(engine) if r.status == "queued"] == [date(2026, 10, 7), date(2026, 10, 11)]


async def test_database_down_is_retried_then_given_up_never_half_sent(engine, fake, tmp_path, make_replica, caplog):
    settings = settings_for(fake, tmp_path, retry_seconds=60, max_attempts=3)
    clock = Clock(datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    replica = make_replica(settings, clock)
    dead = raw_engine("postgresql://postgres@127.0.0.1:9/nowhere")  # nothing listens on port 9
    replica.job.services = services_for(settings, dead)
    assert await replica.tick_and_send() == 0
    [run] = run_rows(engine)
    assert (run.status, run.attempts) == ("retry", 1) and run.last_error.startswith("database unavailable")
    clock.set(2026, 10, 8, 9, 0, 30)  # before the retry time: nothing
    assert await replica.tick_and_send() == 0 and run_rows(engine)[0].attempts == 1
    clock.set(2026, 10, 8, 9, 1, 1)
    assert await replica.tick_and_send() == 0 and run_rows(engine)[0].attempts == 2
    replica.job.services = services_for(settings, engine)  # the database is back
    clock.set(2026, 10, 8, 9, 2, 2)
    assert await replica.tick_and_send() == 1
    [run] = run_rows(engine)
    assert (run.status, run.attempts, run.last_error) == ("queued", 3, None)
    assert len(digests(fake)) == 1
    # Down for good the next day: 3 attempts, then given up with the reason in the log; nothing sent.
    replica.job.services = services_for(settings, dead)
    for second in (0, 61, 122, 183, 244):
        clock.t = datetime(2026, 10, 9, 9, 0, tzinfo=TZ) + timedelta(seconds=second)
        await replica.tick_and_send()
    last = run_rows(engine)[-1]
    assert (last.day, last.status, last.attempts) == (date(2026, 10, 8), "failed", 3)
    assert any("gave up" in r.getMessage() for r in caplog.records)
    assert len(digests(fake)) == 1
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


async def test_a_dead_replicas_claim_is_taken_over_after_its_lease(engine, fake, tmp_path, make_replica):
    settings = settings_for(fake, tmp_path, claim_lease_seconds=300)
    clock = Clock(datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    key = config_key("日报", ["dingtalk:ops"], {}, None)
    # Replica "dead" claimed the digest at 09:00 and was killed while building it.
    stale = runs.claim(engine, key, date(2026, 10, 7), "日报", clock(), "dead", clock(), timedelta(seconds=300), 5)
    assert stale is not None
    replica = make_replica(settings, clock, "alive")
    clock.set(2026, 10, 8, 9, 4, 59)
    assert await replica.tick_and_send() == 0  # the lease still holds
    clock.set(2026, 10, 8, 9, 5, 1)
    assert await replica.tick_and_send() == 1
    [run] = run_rows(engine)
    assert (run.owner, run.attempts, run.status) == ("alive", 2, "queued")
    # The dead replica comes back and finishes its build: its claim is gone, so it queues nothing.
    late = await replica.outbox.enqueue_guarded([(Destination("dingtalk", "robot", "ops"), Reply("日报 重复"))],
                                                lambda session: runs.finish(session, stale, clock()))
    assert late is False and await replica.outbox.drain() == 0
    assert len(digests(fake)) == 1


async def test_chat_subscriptions_workdays_across_national_day(engine, fake, tmp_path, make_replica):
    settings = settings_for(fake, tmp_path)
    settings.digests.targets = []  # only the chat subscription
    clock = Clock(datetime(2026, 9, 29, 18, 0, tzinfo=TZ))
    bot = Bot(settings, engine, clock=clock, access=AccessPolicy(settings.access, engine))
    reply = await bot.ask("/订阅 日报 工作日 8:30 渠道=淘宝", user_id=ADMIN, chat_id="cidOps", platform="dingtalk",
                          is_private=False)
    assert reply.ok and reply.text.startswith("已订阅 #1：日报 · 工作日 08:30 · 渠道=淘宝"), reply.text
    assert "下次 09-30 周三 08:30" in reply.text
    replica = make_replica(settings, clock)
    day = datetime(2026, 9, 30, 8, 30, tzinfo=TZ)
    while day.date() <= date(2026, 10, 12):
        clock.t = day
        await replica.tick_and_send()
        clock.t = day + timedelta(hours=3)
        await replica.tick_and_send()
        day += timedelta(days=1)
    groups = fake.sent_to("group")
    assert {s.target for s in groups} == {"cidOps"}
    sent_days = [r.day for r in run_rows(engine) if r.status == "queued"]
    # Covered days = the day before each working day: 09-30, 10-08, 10-09, 10-10 (调休 Saturday), 10-12.
    assert sent_days == [date(2026, 9, 29), date(2026, 10, 7), date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 11)]
    assert len(groups) == 5 and all("淘宝" in s.markdown for s in groups)


async def _ask(bot: Bot, text: str, user: str = ADMIN, chat: str = "cidOps"):
    return await bot.ask(text, user_id=user, chat_id=chat, platform="dingtalk", is_private=False)


async def test_pause_resume_edit_unsubscribe_and_refusals(engine, fake, tmp_path, make_replica):
    settings = settings_for(fake, tmp_path)
    clock = Clock(datetime(2026, 10, 12, 8, 0, tzinfo=TZ))
    bot = Bot(settings, engine, clock=clock, access=AccessPolicy(settings.access, engine))
    refused = await _ask(bot, "/订阅 周报 周一 9:30", user="agent7")
    assert not refused.ok and "只有管理员" in refused.text
    for text in ("/订阅列表", "/暂停 1", "/恢复 1", "/退订 1", "/订阅 修改 1 10:00"):
        assert "只有管理员" in (await _ask(bot, text, user="agent7")).text
    created = await _ask(bot, "/订阅 周报 周一 9:30")
    assert created.ok and "#1" in created.text
    listing = (await _ask(bot, "/订阅列表")).text
    assert "#1 周报 · 周一 09:30 · 下次 10-12 周一 09:30" in listing
    assert "· 日报 · 每天 09:00 → dingtalk:ops（配置文件）" in listing
    other_chat = await _ask(bot, "/暂停 1", chat="cidOther")
    assert not other_chat.ok and "本群没有编号 1" in other_chat.text
    assert (await _ask(bot, "/暂停 1")).text.startswith("已暂停 #1")
    replica = make_replica(settings, clock)
    clock.set(2026, 10, 12, 9, 30, 5)
    await replica.tick_and_send()
    assert fake.sent_to("group") == []  # paused (the config 日报 went to the robot)
    assert (await _ask(bot, "/恢复 1")).ok
    clock.set(2026, 10, 12, 9, 31, 0)
    await replica.tick_and_send()
    assert len(fake.sent_to("group")) == 1  # resumed within the grace: last week's 周报, once
    edited = await _ask(bot, "/订阅 修改 1 10:00 工作日 渠道=京东")
    assert edited.text.startswith("已修改 #1：周报 · 工作日 10:00 · 渠道=京东"), edited.text
    clock.set(2026, 10, 13, 10, 0, 1)
    await replica.tick_and_send()
    assert len(fake.sent_to("group")) == 1  # a 周报 covers a week: already sent for last week
    clock.set(2026, 10, 19, 10, 0, 1)
    await replica.tick_and_send()
    assert len(fake.sent_to("group")) == 2 and "京东" in fake.sent_to("group")[-1].markdown
    cleared = await _ask(bot, "/订阅 修改 1 筛选=无")
    assert cleared.text.startswith("已修改 #1：周报 · 工作日 10:00，"), cleared.text
    assert (await _ask(bot, "/退订 1")).text.startswith("已退订 #1")
    assert "还没有" in (await _ask(bot, "/订阅列表")).text
    clock.set(2026, 10, 26, 10, 0, 1)
    await replica.tick_and_send()
    assert len(fake.sent_to("group")) == 2
    with Session(engine) as s:
        changes = [a.result for a in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
                   if a.result not in ("ok",) and a.user_id == ADMIN and "#1" in a.result]
    assert changes == ["新订阅 #1：周报 · 周一 09:30", "暂停 #1：周报 · 周一 09:30", "恢复 #1：周报 · 周一 09:30",
                       "修改 #1：周报 · 周一 09:30 → 周报 · 工作日 10:00 · 渠道=京东",
                       "修改 #1：周报 · 工作日 10:00 · 渠道=京东 → 周报 · 工作日 10:00",
                       "退订 #1：周报 · 工作日 10:00"]


async def test_subscription_input_errors_are_chinese(engine, fake, tmp_path):
    settings = settings_for(fake, tmp_path)
    bot = Bot(settings, engine, clock=lambda: datetime(2026, 10, 12, 8, tzinfo=TZ),
              access=AccessPolicy(settings.access, engine))
    for text, expected in (("/订阅 每天 9:00", "日报还是周报"), ("/订阅 日报 每天 25:00", "不存在"),
                           ("/订阅 日报 每月 9:00", "看不懂"), ("/暂停", "订阅编号"), ("/退订 9", "本群没有编号 9"),
                           ("/订阅 修改 1", "要改什么")):
        reply = await _ask(bot, text)
        assert not reply.ok and expected in reply.text, (text, reply.text)
    # The command names are slash-only: a sentence with 暂停 in it is not /暂停.
    assert "暂停" not in (await _ask(bot, "昨天投诉暂停了吗")).text


async def test_a_slow_build_renews_its_lease_and_is_not_built_twice(engine, fake, tmp_path, make_replica):
    """A live replica whose build outlasts the lease (a busy machine) keeps renewing it: another replica
    ticking meanwhile does not take over, and the digest is built and sent once (attempts 1)."""
    settings = settings_for(fake, tmp_path, claim_lease_seconds=0.3)  # renewed every 0.1 s
    clock = Clock(datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    a, b = make_replica(settings, clock, "a"), make_replica(settings, clock, "b")
    release, building = asyncio.Event(), asyncio.Event()
    real_build = a.job._build

    async def slow_build(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        building.set()
        await release.wait()
        return await real_build(*args, **kwargs)

    a.job._build = slow_build
    first = asyncio.create_task(a.job.tick())
    await asyncio.wait_for(building.wait(), 10)
    for _ in range(10):  # 2.5 s of the clock pass while a builds: eight leases over
        clock.t += timedelta(seconds=0.25)
        await asyncio.sleep(0.15)  # a renews in the meantime
        await b.job.tick()
        [run] = run_rows(engine)
        assert (run.owner, run.status, run.attempts) == ("a", "building", 1)
    release.set()
    await asyncio.wait_for(first, 30)
    await a.outbox.drain()
    await b.outbox.drain()
    [run] = run_rows(engine)
    assert (run.owner, run.status, run.attempts) == ("a", "queued", 1)
    assert len(digests(fake)) == 1


async def test_a_lost_build_claim_is_not_renewed(engine, tmp_path):
    clock = Clock(datetime(2026, 10, 8, 9, 0, tzinfo=TZ))
    lease = timedelta(seconds=10)
    mine = runs.claim(engine, "k", date(2026, 10, 7), "日报", clock(), "a", clock(), lease, 5)
    assert runs.renew(engine, mine, clock(), lease) is True
    clock.set(2026, 10, 8, 9, 1, 0)  # a stalled past its lease: b takes over
    theirs = runs.claim(engine, "k", date(2026, 10, 7), "日报", clock(), "b", clock(), lease, 5)
    assert theirs is not None and theirs.attempt == 2
    assert runs.renew(engine, mine, clock(), lease) is False  # a's late renewal cannot steal it back
    [run] = run_rows(engine)
    assert (run.owner, run.attempts) == ("b", 2)
