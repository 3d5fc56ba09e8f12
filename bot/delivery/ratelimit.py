"""Client-side rate limits per destination, as sliding windows over an injected clock.

Vendors punish bursts (DingTalk throttles a robot for 10 minutes after the 21st message in a
minute), so we never exceed their published limits ourselves:
DingTalk 20/min, WeCom 20/min, Feishu 5/s and 100/min.

:class:`SlidingWindowLimiter` keeps the send times in memory (one process, tests);
:class:`DatabaseLimiter`, which ``csbot serve`` uses, keeps them in the ``rate_limit_state`` table,
one row per destination updated with a compare-and-set on its ``version``: replicas share one
budget per destination and a restart remembers the sends of the last minute, so neither can
burst past a vendor's limit (and earn DingTalk's 10-minute block).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from analytics.store.inbox import RateLimitState

log = logging.getLogger(__name__)

CAS_ATTEMPTS = 8
CONTENDED_WAIT_S = 0.2  # every compare-and-set lost to other replicas: try again this much later


@dataclass(frozen=True)
class Window:
    count: int
    seconds: float


DEFAULT_LIMITS: dict[str, tuple[Window, ...]] = {
    "dingtalk": (Window(20, 60.0),),
    "wecom": (Window(20, 60.0),),
    "feishu": (Window(5, 1.0), Window(100, 60.0)),
}


def wait_for(history: Iterable[float], windows: Sequence[Window], now: float) -> float:
    """Seconds until one more send at ``now`` fits every window, given the earlier send times (0 = now)."""
    times = sorted(history)
    wait = 0.0
    for window in windows:
        recent = [t for t in times if t > now - window.seconds]
        if len(recent) >= window.count:
            # the oldest send that must leave the window before we fit
            wait = max(wait, recent[len(recent) - window.count] + window.seconds - now)
    return wait


class SlidingWindowLimiter:
    """Remembers when each destination was sent to and says how long to wait before the next send."""

    def __init__(self, limits: dict[str, tuple[Window, ...]] | None = None):
        self._limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._sent: dict[str, deque[float]] = {}

    def windows(self, platform: str) -> tuple[Window, ...]:
        return self._limits.get(platform, ())

    def wait_time(self, key: str, platform: str, now: float) -> float:
        """Seconds until one more message to ``key`` fits every window (0 = send now)."""
        history = self._sent.get(key)
        if not history:
            return 0.0
        return wait_for(history, self.windows(platform), now)

    def acquire(self, key: str, platform: str, now: float) -> float:
        """Record one send now and return 0, or return the wait and record nothing."""
        wait = self.wait_time(key, platform, now)
        if wait > 0:
            return wait
        history = self._sent.setdefault(key, deque())
        history.append(now)
        horizon = max((w.seconds for w in self.windows(platform)), default=0.0)
        while history and history[0] <= now - horizon:
            history.popleft()
        return 0.0


class DatabaseLimiter(SlidingWindowLimiter):
    """The same windows, with the send times in the database (shared by replicas, kept across restarts).

    :meth:`acquire` blocks on the database: the pipeline calls :meth:`acquire_async` (in a thread)."""

    def __init__(self, engine: Engine, limits: dict[str, tuple[Window, ...]] | None = None):
        super().__init__(limits)
        self.engine = engine

    async def acquire_async(self, key: str, platform: str, now: float) -> float:
        return await asyncio.to_thread(self.acquire, key, platform, now)

    def wait_time(self, key: str, platform: str, now: float) -> float:
        with Session(self.engine) as session:
            row = session.get(RateLimitState, key)
            return wait_for(row.sends if row else (), self.windows(platform), now)

    def acquire(self, key: str, platform: str, now: float) -> float:
        """Record one send now and return 0, or return the wait and record nothing (compare-and-set)."""
        windows = self.windows(platform)
        if not windows:
            return 0.0
        horizon = max(w.seconds for w in windows)
        stamp = datetime.now(UTC)
        for _ in range(CAS_ATTEMPTS):
            with Session(self.engine) as session:
                row = session.get(RateLimitState, key[:300])
                if row is None:
                    session.add(RateLimitState(destination_key=key[:300], platform=platform[:16], sends=[now],
                                               version=1, updated_at=stamp))
                    try:
                        session.commit()
                    except IntegrityError:  # another replica inserted it first: read it again
                        session.rollback()
                        continue
                    return 0.0
                sends = sorted(t for t in row.sends if t > now - horizon)
                wait = wait_for(sends, windows, now)
                if wait > 0:
                    return wait
                result = session.execute(update(RateLimitState).where(
                    RateLimitState.destination_key == row.destination_key, RateLimitState.version == row.version)
                    .values(sends=[*sends, now], version=row.version + 1, updated_at=stamp))
                session.commit()
                if result.rowcount == 1:
                    return 0.0
        log.info("rate limit state for %s contended; waiting %.1f s", key, CONTENDED_WAIT_S)
        return CONTENDED_WAIT_S
