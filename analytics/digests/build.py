"""Building a 日报 or 周报 from the metric engine: every number is ``metrics.compute_on`` over a window.

All windows of one digest (the period, its comparisons, the flag baselines, the sparkline points)
are read inside one ``rollups.batch``, as the /概览 card does, so each rollup is fetched once for
all of them. Blocking (database): call from a thread.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError

from analytics import breakdown, metrics, rollups
from analytics.digests import flags
from analytics.digests.model import (
    AGENTS,
    DAILY,
    KPI_KEYS,
    RISING,
    WEEKLY,
    CategoryChange,
    Digest,
    DigestUnavailable,
    KpiRow,
    Period,
)
from analytics.metrics import COMPLAINT, METRICS, MetricResult, _complaint_where
from analytics.periods.window import at_midnight

WEEKDAY_CN = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
HISTORY_WEEKS = 4
DAILY_POINTS = 14  # 日报 sparkline: the last 14 days
WEEKLY_POINTS = 8  # 周报 sparkline: the last 8 weeks
RISING_TOP = 3
MIN_RISE = 3  # a category must gain at least this many complaints …
RISE_FACTOR = 1.5  # … and reach 1.5 × its baseline to count as rising
CATEGORY_LIMIT = 50


def daily_period(day: date, tz: ZoneInfo) -> Period:
    """The 日报 period of ``day``: that local day, compared with the day before and the same weekday a week earlier."""
    wd = WEEKDAY_CN[day.weekday()]
    return Period(DAILY, day, at_midnight(day, tz), at_midnight(day + timedelta(days=1), tz),
                  f"{day.month}月{day.day}日（{wd}）", "前日", f"上{wd}")


def weekly_period(day: date, tz: ZoneInfo) -> Period:
    """The 周报 period of the Monday–Sunday week containing ``day``, compared with the week before."""
    monday = day - timedelta(days=day.weekday())
    sunday = monday + timedelta(days=6)
    return Period(WEEKLY, monday, at_midnight(monday, tz), at_midnight(monday + timedelta(days=7), tz),
                  f"{monday.month}月{monday.day}日-{sunday.month}月{sunday.day}日", "前一周")


def default_day(kind: str, now: datetime, tz: ZoneInfo) -> date:
    """Yesterday (日报) or a day of last week (周报), in local time."""
    today = now.astimezone(tz).date()
    return today - timedelta(days=1) if kind == DAILY else today - timedelta(days=today.weekday() + 7)


def build(engine: Engine, period: Period, tz: ZoneInfo, *, filters: dict[str, str] | None = None,
          sections: tuple[str, ...], show_agents: bool = False, min_agent_n: int = 20) -> Digest:
    """The digest of ``period`` (canonical-column ``filters``), or :class:`DigestUnavailable` when the
    database cannot be read. Never a partial digest: any failure raises."""
    filters = dict(filters or {})
    digest = Digest(period, filters, sections, min_agent_n=min_agent_n)
    keys = [k for k in KPI_KEYS if METRICS[k].name in sections]
    digest.unsupported = [k for k in keys if any(f not in METRICS[k].filters for f in filters)]
    keys = [k for k in keys if k not in digest.unsupported]
    try:
        with engine.connect() as conn:
            _fill_rows(conn, digest, keys, tz)
            if digest.empty:
                digest.rows = {}
                return digest
            if RISING in sections or "complaints" in digest.rows:
                _fill_categories(conn, digest, tz)
        if show_agents and period.kind == WEEKLY and AGENTS in sections and set(filters) <= {"channel", "shop"}:
            prev = _shift(period, tz, -1)
            digest.agents = breakdown.by_agent(engine, period.start, period.end, filters)
            digest.agents_prev = breakdown.by_agent(engine, prev[0], prev[1], filters)
    except DBAPIError as exc:
        raise DigestUnavailable(f"database unreadable: {type(exc.orig or exc).__name__}") from exc
    return digest


def _shift(period: Period, tz: ZoneInfo, steps: int) -> tuple[datetime, datetime]:
    """The window ``steps`` periods (days or weeks) from ``period`` (negative: earlier), local midnights."""
    days = (1 if period.kind == DAILY else 7) * steps
    first = period.first + timedelta(days=days)
    length = 1 if period.kind == DAILY else 7
    return at_midnight(first, tz), at_midnight(first + timedelta(days=length), tz)


def _windows(period: Period, tz: ZoneInfo) -> dict[str, list[tuple[datetime, datetime]]]:
    """Every window the digest reads: previous, same weekday, flag history, sparkline points."""
    if period.kind == DAILY:
        day = lambda k: _shift(period, tz, -k)  # noqa: E731 - one-line local helper
        return {"previous": [day(1)], "same_weekday": [day(7)],
                "history": [day(7 * w) for w in range(1, HISTORY_WEEKS + 1)],
                "points": [day(k) for k in range(DAILY_POINTS - 1, -1, -1)]}
    week = lambda k: _shift(period, tz, -k)  # noqa: E731
    return {"previous": [week(1)], "same_weekday": [],
            "history": [week(w) for w in range(1, HISTORY_WEEKS + 1)],
            "points": [week(k) for k in range(WEEKLY_POINTS - 1, -1, -1)]}


def _fill_rows(conn: Connection, digest: Digest, keys: list[str], tz: ZoneInfo) -> None:
    period = digest.period
    plan = _windows(period, tz)
    every = [(period.start, period.end)] + [w for group in plan.values() for w in group]
    unique = list(dict.fromkeys(every))
    # One batch: each rollup is read once for every metric and window of the digest (as /概览).
    with rollups.batch(unique):
        for key in keys:
            digest.rows[key] = _row(conn, key, digest, plan)
        digest.empty = _is_empty(conn, digest)


def _row(conn: Connection, key: str, digest: Digest, plan: dict[str, list[tuple[datetime, datetime]]]) -> KpiRow:
    period, flt = digest.period, digest.filters
    cache: dict[tuple[datetime, datetime], MetricResult] = {}

    def head(window: tuple[datetime, datetime]) -> MetricResult:
        if window not in cache:
            cache[window] = metrics.compute_on(conn, key, *window, flt, headline_only=True)
        return cache[window]

    current = metrics.compute_on(conn, key, period.start, period.end, flt)  # full: medians, top lists
    cache[(period.start, period.end)] = current
    history = [head(w) for w in plan["history"]]
    points = [head(w) for w in plan["points"]]
    row = KpiRow(key, current, head(plan["previous"][0]),
                 head(plan["same_weekday"][0]) if plan["same_weekday"] else None,
                 history, [p.value for p in points])
    row.flag = flags.unusual(key, current, history)
    if period.kind == WEEKLY:
        row.streak = flags.streak(key, points[-(flags.MIN_STREAK + 1):])
    return row


def _is_empty(conn: Connection, digest: Digest) -> bool:
    """No conversation, complaint, order or review in the period, among the kinds the filters apply to
    (the rows already built answer for themselves; the others are read in the same batch)."""
    period, filters = digest.period, digest.filters
    checked = False
    for key in ("conversations", "complaints", "sales", "bad_reviews"):
        if any(f not in METRICS[key].filters for f in filters):
            continue  # e.g. reviews under 渠道=…: they carry no channel, so they say nothing here
        checked = True
        row = digest.rows.get(key)
        result = row.current if row is not None else metrics.compute_on(
            conn, key, period.start, period.end, filters, headline_only=True)
        if result.n:
            return False
    return checked


def complaint_categories(conn: Connection, start: datetime, end: datetime,
                         filters: dict[str, str]) -> list[tuple[str, int]]:
    """Every complaint category over [start, end) with its count, largest first (ties by name): the
    same reads as /投诉's top list (``rollup_complaint_tops`` with ≤ 1 filter, else the complaints
    rollup, else raw rows), with room for all categories instead of the top 5."""
    found = None
    if len(filters) <= 1 and set(filters) <= set(rollups.COMPLAINT_TOPS_FDIMS):
        fdim, fkey = next(iter(filters.items())) if filters else ("all", rollups.ALL_KEY)
        found = rollups.breakdown(conn, "complaint_tops", ("category",), start, end, {"fdim": fdim, "fkey": fkey},
                                  limit=CATEGORY_LIMIT)
    if found is None:
        found = rollups.breakdown(conn, "complaints", ("category",), start, end, filters, limit=CATEGORY_LIMIT)
    if found is not None:
        return [(k, n) for k, n in found[1]["category"] if n > 0]
    col, cnt = COMPLAINT.c.category, func.count().label("n")
    stmt = (select(col, cnt).where(*_complaint_where(start, end, filters), col.is_not(None))
            .group_by(col).order_by(cnt.desc(), col.asc()).limit(CATEGORY_LIMIT))
    return [(str(k), int(n)) for k, n in conn.execute(stmt)]


def _fill_categories(conn: Connection, digest: Digest, tz: ZoneInfo) -> None:
    period, flt = digest.period, digest.filters
    if any(f not in METRICS["complaints"].filters for f in flt):
        return
    digest.categories = complaint_categories(conn, period.start, period.end, flt)
    if period.kind == DAILY:  # baseline: the per-day mean of the 7 days before
        base_start, base_end, days = at_midnight(period.first - timedelta(days=7), tz), period.start, 7
    else:  # the week before
        (base_start, base_end), days = _shift(period, tz, -1), 1
    baseline = dict(complaint_categories(conn, base_start, base_end, flt))
    changes = [CategoryChange(cat, n, baseline.get(cat, 0) / days) for cat, n in digest.categories]
    rising = [c for c in changes if c.rise >= MIN_RISE and c.count >= RISE_FACTOR * c.baseline]
    digest.rising = sorted(rising, key=lambda c: (-c.rise, c.category))[:RISING_TOP]
