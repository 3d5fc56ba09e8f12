"""The daily ``[retention]`` sweep: delete rows older than each kind's days, on one replica.

Registered on the scheduler's leader-only timed work (:meth:`bot.jobs.scheduler.JobScheduler.add_timed`),
checked every :data:`CHECK_SECONDS`. Each check takes the ``retention`` job lease (:mod:`bot.jobs.lease`),
so one replica sweeps even if two think they lead for a moment; the lease's ``last_run_at`` is when the
last sweep finished, on any replica, and :func:`analytics.privacy.due` decides from it and ``now``
whether today's sweep (at ``[retention] sweep_time``, local) is still to do. The sweep itself is
:func:`analytics.privacy.sweep` — batches of one transaction each, rollups kept exact — in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from analytics.privacy import due, sweep
from bot.config import Settings
from bot.jobs import lease

log = logging.getLogger(__name__)

LEASE = "retention"
JOB_ID = "retention.tick"
CHECK_SECONDS = 600.0
#: A sweep that takes longer than this (a first sweep over years of rows) may be joined by another replica;
#: batches are transactions, so two sweeps delete each row once and keep the rollups exact anyway.
LEASE_FOR = timedelta(hours=6)


def retention_days(settings: Settings) -> dict[str, int]:
    """Days per kind from ``[retention]`` (0 = keep forever)."""
    r = settings.retention
    return {"conversations": r.conversations, "messages": r.messages, "complaints": r.complaints,
            "orders": r.orders, "returns": r.returns, "reviews": r.reviews, "audit_log": r.audit_log}


def enabled(settings: Settings) -> bool:
    return any(days > 0 for days in retention_days(settings).values())


class RetentionJob:
    """One replica's retention check; :meth:`tick` is the scheduled coroutine."""

    def __init__(self, settings: Settings, engine: Engine, owner: str, clock: Callable[[], datetime] | None = None):
        self.settings, self.engine, self.owner = settings, engine, owner
        self.clock = clock or (lambda: datetime.now(settings.tz))

    async def tick(self) -> str:
        try:
            outcome = await asyncio.to_thread(self.run_once)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: the next check tries again
            log.exception("retention sweep failed; trying again in %gs", CHECK_SECONDS)
            return "failed"
        if outcome:
            log.info("retention sweep: %s", outcome)
        return "ok"

    def run_once(self) -> dict[str, int] | None:
        """Sweep when due and this replica holds the lease; rows deleted per kind, None when not swept."""
        now = self.clock()
        last = lease.acquire(self.engine, LEASE, self.owner, now, LEASE_FOR)
        if last is None:
            return None  # another replica is sweeping
        if not due(now, last, self.settings.retention.sweep_time, self.settings.tz):
            lease.release_now(self.engine, LEASE, self.owner, now)
            return None
        try:
            deleted = sweep(self.engine, retention_days(self.settings), now)
        except BaseException:
            lease.release_now(self.engine, LEASE, self.owner, self.clock())
            raise
        with Session(self.engine) as session:
            lease.release(session, LEASE, self.owner, self.clock(), ran=True)
            session.commit()
        return deleted


def install(jobs, settings: Settings, engine: Engine, owner: str) -> RetentionJob | None:  # noqa: ANN001
    """Add the daily sweep to the scheduler's leader-only jobs when any ``[retention]`` days are set."""
    if not enabled(settings):
        return None
    job = RetentionJob(settings, engine, owner)
    jobs.add_timed(JOB_ID, "retention sweep", job.tick, CHECK_SECONDS)
    return job
