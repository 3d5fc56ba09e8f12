"""The FAQ refresh job (``bot.jobs.faq``): runs on the scheduler's leader only (first at start-up), one replica at a
time through its lease, incrementally after the first fit; /知识库 reads what it stored and says when; with nothing
stored and no server job, /知识库 starts a refresh in a thread of its own and answers at once."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, timedelta

from sqlmodel import Session

from analytics.faq import ledger
from analytics.store.faq import FaqState
from bot.config import Settings
from bot.jobs import faq as faq_job
from bot.jobs import lease
from bot.jobs.scheduler import JobScheduler
from handlers import knowledge
from tests.test_faq_chat import FAQ, NOW, db, demo_db, ids, make_bot  # noqa: F401 - fixtures

SETTINGS = {"faq": FAQ, "server": {"leader_poll_seconds": 0.2}, "digests": {"enabled": False},
            "alerts": {"enabled": False}}


class Switch:
    """A leader lock a test turns on and off."""

    kind = "test"

    def __init__(self, leading: bool):
        self.replica, self.leading = "t", leading

    def is_leader(self) -> bool:
        return self.leading

    def check(self) -> bool:
        return self.leading

    def release(self) -> None:
        self.leading = False


async def wait_for(predicate, seconds: float = 300.0) -> None:  # noqa: ANN001
    for _ in range(int(seconds * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_runs_on_the_leader_only_first_at_start_up(db: str, tmp_path) -> None:  # noqa: F811
    bot = make_bot(db, tmp_path)
    switch = Switch(False)
    jobs = JobScheduler(Settings(**SETTINGS), None, None, leader=switch)
    job = faq_job.install(jobs, bot.settings, bot.engine, bot.services, "replica-a")
    job.clock = lambda: NOW
    assert bot.services.extra[knowledge.REFRESH_HOOK] == job.trigger
    try:
        await jobs.start()
        assert jobs.scheduler.get_job(faq_job.JOB_ID) is None  # a follower runs no refresh
        await asyncio.sleep(0.5)
        assert ledger.last_run(bot.engine) is None
        switch.leading = True
        await wait_for(lambda: jobs.is_leader)
        job_entry = jobs.scheduler.get_job(faq_job.JOB_ID)
        assert job_entry is not None and job_entry.trigger.interval == timedelta(minutes=FAQ["refresh_minutes"])
        await wait_for(lambda: ledger.last_run(bot.engine) is not None)  # the first tick runs at once
    finally:
        jobs.stop()
    run = ledger.last_run(bot.engine)
    assert run.fitted and run.computed_at == NOW.astimezone(UTC).isoformat()
    listing = await bot.ask("/知识库", user_id="lead")
    stored = ledger.listed(bot.engine, FAQ["regrow_factor"])
    assert ids(listing.text) == [r.id for r in stored][: FAQ["top_n"]]  # exactly the stored rows, in order
    assert f"截至 {NOW:%m-%d %H:%M} 的统计，每 {FAQ['refresh_minutes']} 分钟更新" in listing.text


async def test_chat_reads_the_stored_run_and_never_recomputes(db: str, tmp_path) -> None:  # noqa: F811
    bot = make_bot(db, tmp_path)
    job = faq_job.FaqRefreshJob(bot.settings, bot.engine, bot.services, "a", clock=lambda: NOW)
    first = job.run_once()
    with Session(bot.engine) as s:
        before = s.get(FaqState, ledger.STATE_NAME).updated_at
    for _ in range(3):
        await bot.ask("/知识库", user_id="lead")
    with Session(bot.engine) as s:
        assert s.get(FaqState, ledger.STATE_NAME).updated_at == before
    assert ledger.last_run(bot.engine) == first
    later = faq_job.FaqRefreshJob(bot.settings, bot.engine, bot.services, "a",
                                  clock=lambda: NOW + timedelta(hours=1)).run_once()
    assert later is not None and not later.fitted  # the second run assigns to the kept clusters
    assert later.current_questions == first.current_questions  # the same questions, each counted once


def test_one_replica_at_a_time_through_the_lease(db: str, tmp_path) -> None:  # noqa: F811
    bot = make_bot(db, tmp_path)
    assert lease.acquire(bot.engine, faq_job.LEASE, "b", NOW, faq_job.LEASE_FOR) is not None
    a = faq_job.FaqRefreshJob(bot.settings, bot.engine, bot.services, "a", clock=lambda: NOW)
    assert a.run_once() is None and ledger.last_run(bot.engine) is None  # b is computing
    lease.release_now(bot.engine, faq_job.LEASE, "b", NOW)
    assert a.run_once() is not None


async def test_without_a_server_job_the_chat_starts_a_refresh_thread(db: str, tmp_path) -> None:  # noqa: F811
    bot = make_bot(db, tmp_path)
    reply = await bot.ask("/知识库", user_id="lead")
    assert reply.text == knowledge.NOT_YET
    workers = [t for t in threading.enumerate() if t.name == "faq refresh"]
    assert len(workers) == 1 and not workers[0].daemon  # csbot ask finishes it before exiting
    await bot.ask("/知识库", user_id="lead")  # asked again meanwhile: no second run
    assert len([t for t in threading.enumerate() if t.name == "faq refresh"]) <= 1
    await asyncio.to_thread(workers[0].join, 600)
    listing = await bot.ask("/知识库", user_id="lead")
    assert ids(listing.text) and "截至" in listing.text
