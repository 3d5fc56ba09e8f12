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

All jobs use ``coalesce=True``, ``max_instances=1`` and the configured misfire grace; the tick itself
coalesces missed fire times (only the latest counts, see ``analytics.digests.schedule.due``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.jobs.alerts import AlertJob
from bot.jobs.digests import DigestJob

log = logging.getLogger(__name__)

TICK = "digests.tick"
WAKE = "digests.wake"
ALERT_TICK = "alerts.tick"
ALERT_POKE = "alerts.poke"
ALERT_WARM = "alerts.warm"
#: How often the alert job re-reads its kept baseline hours in full, in the background (HourCache's
#: max_age is 6 h: checks never do it themselves).
ALERT_WARM_HOURS = 4


class JobScheduler:
    """Starts and stops the timed jobs of one ``csbot serve`` process."""

    def __init__(self, settings: Settings, digests: DigestJob | None, alerts: AlertJob | None = None):
        self.settings = settings
        self.digests = digests
        self.alerts = alerts
        grace = settings.digests.misfire_grace_seconds
        self.scheduler = AsyncIOScheduler(timezone=settings.tz, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": grace or None})
        self._woken_for: datetime | None = None

    async def start(self) -> None:
        """Add the jobs and start; the first ticks run at once (catching up after downtime)."""
        now = datetime.now(self.settings.tz)
        if self.digests is not None:
            self.scheduler.add_job(self._tick, IntervalTrigger(seconds=self.settings.digests.check_seconds,
                                                               timezone=self.settings.tz),
                                   id=TICK, name="digest tick", replace_existing=True, next_run_time=now)
        if self.alerts is not None:
            self.scheduler.add_job(self._alert_tick, IntervalTrigger(
                seconds=self.settings.alerts.check_interval_seconds, timezone=self.settings.tz),
                id=ALERT_TICK, name="alert check", replace_existing=True, next_run_time=now)
            self.scheduler.add_job(self._alert_warm, IntervalTrigger(hours=ALERT_WARM_HOURS, timezone=self.settings.tz),
                                   id=ALERT_WARM, name="alert baseline refresh", replace_existing=True)
        self.scheduler.start()
        log.info("scheduler started (%s; digests %s, alerts %s)", self.settings.general.timezone,
                 f"checked every {self.settings.digests.check_seconds:g}s, misfire grace "
                 f"{self.settings.digests.misfire_grace_seconds}s" if self.digests else "off",
                 f"checked every {self.settings.alerts.check_interval_seconds}s" if self.alerts else "off")

    def poke_alerts(self) -> None:
        """New data landed (an event-API batch): check the alerts now rather than at the next interval."""
        if self.alerts is None or not self.scheduler.running:
            return
        self.alerts.data_changed()
        self.scheduler.add_job(self._alert_poke, DateTrigger(run_date=datetime.now(self.settings.tz),
                                                             timezone=self.settings.tz),
                               id=ALERT_POKE, name="alert check after new data", replace_existing=True)

    async def _alert_tick(self, forced: bool = False) -> None:
        assert self.alerts is not None
        try:
            await self.alerts.tick(forced=forced)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: the next check tries again
            log.exception("alert check failed; trying again in %ds", self.settings.alerts.check_interval_seconds)

    async def _alert_warm(self) -> None:
        assert self.alerts is not None
        try:
            await self.alerts.refresh()
        except Exception:  # noqa: BLE001 - the checks still read what they need, incrementally or in full
            log.exception("alert baseline refresh failed")

    async def _alert_poke(self) -> None:
        await self._alert_tick(forced=True)

    def stop(self) -> None:
        """Stop scheduling; a tick in progress is cancelled with the other background tasks (its claim,
        if any, is taken over by another replica or a restart once its lease runs out)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _tick(self) -> None:
        assert self.digests is not None
        try:
            upcoming = await self.digests.tick()
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: the next tick tries again
            log.exception("digest tick failed; trying again in %gs", self.settings.digests.check_seconds)
            return
        self._wake_at(upcoming)

    def _wake_at(self, fire_at: datetime | None) -> None:
        """Schedule a one-off tick exactly at ``fire_at`` (in the job clock's time, mapped to real time)."""
        if fire_at is None or fire_at == self._woken_for or self.digests is None:
            return
        delay = (fire_at - self.digests.clock()).total_seconds()
        if delay <= 0:
            return
        when = datetime.now(self.settings.tz) + timedelta(seconds=delay + 0.05)
        self.scheduler.add_job(self._tick, DateTrigger(run_date=when, timezone=self.settings.tz), id=WAKE,
                               name="digest wake-up", replace_existing=True)
        self._woken_for = fire_at
