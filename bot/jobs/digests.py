"""The digest job: which digests are due now, build each once, hand it to the outbox.

Plans come from two places: the config file (``[digests]`` time/targets = the default 日报, plus every
``[[digests.subscriptions]]``) and the chat (``digest_subscriptions``, not paused). Each tick asks the
pure :func:`analytics.digests.schedule.due` per plan, claims (plan key, covered date) in
``digest_runs`` (:mod:`bot.jobs.runs`), builds the digest with ``handlers.digest.digest_reply`` and
queues one outbox row per destination in the transaction that marks the claim queued.

The claim's date is the date the digest *covers* (yesterday for a 日报, last week's Monday for a
周报), so a digest goes to a subscription once whether it was sent on schedule, after downtime or by
``csbot digest --send``; a 周报 scheduled on two weekdays still goes out once a week.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from analytics.digests import DigestUnavailable
from analytics.digests import subscriptions as chat_subscriptions
from analytics.digests.schedule import (
    EVERY_DAY,
    Schedule,
    ScheduleError,
    covered_day,
    due,
    next_fire,
    parse_config_schedule,
    parse_time,
)
from bot.adapters.base import Destination
from bot.config import ConfigError, Settings
from bot.delivery.outbox import Outbox
from bot.jobs import runs
from handlers.base import CommandError, Reply, Services
from handlers.digest import digest_reply

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def system_clock(settings: Settings) -> Clock:
    """The real clock in the configured zone (tests of ``csbot serve`` replace this function)."""
    return lambda: datetime.now(settings.tz)


@dataclass(frozen=True)
class Plan:
    """One scheduled digest: what, when, for whom, and its claim key."""

    key: str
    kind: str
    schedule: Schedule
    destinations: tuple[Destination, ...]
    filters: dict[str, str] = field(default_factory=dict)
    sections: tuple[str, ...] | None = None
    not_before: datetime | None = None  # a chat subscription never fires for a time before it was made


def robot(target: str) -> Destination:
    """``"dingtalk:ops"`` → the configured robot ``ops`` of DingTalk."""
    platform, _, name = target.partition(":")
    return Destination(platform, "robot", name)


def config_key(kind: str, targets: list[str], filters: dict[str, str], sections: list[str] | None) -> str:
    """A stable key for a config-file digest: what it holds and where it goes, not its time, so moving
    the time in the config does not send that day's digest twice."""
    blob = json.dumps([kind, sorted(targets), sorted((filters or {}).items()), sorted(sections or [])],
                      ensure_ascii=False)
    return "config:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def config_plans(settings: Settings) -> list[Plan]:
    """The config file's digests; a bad ``schedule`` is a ConfigError (``csbot serve`` refuses to start)."""
    d = settings.digests
    plans: list[Plan] = []
    if d.targets:
        plans.append(Plan(config_key("日报", d.targets, {}, None), "日报", Schedule(EVERY_DAY, parse_time(d.time)),
                          tuple(robot(t) for t in d.targets)))
    for i, extra in enumerate(d.subscriptions):
        try:
            schedule = parse_config_schedule(extra.schedule, extra.kind, d.time)
        except ScheduleError as exc:
            raise ConfigError(f"[[digests.subscriptions]] #{i + 1}: schedule {extra.schedule!r}: {exc}") from None
        if not extra.targets:
            raise ConfigError(f"[[digests.subscriptions]] #{i + 1}: targets is empty")
        key = config_key(extra.kind, extra.targets, extra.filters, extra.sections)
        while any(p.key == key for p in plans):  # two identical entries with different times: both kept
            key = key[:-1] + chr(ord(key[-1]) + 1)
        plans.append(Plan(key, extra.kind, schedule, tuple(robot(t) for t in extra.targets), dict(extra.filters),
                          tuple(extra.sections) or None))
    return plans


