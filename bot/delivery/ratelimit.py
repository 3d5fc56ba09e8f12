"""Client-side rate limits per destination, as sliding windows over an injected clock.

Vendors punish bursts (DingTalk throttles a robot for 10 minutes after the 21st message in a
minute), so we never exceed their published limits ourselves:
DingTalk 20/min, WeCom 20/min, Feishu 5/s and 100/min.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    count: int
    seconds: float


DEFAULT_LIMITS: dict[str, tuple[Window, ...]] = {
    "dingtalk": (Window(20, 60.0),),
    "wecom": (Window(20, 60.0),),
    "feishu": (Window(5, 1.0), Window(100, 60.0)),
}


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
        wait = 0.0
        for window in self.windows(platform):
            recent = [t for t in history if t > now - window.seconds]
            if len(recent) >= window.count:
                # the oldest send that must leave the window before we fit
                wait = max(wait, recent[len(recent) - window.count] + window.seconds - now)
        return wait

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
