"""The FAQ refresh: recompute the /知识库 suggestions on a timer, so the chat command only reads stored rows.

Clustering a month of customer messages takes seconds to tens of seconds (docs/faq.md has the figures); a chat
command must answer at once. So the suggestions are computed here, on the scheduler's leader-only timed work
(:meth:`bot.jobs.scheduler.JobScheduler.add_timed`), every ``[faq] refresh_minutes``, first at start-up, and
stored by :func:`analytics.faq.ledger.refresh` (``faq_suggestions`` + the kept cluster state in ``faq_state``).
A run is incremental: questions seen before keep their cluster and extraction, only new ones go through
``ClusterIndex.assign`` (:mod:`analytics.faq.suggest`).

Each run takes the ``faq`` job lease (:mod:`bot.jobs.lease`): one replica computes at a time, even when a
follower is asked to refresh (``/知识库`` with nothing stored calls :meth:`FaqRefreshJob.trigger` on whichever
replica got the message). The work — database reads, extraction, clustering — runs in a worker thread, never on
the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from analytics.faq import ledger
from bot.config import Settings
from bot.jobs import lease
from handlers import knowledge
from handlers.base import Services

log = logging.getLogger(__name__)

LEASE = "faq"
JOB_ID = "faq.refresh"
#: A run that takes longer than this (a first fit over a large history) may be joined by another replica; both
#: write whole runs in one transaction each, so the later one simply wins.
LEASE_FOR = timedelta(minutes=30)


class FaqRefreshJob:
    """One replica's FAQ refresh; :meth:`tick` is the scheduled coroutine, :meth:`trigger` a refresh now."""

    def __init__(self, settings: Settings, engine: Engine, services: Services, owner: str,
                 clock: Callable[[], datetime] | None = None):
        self.settings, self.engine, self.services, self.owner = settings, engine, services, owner
        self.clock = clock or (lambda: datetime.now(settings.tz))
        self.last_seconds: float | None = None  # how long the last run on this replica took
        self._tasks: set[asyncio.Task] = set()

    async def tick(self) -> str:
        try:
            run = await asyncio.to_thread(self.run_once)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: the next interval tries again
            log.exception("faq refresh failed; trying again in %d min", self.settings.faq.refresh_minutes)
            return "failed"
        if run is not None:
            log.info("faq refresh: %d suggestions from %d questions in %.1f s (%s)", run.qualified,
                     run.current_questions, self.last_seconds or 0.0, "fitted" if run.fitted else "incremental")
        return "ok"

    def run_once(self) -> ledger.Run | None:
        """Recompute and store the suggestions while holding the lease; None when another replica is at it."""
        now = self.clock()
        if lease.acquire(self.engine, LEASE, self.owner, now, LEASE_FOR) is None:
            return None
        started = time.perf_counter()
        try:
            run = knowledge.refresh_now(self.services, now, knowledge.FaqOptions.of(self.services))
        except BaseException:
            lease.release_now(self.engine, LEASE, self.owner, self.clock())
            raise
        self.last_seconds = time.perf_counter() - started
        with Session(self.engine) as session:
            lease.release(session, LEASE, self.owner, self.clock(), ran=True)
            session.commit()
        return run

    def trigger(self) -> bool:
        """Start a refresh in the background now (a chat found nothing stored); False when one is running here."""
        if self._tasks:
            return False
        task = asyncio.get_running_loop().create_task(self.tick(), name="faq refresh")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True


def install(jobs, settings: Settings, engine: Engine, services: Services, owner: str) -> FaqRefreshJob:  # noqa: ANN001
    """Add the refresh to the scheduler's leader-only jobs (first run at start-up) and let ``/知识库`` trigger it."""
    job = FaqRefreshJob(settings, engine, services, owner)
    jobs.add_timed(JOB_ID, "faq refresh", job.tick, settings.faq.refresh_minutes * 60.0)
    services.extra[knowledge.REFRESH_HOOK] = job.trigger
    return job
