"""What a metric answer says about the data under it: the part of the window the data covers, and
whether the comparison window has data at all (see analytics.coverage for the rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from analytics import coverage
from analytics.coverage import DataRange
from analytics.metrics import Metric
from analytics.periods import Window

#: Counts and sums: a window whose start has no data totals too little, and no data is not a zero.
ADDITIVE = frozenset({"conversations", "complaints", "sales"})


def read_range(engine: Engine, key: str) -> DataRange:
    """The metric's data range (index probes; blocking: call it from a worker thread)."""
    with engine.connect() as conn:
        return coverage.data_range(conn, key)


@dataclass
class Notes:
    """``no_data``: the whole reply's text when the window lies outside the data. ``window``: lines after
    the window line. ``compare``: replaces the comparison line; ``compare_extra``: lines after it."""

    no_data: str | None = None
    window: list[str] = field(default_factory=list)
    compare: str | None = None
    compare_extra: list[str] = field(default_factory=list)


def for_window(metric: Metric, window: Window, rng: DataRange, now: datetime) -> Notes:
    if coverage.outside(window.start, window.end, rng):
        return Notes(no_data=coverage.no_data_note(window, rng))
    notes = Notes()
    line = coverage.coverage_note(window, rng, now)
    if line:
        notes.window.append(line)
    notes.compare = coverage.compare_blocked(window, rng, metric.key in ADDITIVE)
    if notes.compare is None:
        extra = coverage.compare_partial(window, rng)
        if extra:
            notes.compare_extra.append(extra)
    return notes


def card_lines(window: Window, rng: DataRange, now: datetime) -> list[str]:
    """For an answer over several metrics (/概览, /客服): the conversations' coverage of the window and,
    when the comparison window has no conversations at all, why its arrows are blank."""
    if rng.first is None:
        return []
    lines = [line] if (line := coverage.coverage_note(window, rng, now)) else []
    if (blocked := coverage.compare_blocked(window, rng, additive=False)) is not None:
        lines.append(blocked)
    return lines
