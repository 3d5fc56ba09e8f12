"""The outbound delivery pipeline, built in one function (Alertmanager ``createReceiverStage``).

    mute → dedup against the delivery log → per-destination rate limit → send with retry → record

Each stage either lets a delivery through (returns ``None``) or ends it with an :class:`Outcome`.
Decisions are pure functions of their inputs and an injected ``now`` (:func:`mute_reason`,
:func:`dedup_decision`, :func:`backoff_delay`, :func:`retry_decision`), so they are table-tested
without a clock. The delivery log is written only after success (:class:`RecordStage`).
"""

from __future__ import annotations

import fnmatch
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.adapters.base import Destination, Sender, SendError
from bot.config import DeliveryMute, DeliverySettings
from bot.delivery.ratelimit import DEFAULT_LIMITS, SlidingWindowLimiter, Window
from bot.delivery.split import cost_for, split_text, text_limit
from bot.redact import redact
from handlers.base import Reply

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Verdict(StrEnum):
    SENT = "sent"
    MUTED = "muted"
    DUPLICATE = "duplicate"
    DEFERRED = "deferred"  # rate limited or retryable failure: try again at retry_at
    FAILED = "failed"  # permanent error, too many attempts, or too old


@dataclass
class Delivery:
    """One outbox row on its way out."""

    id: int | None
    destination: Destination
    reply: Reply
    created_at: datetime
    dedup_key: str | None = None
    attempts: int = 0
    parts_sent: int = 0


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str = ""
    parts_sent: int = 0
    attempts: int = 0
    retry_at: datetime | None = None
    error: str | None = None


class DeliveryLog(Protocol):
    """Where the pipeline looks up earlier deliveries and records progress and success."""

    async def last_sent(self, delivery: Delivery) -> datetime | None: ...

    async def record_progress(self, delivery: Delivery, parts_sent: int, now: datetime) -> None: ...

    async def record_sent(self, delivery: Delivery, now: datetime) -> None: ...


# ---------------------------------------------------------------- pure decisions


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def mute_reason(destination_key: str, local_now: datetime, mutes: Sequence[DeliveryMute]) -> str | None:
    """Why ``destination_key`` is muted at ``local_now``, or None. Windows may wrap midnight."""
    clock = local_now.time().replace(second=0, microsecond=0)
    for mute in mutes:
        if not fnmatch.fnmatchcase(destination_key, mute.destination):
            continue
        if not mute.start and not mute.end:
            return mute.reason or f"muted by {mute.destination}"
        start = _parse_hhmm(mute.start) if mute.start else time(0, 0)
        end = _parse_hhmm(mute.end) if mute.end else None  # None: until midnight
        if end is None:
            inside = clock >= start
        elif start <= end:
            inside = start <= clock < end
        else:
            inside = clock >= start or clock < end
        if inside:
            return mute.reason or f"muted {mute.start}-{mute.end} by {mute.destination}"
    return None


class DedupReason(StrEnum):
    NO_KEY = "no dedup key"
    FIRST = "never sent"
    REPEAT_DUE = "sent before the dedup window"
    DUPLICATE = "already sent within the dedup window"


