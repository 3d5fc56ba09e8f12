"""What a staffing plan reads: hourly conversations from the rollups, handle time and concurrency from
the last week's conversations, and the roster's shifts.

- :func:`history` — whole local hours of weeks of conversations from the hour-grain rollup
  (``rollups.hour_rows``: one statement, never raw rows); None while the rollup is not ready.
- :func:`measure` — handle time (ended_at − started_at − first response: the time a chat holds an agent
  after the agent picks it up) and concurrency (open chats per agent while the agent has any open) from the
  last :data:`MEASURE_DAYS` days of raw conversations with an ``ended_at`` (at most the latest
  :data:`MEASURE_ROWS`), by the time index.
- :func:`scheduled` — agents on the roster per local hour (the share of the hour each shift covers,
  overlapping shifts of one agent counted once), for the days the roster covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Connection, func, select

from analytics import rollups
from analytics.staffing.forecast import History, HourKey
from analytics.staffing.model import MEASURE_DAYS
from analytics.store.models import Conversation
from analytics.store.roster import RosterShift

CONV = Conversation.__table__
ROSTER = RosterShift.__table__
MAX_HANDLE_SECONDS = 4 * 3600  # a chat "open" longer than this was left open, not worked on
MIN_SAMPLE = 30
MEASURE_ROWS = 20_000  # the latest conversations of the week at most: a bounded read however big the shop


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def local_key(dt: datetime, tz: tzinfo) -> HourKey:
    local = _aware(dt).astimezone(tz)
    return local.date(), local.hour


def history(conn: Connection, now: datetime, weeks: int, tz: tzinfo) -> History | None:
    """Conversations per whole local hour from ``weeks`` weeks before ``now``'s hour — or before the last
    conversation's hour when the data stops earlier (an export not imported yet is not a quiet week)."""
    local_now = now.astimezone(tz)
    end = local_now.replace(minute=0, second=0, microsecond=0)
    last = conn.execute(select(func.max(CONV.c.started_at)).where(CONV.c.started_at < now)).scalar()
    if last is not None and _aware(last) < end:  # the data stops before now: its last, partial hour is the end
        end = _aware(last).astimezone(tz).replace(minute=0, second=0, microsecond=0)
    start = datetime.combine(end.date() - timedelta(days=7 * weeks + 1), datetime.min.time(), tzinfo=tz)
    rows = rollups.hour_rows(conn, "conversations", (), start.astimezone(UTC), end.astimezone(UTC))
    if rows is None:
        return None
    counts: dict[HourKey, float] = {}
    for bucket, n in rows:
        key = local_key(bucket, tz)
        counts[key] = counts.get(key, 0.0) + float(n or 0)
    first = conn.execute(select(func.min(CONV.c.started_at))).scalar()
    first_day = local_key(first, tz)[0] if first is not None else end.date()
    if first is not None and local_key(first, tz)[1] > 0:
        first_day += timedelta(days=1)  # a first day that starts mid-day is not a whole day of data
    return History(counts, max(first_day, start.date()), (end.date(), end.hour))


@dataclass(frozen=True)
class Observed:
    handle_seconds: float | None
    concurrency: float | None
    sample: int


def measure(conn: Connection, now: datetime, days: int = MEASURE_DAYS) -> Observed:
    """Mean handle time and concurrency of the conversations started in the ``days`` days before ``now`` (the
    latest :data:`MEASURE_ROWS` of them: at 5M conversations a year a week holds ~100k)."""
    lo = now - timedelta(days=days)
    stmt = (select(CONV.c.agent, CONV.c.started_at, CONV.c.ended_at, CONV.c.first_response_seconds)
            .where(CONV.c.started_at >= lo, CONV.c.started_at < now, CONV.c.ended_at.is_not(None))
            .order_by(CONV.c.started_at.desc()).limit(MEASURE_ROWS))
    return observe((agent, _aware(s), _aware(e), frt) for agent, s, e, frt in conn.execute(stmt))


def observe(rows: Iterable[tuple[str, datetime, datetime, float | None]]) -> Observed:
    """The same from rows (agent, started_at, ended_at, first_response_seconds): pure, for tests."""
    handle_sum, n = 0.0, 0
    spans: dict[str, list[tuple[float, float]]] = {}
    for agent, started, ended, frt in rows:
        duration = (ended - started).total_seconds()
        if duration <= 0 or duration > MAX_HANDLE_SECONDS:
            continue
        wait = min(max(frt or 0.0, 0.0), duration)
        handle_sum += duration - wait
        n += 1
        begin = started.timestamp() + wait
        spans.setdefault(agent, []).append((begin, ended.timestamp()))
    if n < MIN_SAMPLE:
        return Observed(None, None, n)
    busy = sum(e - b for s in spans.values() for b, e in s)
    covered = sum(_union(s) for s in spans.values())
    return Observed(handle_sum / n, busy / covered if covered > 0 else None, n)


def _union(spans: list[tuple[float, float]]) -> float:
    """Length of the union of intervals (an agent's time with at least one chat open)."""
    total, cur_b, cur_e = 0.0, None, None
    for b, e in sorted(spans):
        if cur_e is None or b > cur_e:
            if cur_e is not None:
                total += cur_e - cur_b  # type: ignore[operator]
            cur_b, cur_e = b, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_b  # type: ignore[operator]
    return total


def scheduled(conn: Connection, start: datetime, end: datetime, tz: tzinfo) -> dict[HourKey, float] | None:
    """Agents scheduled per local hour of [start, end), for the days the roster lists shifts under (a day
    with none is unknown, not empty: its hours are left out); None when no listed day is in the window."""
    stmt = (select(ROSTER.c.agent, ROSTER.c.start_at, ROSTER.c.end_at, ROSTER.c.day)
            .where(ROSTER.c.start_at < end, ROSTER.c.start_at >= start - timedelta(days=2), ROSTER.c.end_at > start))
    found = list(conn.execute(stmt))
    listed = {_as_date(day) for *_, day in found}  # days the roster was made for; other days: not known
    counts = count_scheduled([(agent, _aware(s), _aware(e)) for agent, s, e, _ in found], start, end, tz)
    counts = {key: n for key, n in counts.items() if key[0] in listed}
    return counts or None


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def count_scheduled(shifts: Iterable[tuple[str, datetime, datetime]], start: datetime, end: datetime,
                    tz: tzinfo) -> dict[HourKey, float]:
    """Per local hour of [start, end): Σ over agents of the share of the hour they are on shift."""
    per_agent: dict[str, list[tuple[float, float]]] = {}
    for agent, s, e in shifts:
        per_agent.setdefault(agent, []).append((s.timestamp(), e.timestamp()))
    out: dict[HourKey, float] = {}
    hour = start
    while hour < end:
        lo, hi = hour.timestamp(), (hour + timedelta(hours=1)).timestamp()
        total = 0.0
        for spans in per_agent.values():
            clipped = [(max(b, lo), min(e, hi)) for b, e in spans if b < hi and e > lo]
            total += _union(clipped) / 3600.0
        out[local_key(hour, tz)] = total
        hour += timedelta(hours=1)
    return out


def days_from(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


__all__ = ["Observed", "count_scheduled", "days_from", "history", "local_key", "measure", "observe", "scheduled"]
