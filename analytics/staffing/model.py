"""Parameters and results of a staffing plan: plain data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

HISTORY_WEEKS = 8
LEVEL_DAYS = 14  # the recent level: the last two weeks against their seasonal expectation
LEVEL_CLAMP = (0.5, 2.0)
MEASURE_DAYS = 7  # handle time and concurrency: conversations of the last week (raw rows, indexed by time)
MIN_HISTORY_DAYS = 14


class StaffingError(ValueError):
    """A plan cannot be made (too little history, no handle time, an unknown period); the message is
    Chinese, for chat."""


@dataclass(frozen=True)
class Event:
    """A promotion (or any known unusual) day: its conversations are ``factor`` × a normal day's."""

    day: date
    factor: float
    name: str = ""


@dataclass(frozen=True)
class Params:
    service_level: float = 0.8
    answer_seconds: float = 30.0
    concurrency: float | None = None  # None = measured from history
    handle_seconds: float | None = None  # None = measured from history
    events: tuple[Event, ...] = ()
    history_weeks: int = HISTORY_WEEKS
    holidays: bool = True  # statutory holidays and 调休 days by chinese-calendar (it knows years ≤ 2026)

    def event_on(self, day: date) -> Event | None:
        return next((e for e in self.events if e.day == day), None)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> Params:
        """From the ``[staffing]`` section as plain data (``Settings.staffing.model_dump()``)."""
        cfg = dict(cfg or {})
        events = tuple(Event(_day(e["date"]), float(e["factor"]), str(e.get("name") or ""))
                       for e in cfg.pop("events", None) or ())
        known = {k: cfg[k] for k in ("service_level", "answer_seconds", "concurrency", "handle_seconds",
                                     "history_weeks", "holidays") if k in cfg}
        for key in ("concurrency", "handle_seconds"):  # 0 in the config = measure it
            if not known.get(key):
                known[key] = None
        return cls(events=events, **known)


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class Measured:
    """Handle time and concurrency used, and where each came from (``measured`` / ``configured``)."""

    handle_seconds: float
    concurrency: float
    handle_source: str
    concurrency_source: str
    sample: int  # conversations measured (0 when both are configured)


@dataclass(frozen=True)
class HourPlan:
    start: datetime  # local hour start
    forecast: float  # conversations expected in the hour
    needed: int  # agents for the target service level
    scheduled: float | None  # agents on the roster (agent-hours within the hour), None without a roster
    event: str | None = None  # the promotion this hour's day belongs to

    @property
    def gap(self) -> float | None:
        """Scheduled − needed: negative = short of agents."""
        return None if self.scheduled is None else self.scheduled - self.needed


@dataclass
class Plan:
    start: datetime  # local midnight of the first day
    days: int
    hours: list[HourPlan]
    measured: Measured
    level: float  # recent level (× the seasonal profile)
    history_days: int
    params: Params
    has_roster: bool
    notes: list[str] = field(default_factory=list)

    def day_rows(self) -> list[list[HourPlan]]:
        return [self.hours[i * 24:(i + 1) * 24] for i in range(self.days)]


__all__ = ["StaffingError", "HISTORY_WEEKS", "LEVEL_DAYS", "MEASURE_DAYS", "MIN_HISTORY_DAYS", "Event", "HourPlan", "Measured",
           "Params", "Plan"]