def chat_plans(engine: Engine) -> list[Plan]:
    """Active chat subscriptions (blocking: call in a thread)."""
    plans = []
    for sub in chat_subscriptions.active(engine):
        try:
            schedule = Schedule(sub.days, parse_time(sub.at))
        except ScheduleError:
            log.error("digest subscription #%s has an unreadable time %r; skipped", sub.id, sub.at)
            continue
        destination = Destination(sub.platform, sub.dest_kind, sub.target, dict(sub.extra or {}))
        plans.append(Plan(f"sub:{sub.id}", sub.kind, schedule, (destination,), dict(sub.filters or {}),
                          tuple(sub.sections) if sub.sections else None, _aware(sub.created_at)))
    return plans


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def services_for(settings: Settings, engine: Engine) -> Services:
    """What ``digest_reply`` needs, as the chat bot has it (same chart folder, same agent minimum)."""
    return Services(engine=engine, tz=settings.tz, chart_dir=Path(settings.general.data_dir) / "charts",
                    min_agent_n=settings.metrics.min_agent_n, extra={"faq": settings.faq.model_dump()})


def _listed(entries: list[str], destination: Destination) -> bool:
    return "*" in entries or destination.target in entries or f"{destination.platform}:{destination.target}" in entries


class DigestJob:
    """Finds due digests and sends each once; one per ``csbot serve`` replica, any number per database."""

    def __init__(self, settings: Settings, engine: Engine, outbox: Outbox, services: Services, *,
                 clock: Clock | None = None, owner: str | None = None):
        self.settings = settings
        self.engine = engine
        self.outbox = outbox
        self.services = services
        self.clock = clock or system_clock(settings)
        self.owner = owner or outbox.owner
        self.config = config_plans(settings)
        self._lock = asyncio.Lock()

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=self.settings.digests.misfire_grace_seconds)

    async def plans(self) -> list[Plan]:
        return self.config + await asyncio.to_thread(chat_plans, self.engine)

    async def tick(self) -> datetime | None:
        """Act on every due digest; returns the next fire time over all plans (when to wake next)."""
        async with self._lock:
            now = self.clock()
            plans = await self.plans()
            tz = self.settings.tz
            since = now.astimezone(tz).date() - timedelta(days=30)
            done = await asyncio.to_thread(runs.settled, self.engine, [p.key for p in plans], since)
            for plan in plans:
                fire = due(plan.schedule, now, tz, self.grace, not_before=plan.not_before)
                if fire is None:
                    continue
                day = covered_day(plan.kind, fire.day)
                if (plan.key, day) in done:
                    continue
                if not fire.send:
                    late = now - fire.fire_at
                    if await asyncio.to_thread(runs.skip, self.engine, plan.key, day, plan.kind, fire.fire_at,
                                               self.owner, now, f"missed by {late} (grace {self.grace})"):
                        log.warning("digest %s %s of %s missed by %s, beyond the misfire grace %s: skipped",
                                    plan.key, plan.kind, day, late, self.grace)
                        continue
                await self.run(plan, day, fire.fire_at, now)
            upcoming = [n for p in plans if (n := next_fire(p.schedule, now, tz)) is not None]
            return min(upcoming, default=None)

    async def run(self, plan: Plan, day: date, scheduled_at: datetime, now: datetime, *,
                  manual: bool = False) -> str:
        """Claim, build and queue one digest. Returns what happened: queued / taken / retry / failed / lost."""
        d = self.settings.digests
        claim = await asyncio.to_thread(runs.claim, self.engine, plan.key, day, plan.kind, scheduled_at, self.owner,
                                        now, timedelta(seconds=d.claim_lease_seconds), d.max_attempts, manual=manual)
        if claim is None:
            return "taken"
        heartbeat = asyncio.create_task(self._keep(claim), name=f"digest-lease:{plan.key}")
        try:
            items = await self._build(plan, day, now)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, with its reason
            heartbeat.cancel()
            return await self._failed(plan, claim, exc, now)
        finally:
            heartbeat.cancel()
        queued = await self.outbox.enqueue_guarded(items, lambda session: runs.finish(session, claim, self.clock()),
                                                   dedup_key=f"digest:{plan.key}:{day.isoformat()}")
        if not queued:
            log.warning("digest %s %s of %s: claim lost while building (another replica took over); not queued",
                        plan.key, plan.kind, day)
            return "lost"
        log.info("digest %s %s of %s queued for %s (attempt %d)", plan.key, plan.kind, day,
                 ", ".join(x.key for x in plan.destinations), claim.attempt)
        return "queued"

    async def _keep(self, claim: runs.Claim) -> None:
        """Renew the build lease every third of it until cancelled, so a slow build is not taken over
        by another replica; stops when the claim is lost. A failed renewal (database blip) is retried."""
        lease = timedelta(seconds=self.settings.digests.claim_lease_seconds)
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                if not await asyncio.to_thread(runs.renew, self.engine, claim, self.clock(), lease):
                    return
            except Exception as exc:  # noqa: BLE001 - the queue step re-checks the claim anyway
                log.warning("digest %s %s: lease renewal failed (%s)", claim.key, claim.day, type(exc).__name__)

    async def _build(self, plan: Plan, day: date, now: datetime) -> list[tuple[Destination, Reply]]:
        """One reply per destination; built once per distinct per-agent visibility. Raises on any failure."""
        sensitive = self.settings.access.sensitive_chats
        built: dict[bool, Reply] = {}
        items = []
        for destination in plan.destinations:
            show_agents = destination.kind == "user" or _listed(sensitive, destination)
            if show_agents not in built:
                built[show_agents] = await digest_reply(self.services, plan.kind, now=now, day=day,
                                                        filters=plan.filters or None,
                                                        sections=list(plan.sections) if plan.sections else None,
                                                        show_agents=show_agents)
            items.append((destination, built[show_agents]))
        return items

    async def _failed(self, plan: Plan, claim: runs.Claim, exc: BaseException, now: datetime) -> str:
        d = self.settings.digests
        if isinstance(exc, DigestUnavailable):
            reason, retry = f"database unavailable: {exc.reason}", True
        elif isinstance(exc, CommandError):
            reason, retry = f"cannot be built: {exc.message}", False  # a bad filter/section: retrying won't help
        else:
            reason, retry = f"unexpected {type(exc).__name__}", True
            log.error("digest %s build raised", plan.key, exc_info=exc)
        retry_at = now + timedelta(seconds=d.retry_seconds) if retry and claim.attempt < d.max_attempts else None
        await asyncio.to_thread(runs.fail, self.engine, claim, reason, self.clock(), retry_at)
        if retry_at is not None:
            log.warning("digest %s %s of %s not built (%s); attempt %d of %d, retrying at %s", plan.key, plan.kind,
                        claim.day, reason, claim.attempt, d.max_attempts, retry_at.isoformat())
            return "retry"
        log.error("digest %s %s of %s not built (%s); gave up after attempt %d", plan.key, plan.kind, claim.day,
                  reason, claim.attempt)
        return "failed"


async def send_now(settings: Settings, kind: str, day: date | None, *, engine: Engine, outbox: Outbox,
                   now: datetime | None = None) -> tuple[str, date]:
    """``csbot digest 日报|周报 --send``: build the digest of ``day`` (default yesterday / last week) and queue
    it for ``[digests] targets`` under the same once-only claim as the scheduled 日报 to those targets.

    Returns (outcome, covered day); outcome ``taken`` means it was already sent (or is being sent) for
    that day. The caller drains ``outbox`` to deliver. ConfigError when no targets are configured.
    """
    if not settings.digests.targets:
        raise ConfigError("[digests] targets is empty: nothing to send to (e.g. targets = [\"dingtalk:ops\"])")
    job = DigestJob(settings, engine, outbox, services_for(settings, engine))
    now = now or job.clock()
    covered = day or covered_day(kind, now.astimezone(settings.tz).date())
    plan = Plan(config_key(kind, settings.digests.targets, {}, None), kind, Schedule(EVERY_DAY, parse_time(
        settings.digests.time)), tuple(robot(t) for t in settings.digests.targets))
    return await job.run(plan, covered, now, now, manual=True), covered
