"""The shared types of :mod:`analytics.periods`: :class:`Window`, :class:`PeriodError` and local-time helpers.

All calendar arithmetic happens in ``now``'s timezone: local midnights are built with
``datetime(..., tzinfo=tz)``, never by subtracting hours. The other modules of the package import
this one; it imports none of them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

EXAMPLES = "今天、昨天、本周、上周、本月、上月、本季度、今年、近7天、近24小时、近4周、11月、11月1日-11月7日、2026-11-01~2026-11-07"
MAX_N = 3660
MAX_YEARS = 100
ALL_TIME_START = date(2000, 1, 1)
MAX_BUCKETS = 20_000

Step = tuple[str, float]  # ("days" | "months" | "seconds", amount): how far the comparison window moves back


class PeriodError(ValueError):
    """An unparseable or impossible time phrase; ``str(exc)`` is a Chinese message with examples."""


# --------------------------------------------------------------------------- local-time helpers
def valid_instant(dt: datetime) -> datetime:
    """Map a wall time inside a DST gap onto a real instant (a no-op for zones without DST)."""
    return dt.astimezone(UTC).astimezone(dt.tzinfo)


def at_midnight(d: date, tz) -> datetime:  # noqa: ANN001 - any tzinfo
    return valid_instant(datetime(d.year, d.month, d.day, tzinfo=tz))


def month_first(index: int) -> date:
    """The first day of month number ``index`` (= year * 12 + month - 1)."""
    return date(index // 12, index % 12 + 1, 1)


def shift_back(dt: datetime, step: Step) -> datetime:
    """Move ``dt`` back by ``step``: wall-clock days, calendar months (clamped), or absolute seconds."""
    unit, amount = step
    tz = dt.tzinfo
    if unit == "seconds":
        return (dt.astimezone(UTC) - timedelta(seconds=amount)).astimezone(tz)
    wall = dt.replace(tzinfo=None)
    if unit == "days":
        wall -= timedelta(days=amount)
    else:
        index = wall.year * 12 + wall.month - 1 - int(amount)
        first = month_first(index)
        if wall.day > calendar.monthrange(first.year, first.month)[1]:
            # 03-31 has no February twin: clamp to the end of that month (= next month's first midnight)
            nxt = month_first(index + 1)
            wall = datetime(nxt.year, nxt.month, 1)
        else:
            wall = wall.replace(year=first.year, month=first.month)
    return valid_instant(wall.replace(tzinfo=tz))


def to_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def _fmt_span(start: datetime, end: datetime, year: int) -> str:
    pattern = "%m-%d %H:%M" if start.year == year and end.year == year else "%Y-%m-%d %H:%M"
    return f"{start.strftime(pattern)} ~ {end.strftime(pattern)}"


# --------------------------------------------------------------------------- labels
TO_DATE_PREV = {("days", 1): "昨天同期", ("days", 7): "上周同期", ("months", 1): "上月同期",
                 ("months", 3): "上季度同期", ("months", 12): "去年同期"}
_REL_DAYS = {0: "今天", -1: "昨天", -2: "前天", -3: "大前天"}
_REL_WEEKS = {0: "本周", -1: "上周", -2: "上上周"}


def date_label(start: datetime, end: datetime, step: Step, today: date, relative: bool = False) -> str | None:
    """A calendar name for a whole-day window (``11月``, ``第3季度``, ``11月1日-11月7日``), else None."""
    first, stop = start.date(), end.date()
    if start != at_midnight(first, start.tzinfo) or end != at_midnight(stop, end.tzinfo) or stop <= first:
        return None
    last = stop - timedelta(days=1)
    with_year = first.year != today.year or last.year != today.year

    def y(d: date) -> str:
        return f"{d.year}年" if with_year else ""

    unit, amount = step
    if unit == "months" and first.day == 1 and stop.day == 1:
        if amount == 12 and first.month == 1:
            return f"{first.year}年"
        if amount == 3 and first.month % 3 == 1:
            return f"{y(first)}第{first.month // 3 + 1}季度"
        if amount == 1:
            return f"{y(first)}{first.month}月"
        return f"{y(first)}{first.month}月-{y(last)}{last.month}月"
    if unit != "days":
        return None
    offset = (first - today).days
    if relative and amount == 1 and offset in _REL_DAYS:
        return _REL_DAYS[offset]
    weeks = (first - today + timedelta(days=today.weekday())).days // 7
    if relative and amount == 7 and first.weekday() == 0 and weeks in _REL_WEEKS:
        return _REL_WEEKS[weeks]
    if first == last:
        return f"{y(first)}{first.month}月{first.day}日"
    return f"{y(first)}{first.month}月{first.day}日-{y(last)}{last.month}月{last.day}日"


# --------------------------------------------------------------------------- the window
@dataclass(frozen=True)
class Window:
    """A resolved period ``[start, end)`` in local time plus its comparison window ``[prev_start, prev_end)``.

    ``kind``: ``to_date`` (the period contains now and ends at now), ``complete`` or ``rolling``.
    ``describe()`` prints ``start ~ end`` where end is exclusive.
    """

    start: datetime
    end: datetime
    phrase: str
    kind: str
    prev_start: datetime
    prev_end: datetime
    prev_phrase: str = "上一期"
    step: Step | None = field(default=None, repr=False)
    now: datetime | None = field(default=None, repr=False)

    @property
    def duration(self) -> timedelta:
        return to_utc(self.end) - to_utc(self.start)

    def _step(self) -> Step:
        if self.step is not None:
            return self.step
        return ("seconds", (to_utc(self.start) - to_utc(self.prev_start)).total_seconds())

    def previous(self) -> Window:
        """The comparison window as a Window of its own (its previous moves back by the same step)."""
        step = self._step()
        today = (self.now or self.end).date()
        label = date_label(shift_back(self.prev_start, step), shift_back(self.prev_end, step), step, today, True)
        return Window(self.prev_start, self.prev_end, self.prev_phrase, "complete",
                      shift_back(self.prev_start, step), shift_back(self.prev_end, step),
                      prev_phrase=label or "上一期", step=step, now=self.now)

    def describe(self) -> str:
        """E.g. ``本周 11-23 00:00 ~ 11-26 15:00`` (end exclusive; the year appears when not now's year)."""
        return f"{self.phrase} {_fmt_span(self.start, self.end, self._year)}"

    def prev_describe(self) -> str:
        return f"{self.prev_phrase} {_fmt_span(self.prev_start, self.prev_end, self._year)}"

    @property
    def _year(self) -> int:
        return (self.now or self.end).year


