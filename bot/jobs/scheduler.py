"""The scheduler inside ``csbot serve``: APScheduler's AsyncIOScheduler driving the digest and alert jobs.

Why the schedules live in csbot's own tables and not in APScheduler's ``SQLAlchemyJobStore``: the
APScheduler 3.x user guide says "job stores must never be shared between schedulers" — two replicas on
one job store may run a job twice or miss it, and neither learns of jobs another adds. So the
persistent state is the database csbot already has: ``digest_subscriptions`` (chat subscriptions),
the config file, and ``digest_runs`` (one row per digest and date, the once-only claim). Each replica's
scheduler holds only in-memory jobs that *look* at that state:

- ``digests.tick`` — an interval job every ``[digests] check_seconds``, first run at start-up (this is
  where a digest missed while the bot was down is sent, within ``misfire_grace_seconds``);
- ``digests.wake`` — a one-off date job at the next fire time over all plans, so a 09:00 digest is
  built at 09:00, not up to ``check_seconds`` later.

- ``alerts.tick`` — an interval job every ``[alerts] check_interval_seconds``, first run at start-up;
  ``alerts.poke`` — a one-off run now, added by :meth:`JobScheduler.poke_alerts` when an event-API
  batch lands (the alert job's lease makes a check on one replica at a time, see ``bot.jobs.alerts``);
  ``alerts.warm`` — every few hours, re-reads the alert baseline's hour counts in the background.
- ``retention.tick`` — every 10 minutes when ``[retention]`` sets any days, added with :meth:`JobScheduler.add_timed`
  (``bot.jobs.retention``): the daily sweep, once a day after ``sweep_time``, behind the ``retention`` job lease.
- ``faq.refresh`` — every ``[faq] refresh_minutes``, first run at start-up, added with :meth:`JobScheduler.add_timed`
  (``bot.jobs.faq``): recomputes the /知识库 suggestions behind the ``faq`` job lease; the chat only reads them.

All jobs use ``coalesce=True``, ``max_instances=1`` and the configured misfire grace; the tick itself
coalesces missed fire times (only the latest counts, see ``analytics.digests.schedule.due``).

**Leader only.** The timed jobs above run only on the replica that holds the leader lock
(:mod:`bot.jobs.leader`: a PostgreSQL advisory lock, a file lock next to a SQLite file). Every replica
runs one more job, ``leader.check``, every ``[server] leader_poll_seconds`` (never longer than the
shortest check interval): a follower that wins the lock adds the timed jobs (their first ticks run at
once, so a digest that fell due while the old leader was dying goes out now); a leader that lost its
lock removes them. A job already running when leadership is lost finishes; its database claim or
lease keeps it once-only if the new leader gets there too.

**Pokes on a follower evaluate anyway.** An event-API batch lands on whichever replica the load
balancer picked; :meth:`JobScheduler.poke_alerts` checks the alerts there and then, leader or not,
because the point of a poke is to page within seconds of the data, not at the leader's next interval.
The alert job lease (``bot.jobs.lease``) lets one check run at a time across replicas, so a poke on a
follower never doubles a page.

Each job function returns ``"ok"`` or ``"failed"`` (it logs its own failures and never raises), which
APScheduler hands to its listeners as the event's ``retval`` (``bot.web.metrics`` counts them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.jobs.alerts import AlertJob
from bot.jobs.digests import DigestJob
from bot.jobs.leader import AlwaysLeader, Leadership
from bot.logs import request_id

log = logging.getLogger(__name__)

TICK = "digests.tick"
WAKE = "digests.wake"
ALERT_TICK = "alerts.tick"
ALERT_POKE = "alerts.poke"
ALERT_WARM = "alerts.warm"
LEADER_CHECK = "leader.check"
#: How often the alert job re-reads its kept baseline hours in full, in the background (HourCache's
#: max_age is 6 h: checks never do it themselves).
ALERT_WARM_HOURS = 4


class JobScheduler:
    """Starts and stops the timed jobs of one ``csbot serve`` process."""

    def __init__(self, settings: Settings, digests: DigestJob | None, alerts: AlertJob | None = None, *,
                 leader: Leadership | None = None):
        self.settings = settings
        self.digests = digests
        self.alerts = alerts
        self.leader: Leadership = leader or AlwaysLeader("single")
        grace = settings.digests.misfire_grace_seconds
        self.scheduler = AsyncIOScheduler(timezone=settings.tz, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": grace or None})
        self._woken_for: datetime | None = None
        self._leading = False
        # Timed work added by other modules (retention sweep, FAQ refresh): (id, name, function, seconds).
        self._extra: list[tuple[str, str, Callable[[], Awaitable[str]], float]] = []

    @property
    def poll_seconds(self) -> float:
        """How often a replica looks at the leader lock: at most the shortest check interval, so a
        follower takes over within one interval of the leader's death."""
        intervals = [self.settings.server.leader_poll_seconds]
        if self.digests is not None:
            intervals.append(self.settings.digests.check_seconds)
        if self.alerts is not None:
            intervals.append(float(self.settings.alerts.check_interval_seconds))
        return min(intervals)

    @property
    def is_leader(self) -> bool:
        return self._leading

    def add_timed(self, job_id: str, name: str, func: Callable[[], Awaitable[str]], seconds: float) -> None:
        """Register more timed work that runs on the leader only, every ``seconds`` (call before :meth:`start`)."""
        self._extra.append((job_id, name, func, seconds))

    async def start(self) -> None:
        """Start scheduling; on the leader the first ticks run at once (catching up after downtime)."""
        self.scheduler.start()
        if isinstance(self.leader, AlwaysLeader):
            self._lead()
        else:
            await self._check_leader()
            self.scheduler.add_job(self._check_leader, IntervalTrigger(seconds=self.poll_seconds,
                                                                       timezone=self.settings.tz),
                                   id=LEADER_CHECK, name="leader check", replace_existing=True)
        log.info("scheduler started (%s; digests %s, alerts %s; %s, %s)", self.settings.general.timezone,
                 f"checked every {self.settings.digests.check_seconds:g}s, misfire grace "
                 f"{self.settings.digests.misfire_grace_seconds}s" if self.digests else "off",
                 f"checked every {self.settings.alerts.check_interval_seconds}s" if self.alerts else "off",
                 f"leader election by {self.leader.kind} lock every {self.poll_seconds:g}s",
                 "leader" if self._leading else "follower")

    async def _check_leader(self) -> str:
        try:
            leading = await asyncio.to_thread(self.leader.check)
        except Exception:  # noqa: BLE001 - e.g. the lock file's folder vanished: follower until it works
            log.exception("leader check failed")
            leading = False
        if leading and not self._leading:
            self._lead()
        elif not leading and self._leading:
            self._follow()
        return "ok"

    def _timed_jobs(self) -> list[tuple[str, str, Callable[[], Awaitable[str]], IntervalTrigger, bool]]:
        tz = self.settings.tz
        jobs = []
        if self.digests is not None:
            jobs.append((TICK, "digest tick", self._tick, IntervalTrigger(seconds=self.settings.digests.check_seconds,
                                                                          timezone=tz), True))
        if self.alerts is not None:
            jobs.append((ALERT_TICK, "alert check", self._alert_tick, IntervalTrigger(
                seconds=self.settings.alerts.check_interval_seconds, timezone=tz), True))
            jobs.append((ALERT_WARM, "alert baseline refresh", self._alert_warm,
                         IntervalTrigger(hours=ALERT_WARM_HOURS, timezone=tz), False))
        for job_id, name, func, seconds in self._extra:
            jobs.append((job_id, name, func, IntervalTrigger(seconds=seconds, timezone=tz), True))
        return jobs

    def _lead(self) -> None:
        """This replica became leader: add the timed jobs, the ticks first running now."""
        self._leading = True
        now = datetime.now(self.settings.tz)
        for job_id, name, func, trigger, at_once in self._timed_jobs():
            kwargs = {"next_run_time": now} if at_once else {}
            self.scheduler.add_job(func, trigger, id=job_id, name=name, replace_existing=True, **kwargs)

    def _follow(self) -> None:
        """Leadership lost: remove the timed jobs (one running now finishes; its claim keeps it once-only)."""
        self._leading = False
        log.warning("leader %s: not leader any more; timed jobs stopped on this replica", self.leader.replica)
        for job_id in [j[0] for j in self._timed_jobs()] + [WAKE]:
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
        self._woken_for = None

    def poke_alerts(self) -> None:
        """New data landed (an event-API batch): check the alerts now rather than at the next interval."""
        if self.alerts is None or not self.scheduler.running:
            return
        self.alerts.data_changed()
        self.scheduler.add_job(self._alert_poke, DateTrigger(run_date=datetime.now(self.settings.tz),
                                                             timezone=self.settings.tz),
                               id=ALERT_POKE, name="alert check after new data", replace_existing=True)

    async def _alert_tick(self, forced: bool = False) -> str:
        assert self.alerts is not None
        if not forced:
            request_id.set(None)  # a timed check belongs to no request (a poke keeps the event batch's id)
        try:
            await self.alerts.tick(forced=forced)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: the next check tries again
            log.exception("alert check failed; trying again in %ds", self.settings.alerts.check_interval_seconds)
            return "failed"
        return "ok"

    async def _alert_warm(self) -> str:
        assert self.alerts is not None
        try:
            await self.alerts.refresh()
        except Exception:  # noqa: BLE001 - the checks still read what they need, incrementally or in full
            log.exception("alert baseline refresh failed")
            return "failed"
        return "ok"

    async def _alert_poke(self) -> str:
        return await self._alert_tick(forced=True)

    def stop(self) -> None:
        """Stop scheduling and give up leadership, so a follower takes over at its next check instead of
        waiting for this process to be gone; a tick in progress is cancelled with the other background
        tasks (its claim, if any, is taken over by another replica or a restart once its lease runs out)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._leading = False
        try:
            self.leader.release()
        except Exception:  # noqa: BLE001 - the session is closing anyway; the server frees the lock with it
            log.warning("leader %s: release failed", self.leader.replica, exc_info=True)

    async def _tick(self) -> str:
        assert self.digests is not None
        request_id.set(None)  # the job's own task: no request id of whatever scheduled it
        try:
            upcoming = await self.digests.tick()
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: the next tick tries again
            log.exception("digest tick failed; trying again in %gs", self.settings.digests.check_seconds)
            return "failed"
        self._wake_at(upcoming)
        return "ok"

    def _wake_at(self, fire_at: datetime | None) -> None:
        """Schedule a one-off tick exactly at ``fire_at`` (in the job clock's time, mapped to real time)."""
        if fire_at is None or fire_at == self._woken_for or self.digests is None or not self._leading:
            return
        delay = (fire_at - self.digests.clock()).total_seconds()
        if delay <= 0:
            return
        when = datetime.now(self.settings.tz) + timedelta(seconds=delay + 0.05)
        self.scheduler.add_job(self._tick, DateTrigger(run_date=when, timezone=self.settings.tz), id=WAKE,
                               name="digest wake-up", replace_existing=True)
        self._woken_for = fire_at
