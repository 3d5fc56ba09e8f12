"""Which part of a window the data covers: each metric's first and last row, and the notes that name a gap.

The demo holds 90 days; 上季度, 10月 or 今年 may start before its first row. An answer over such a window is
true only for the part the data covers, so it says so ("数据自 9月4日 起"), and a comparison with a window
that lies wholly before the data says there is nothing to compare with, rather than comparing with zero.

The range is two index probes per table (``min``/``max`` of an indexed time column: SQLite and PostgreSQL
both answer them from the index's ends), never a scan, so it costs the same at a year of 5M rows. Each
metric reads its own base rows: 满意度 the conversations, 差评 the reviews, 退货率 the orders …
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from analytics.periods import Window
from analytics.store.models import Complaint, Conversation, Message, Order, Review

#: The time columns a metric's base rows live in (all indexed). 投诉 counts zero on a day with conversations
#: and no complaint, so its data is where either table has rows; 退货率's base (n) is the orders.
_COLUMNS = {
    "conversations": (Conversation.__table__.c.started_at,),
    "csat": (Conversation.__table__.c.started_at,),
    "frt": (Conversation.__table__.c.started_at,),
    "resolution": (Conversation.__table__.c.started_at,),
    "complaints": (Complaint.__table__.c.created_at, Conversation.__table__.c.started_at),
    "return_rate": (Order.__table__.c.created_at,),
    "repurchase": (Order.__table__.c.created_at,),
    "sales": (Order.__table__.c.created_at,),
    "bad_reviews": (Review.__table__.c.created_at,),
    "sentiment": (Message.__table__.c.sent_at,),
}


@dataclass(frozen=True)
class DataRange:
    """The first and last row time (aware, UTC) of a metric's base rows; both None when there are none."""

    first: datetime | None
    last: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def data_range(conn: Connection, key: str) -> DataRange:
    """First and last row of metric ``key``'s base table(s): one ``min`` and one ``max`` probe per column."""
    firsts, lasts = [], []
    for col in _COLUMNS[key]:
        # Two statements, not min() and max() in one SELECT: SQLite answers a lone min() or max() from the
        # index's end, but scans the index for both together.
        lo = conn.execute(select(func.min(col))).scalar()
        hi = conn.execute(select(func.max(col))).scalar()
        if lo is not None:
            firsts.append(_aware(lo))
            lasts.append(_aware(hi))
    return DataRange(min(firsts) if firsts else None, max(lasts) if lasts else None)


def _day(moment: datetime, tz, with_time: bool) -> str:  # noqa: ANN001 - any tzinfo
    local = moment.astimezone(tz)
    text = f"{local.month}月{local.day}日"
    return f"{text} {local:%H:%M}" if with_time else text


def _short(start: datetime, end: datetime) -> bool:
    """Windows of two days or less name the clock time too: a day label would say nothing."""
    return end - start <= timedelta(days=2)


def starts_late(window_start: datetime, window_end: datetime, rng: DataRange) -> bool:
    """The data begins inside the window, on a later local day (or, for a short window, later at all)."""
    if rng.first is None or not window_start < rng.first < window_end:
        return False
    tz = window_start.tzinfo
    if _short(window_start, window_end):
        return rng.first - window_start >= timedelta(minutes=1)
    return rng.first.astimezone(tz).date() > window_start.date()


def ends_early(window_start: datetime, window_end: datetime, rng: DataRange, now: datetime) -> bool:
    """A complete past window whose last local day (or, for a short window, last hour) has no rows."""
    if rng.last is None or window_end > now or not window_start <= rng.last < window_end:
        return False
    tz = window_end.tzinfo
    if _short(window_start, window_end):
        return window_end - rng.last >= timedelta(hours=1)
    return rng.last.astimezone(tz).date() < (window_end - timedelta(microseconds=1)).date()


def outside(window_start: datetime, window_end: datetime, rng: DataRange) -> bool:
    """No row can fall in the window: there is no data, or all of it is after the window or before it."""
    return rng.first is None or rng.first >= window_end or rng.last < window_start


def coverage_note(window: Window, rng: DataRange, now: datetime) -> str | None:
    """One line naming the part of ``window`` the data covers, or None when it covers all of it."""
    short = _short(window.start, window.end)
    tz = window.start.tzinfo
    late = starts_late(window.start, window.end, rng)
    early = ends_early(window.start, window.end, rng, now)
    if late and early:
        return (f"数据只覆盖 {_day(rng.first, tz, short)} ~ {_day(rng.last, tz, short)}"
                f"（{window.phrase}的其余时间没有数据）")
    if late:
        return f"数据自 {_day(rng.first, tz, short)} 起（{window.phrase}此前的部分没有数据）"
    if early:
        return f"数据截至 {_day(rng.last, tz, short)}（{window.phrase}此后的部分没有数据）"
    return None


def no_data_note(window: Window, rng: DataRange) -> str:
    """The reply for a window that lies wholly outside the data: not a zero, no data at all."""
    if rng.first is None:
        return "还没有导入这类数据。"
    tz = window.start.tzinfo
    span = f"{_day(rng.first, tz, False)} ~ {_day(rng.last, tz, False)}"
    return f"这段时间没有数据（现有数据：{span}），不是 0。"


def compare_blocked(window: Window, rng: DataRange, additive: bool) -> str | None:
    """The comparison line when the data does not reach back over the comparison window, else None.

    Wholly before the data: there is nothing to compare with (not a zero). Partly, for a count or sum
    (``additive``): the window's start has no rows, so its total is too low to compare with."""
    if rng.first is None:
        return None
    label, first = window.prev_phrase, _day(rng.first, window.start.tzinfo, _short(window.prev_start, window.prev_end))
    if rng.first >= window.prev_end:
        return f"{label}没有数据（数据自 {first} 起），不作比较"
    if additive and starts_late(window.prev_start, window.prev_end, rng):
        return f"{label}只有部分数据（数据自 {first} 起），不作比较"
    return None


def compare_partial(window: Window, rng: DataRange) -> str | None:
    """For a rate or mean compared with a partly covered window: the line that names the gap."""
    if rng.first is None or not starts_late(window.prev_start, window.prev_end, rng):
        return None
    first = _day(rng.first, window.start.tzinfo, _short(window.prev_start, window.prev_end))
    return f"（{window.prev_phrase}的数据自 {first} 起，只覆盖其一部分）"