def dedup_decision(last_sent_at: datetime | None, now: datetime, window: timedelta,
                   dedup_key: str | None) -> DedupReason:
    """Alertmanager ``needsUpdate``: send unless the same key went to the same place recently."""
    if not dedup_key:
        return DedupReason.NO_KEY
    if last_sent_at is None:
        return DedupReason.FIRST
    if now - last_sent_at >= window:
        return DedupReason.REPEAT_DUE
    return DedupReason.DUPLICATE


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Seconds before retry number ``attempt`` (1-based): exponential, capped, jittered upwards.

    A vendor's ``retry_after`` (e.g. DingTalk's 10-minute throttle) is a floor, even above ``cap``.
    """
    delay = min(cap, base * 2 ** max(0, attempt - 1)) * (1 + jitter * rng.random())
    return max(delay, retry_after or 0.0)


def retry_decision(error: SendError, attempts: int, created_at: datetime, now: datetime,
                   settings: DeliverySettings, rng: random.Random) -> tuple[Verdict, datetime | None, str]:
    """After a failed send (``attempts`` counts it): retry at some time, or give up and why."""
    if not error.retryable:
        return Verdict.FAILED, None, "permanent error"
    if attempts >= settings.max_attempts:
        return Verdict.FAILED, None, f"gave up after {attempts} attempts"
    delay = backoff_delay(attempts, base=settings.backoff_base_seconds, cap=settings.backoff_max_seconds,
                          jitter=settings.jitter, rng=rng, retry_after=error.retry_after)
    retry_at = now + timedelta(seconds=delay)
    if retry_at - created_at > timedelta(hours=settings.max_age_hours):
        return Verdict.FAILED, None, f"gave up: older than {settings.max_age_hours:g} h"
    return Verdict.DEFERRED, retry_at, f"retry in {delay:.1f}s"


def plan_parts(destination: Destination, reply: Reply) -> list[Reply]:
    """The messages one reply becomes: text cut to the platform's byte limit, charts attached.

    WeCom sends an image as its own message, so each chart is its own part there (a retry then
    never repeats a part that already arrived); elsewhere charts ride with the last text part. Files (an
    export) become their own parts where the platform takes a file message — a WeCom group robot
    (PROTOCOLS.md §2a upload_media); elsewhere the text's signed download link is the file.
    """
    limit = text_limit(destination.platform, destination.kind)
    title_cost = len((reply.title or "").encode("utf-8")) + 16
    cost = cost_for(destination.platform)
    chunks = [reply.text] if limit is None else split_text(reply.text, max(64, limit - title_cost), cost=cost)
    separate = destination.platform == "wecom" and bool(reply.charts)
    parts = [Reply(text=c, title=reply.title if i == 0 else None, ok=reply.ok) for i, c in enumerate(chunks)]
    if separate:
        if len(parts) == 1 and not parts[0].text.strip():
            parts = []
        parts += [Reply(text="", charts=[c], ok=reply.ok) for c in reply.charts]  # one image message each
    elif reply.charts:
        parts[-1] = replace(parts[-1], charts=list(reply.charts))
    if reply.files and destination.platform == "wecom" and destination.kind == "robot":
        parts += [Reply(text="", files=[f], ok=reply.ok) for f in reply.files]  # upload_media + one file message each
    return parts


# ---------------------------------------------------------------- stages


class Stage(Protocol):
    async def exec(self, delivery: Delivery, now: datetime) -> Outcome | None: ...


@dataclass
class MuteStage:
    mutes: Sequence[DeliveryMute]
    tz: ZoneInfo

    async def exec(self, delivery: Delivery, now: datetime) -> Outcome | None:
        reason = mute_reason(delivery.destination.key, now.astimezone(self.tz), self.mutes)
        return Outcome(Verdict.MUTED, reason, delivery.parts_sent, delivery.attempts) if reason else None


@dataclass
class DedupStage:
    log: DeliveryLog
    window: timedelta

    async def exec(self, delivery: Delivery, now: datetime) -> Outcome | None:
        if not delivery.dedup_key:
            return None
        decision = dedup_decision(await self.log.last_sent(delivery), now, self.window, delivery.dedup_key)
        if decision is DedupReason.DUPLICATE:
            return Outcome(Verdict.DUPLICATE, decision.value, delivery.parts_sent, delivery.attempts)
        return None


@dataclass
class RateLimitStage:
    limiter: SlidingWindowLimiter

    async def wait(self, delivery: Delivery, now: datetime) -> float:
        d = delivery.destination
        acquire_async = getattr(self.limiter, "acquire_async", None)
        if acquire_async is not None:  # DatabaseLimiter: shared by replicas, off the event loop
            return await acquire_async(d.key, d.platform, now.timestamp())
        return self.limiter.acquire(d.key, d.platform, now.timestamp())


@dataclass
class RetryStage:
    """Send one part; turn a failure into a retry time or a final failure."""

    senders: Mapping[str, Sender]
    settings: DeliverySettings
    rng: random.Random

    async def send(self, delivery: Delivery, part: Reply) -> None:
        sender = self.senders.get(delivery.destination.platform)
        if sender is None:
            raise SendError(f"no sender configured for platform {delivery.destination.platform!r}")
        await sender.send(delivery.destination, part)

    def on_error(self, delivery: Delivery, error: SendError, now: datetime) -> Outcome:
        attempts = delivery.attempts + 1
        verdict, retry_at, why = retry_decision(error, attempts, delivery.created_at, now, self.settings, self.rng)
        return Outcome(verdict, why, delivery.parts_sent, attempts, retry_at, redact(error)[:500])


@dataclass
class PartsStage:
    """Rate limit then send each part not yet delivered, saving progress after each one."""

    rate_limit: RateLimitStage
    retry: RetryStage
    log: DeliveryLog
    clock: Clock

    async def exec(self, delivery: Delivery, now: datetime) -> Outcome | None:
        parts = plan_parts(delivery.destination, delivery.reply)
        for index in range(delivery.parts_sent, len(parts)):
            now = self.clock()
            wait = await self.rate_limit.wait(delivery, now)
            if wait > 0:
                return Outcome(Verdict.DEFERRED, f"rate limited for {wait:.1f}s", delivery.parts_sent,
                               delivery.attempts, now + timedelta(seconds=wait))
            try:
                await self.retry.send(delivery, parts[index])
            except SendError as exc:
                return self.retry.on_error(delivery, exc, self.clock())
            except Exception as exc:  # noqa: BLE001 - a sender bug must not kill the worker
                log.error("sender for %s raised %s", delivery.destination.key, type(exc).__name__,
                          exc_info=True)
                unexpected = SendError(f"unexpected {type(exc).__name__}: {redact(exc)[:200]}", retryable=True)
                return self.retry.on_error(delivery, unexpected, self.clock())
            delivery.parts_sent = index + 1
            if delivery.parts_sent < len(parts):
                await self.log.record_progress(delivery, delivery.parts_sent, self.clock())
        return None


@dataclass
class RecordStage:
    """Write the delivery log, only after every part went out."""

    log: DeliveryLog
    clock: Clock

    async def exec(self, delivery: Delivery, now: datetime) -> Outcome | None:
        await self.log.record_sent(delivery, self.clock())
        return Outcome(Verdict.SENT, "delivered", delivery.parts_sent, delivery.attempts)


@dataclass
class Pipeline:
    stages: list[Stage] = field(default_factory=list)
    clock: Clock = datetime.now

    async def run(self, delivery: Delivery) -> Outcome:
        now = self.clock()
        for stage in self.stages:
            outcome = await stage.exec(delivery, now)
            if outcome is not None:
                return outcome
        return Outcome(Verdict.SENT, "delivered", delivery.parts_sent, delivery.attempts)


def limits_from(settings: DeliverySettings) -> dict[str, tuple[Window, ...]]:
    """The built-in vendor limits, with each platform listed in ``[delivery].rate_limits`` replaced."""
    limits = dict(DEFAULT_LIMITS)
    overridden: dict[str, list[Window]] = {}
    for row in settings.rate_limits:
        overridden.setdefault(row.platform, []).append(Window(row.count, row.per_seconds))
    limits.update({platform: tuple(windows) for platform, windows in overridden.items()})
    return limits


def build_pipeline(senders: Mapping[str, Sender], delivery_log: DeliveryLog, *, settings: DeliverySettings,
                   tz: ZoneInfo, clock: Clock, rng: random.Random | None = None,
                   limiter: SlidingWindowLimiter | None = None) -> Pipeline:
    """mute → dedup → rate limit → send with retry → record, as one list of stages."""
    limiter = limiter or SlidingWindowLimiter(limits_from(settings))
    retry = RetryStage(senders, settings, rng or random.Random())
    return Pipeline(
        stages=[
            MuteStage(settings.mutes, tz),
            DedupStage(delivery_log, timedelta(seconds=settings.dedup_window_seconds)),
            PartsStage(RateLimitStage(limiter), retry, delivery_log, clock),
            RecordStage(delivery_log, clock),
        ],
        clock=clock,
    )
