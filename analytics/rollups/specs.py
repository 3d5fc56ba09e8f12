"""What each rollup aggregates, the dialect-aware bucket expressions, and how a window is covered.

A :class:`RollupSpec` names the raw rows behind a rollup table (source, time column, extra
conditions), its dimensions (rollup column → raw expression) and its measures (rollup column →
raw aggregate). The same expressions build the hourly buckets (``INSERT … SELECT … GROUP BY``) and
answer the partial edge hours of a window straight from raw rows, so both halves agree by
construction. Coarser grains (day, month) are sums of the finer rollup rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, case, func, literal, literal_column, select, true, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from analytics.store.models import Complaint, Conversation, Message, Order, Return, Review
from analytics.store.rollup_models import (
    NULL_KEY,
    REPEAT_TABLES,
    RollupComplaints,
    RollupComplaintTops,
    RollupConversations,
    RollupFrt,
    RollupMessages,
    RollupOrders,
    RollupReturns,
    RollupReviews,
)

CONV = Conversation.__table__
MSG = Message.__table__
COMPLAINT = Complaint.__table__
ORDER = Order.__table__
RETURN = Return.__table__
REVIEW = Review.__table__

HOUR, DAY, MONTH = "h", "d", "m"
ALL_KEY = "*"  # the key of the overall rows (dim 'all'); a NULL filter value is '' like everywhere
FRT_ALL = ALL_KEY  # (name kept for rollups.FRT_ALL)


def per_filter(name: str, filters: dict[str, ColumnElement]) -> tuple[FromClause, ColumnElement, ColumnElement]:
    """Rows counted once overall and once under each single filter (rollup_frt, rollup_complaint_tops):
    a table of one row per 'all' and per filter name to cross join with the raw rows, its ``dim`` column,
    and the key each (raw row, dim) pair is stored under — the filter's value, or ``ALL_KEY``."""
    rows = union_all(*[select(literal_column(f"'{d}'").label("dim")) for d in ("all", *filters)]).subquery(name)
    key = case(*[(rows.c.dim == literal_column(f"'{d}'"), col) for d, col in filters.items()],
               else_=literal_column(f"'{ALL_KEY}'"))
    return rows, rows.c.dim, key


COARSE_TO_FINE = (MONTH, DAY, HOUR)

#: The single filters ``rollup_complaint_tops`` stores its rows under (``fdim``). Any other filter — 类别,
#: whose top list would be the filter itself — has no rows there (reading it would count 0): callers
#: read the ``complaints`` rollup, which carries every complaint dimension, instead.
COMPLAINT_TOPS_FDIMS = ("channel", "product", "agent", "shop")


@dataclass(frozen=True)
class RollupSpec:
    kind: str  # also the raw kind whose rows it counts
    table: Table
    source: FromClause  # the raw table, or the raw table LEFT JOIN the table its dimensions come from
    time: ColumnElement
    id_column: ColumnElement
    dims: dict[str, ColumnElement]
    measures: dict[str, ColumnElement]
    floats: frozenset[str] = frozenset()  # measures summed as floats; the rest are integers
    where: tuple[ColumnElement, ...] = ()
    grains: tuple[str, ...] = (HOUR, DAY, MONTH)  # finest first; coarser grains are sums of the finer
    value_dims: frozenset[str] = frozenset()  # numeric dimensions, never NULL (``where`` excludes NULL)
    day_dims: frozenset[str] = frozenset()  # timestamps stored as their UTC day, never NULL

    def keys(self, dialect: str) -> list[ColumnElement]:
        """The raw expressions of the dimensions as stored: a NULL text dimension becomes ``''``."""
        out = []
        for name, expr in self.dims.items():
            if name in self.day_dims:
                out.append(bucket_expr(expr, DAY, dialect))
            else:
                out.append(expr if name in self.value_dims else func.coalesce(expr, literal(NULL_KEY)))
        return out

    def coerce(self, name: str, value: object) -> int | float:
        if value is None:
            return 0.0 if name in self.floats else 0
        return float(value) if name in self.floats else int(value)  # type: ignore[arg-type]


def _count_if(condition: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _build_specs() -> dict[str, RollupSpec]:
    frt = CONV.c.first_response_seconds
    conv_of_complaint = COMPLAINT.outerjoin(CONV, COMPLAINT.c.conversation_id == CONV.c.conversation_id)
    conv_of_message = MSG.outerjoin(CONV, MSG.c.conversation_id == CONV.c.conversation_id)
    order_of_return = RETURN.outerjoin(ORDER, RETURN.c.order_id == ORDER.c.order_id)
    specs = [
        RollupSpec(
            "conversations", RollupConversations.__table__, CONV, CONV.c.started_at, CONV.c.conversation_id,
            {"channel": CONV.c.channel, "shop": CONV.c.shop, "agent": CONV.c.agent},
            {"n": func.count(), "rated": func.count(CONV.c.rating), "good": _count_if(CONV.c.rating >= 4),
             "resolved_known": func.count(CONV.c.resolved), "resolved": _count_if(CONV.c.resolved.is_(True)),
             "frt_n": func.count(frt), "frt_sum": func.coalesce(func.sum(frt), 0.0), "frt_le30": _count_if(frt <= 30)},
            floats=frozenset({"frt_sum"}),
        ),
        RollupSpec(
            "complaints", RollupComplaints.__table__, conv_of_complaint, COMPLAINT.c.created_at,
            COMPLAINT.c.complaint_id,
            {"channel": COMPLAINT.c.channel, "product": COMPLAINT.c.product, "category": COMPLAINT.c.category,
             "agent": CONV.c.agent, "shop": CONV.c.shop},
            {"n": func.count()},
        ),
        RollupSpec(
            "orders", RollupOrders.__table__, ORDER, ORDER.c.created_at, ORDER.c.order_id,
            {"channel": ORDER.c.channel, "product": ORDER.c.product},
            {"n": func.count(), "amount_fen": func.coalesce(func.sum(ORDER.c.amount_fen), 0)},
        ),
        RollupSpec(
            "returns", RollupReturns.__table__, order_of_return, RETURN.c.created_at, RETURN.c.return_id,
            {"product": RETURN.c.product, "channel": ORDER.c.channel, "reason": RETURN.c.reason},
            {"n": func.count()},
        ),
        RollupSpec(
            "reviews", RollupReviews.__table__, REVIEW, REVIEW.c.created_at, REVIEW.c.review_id,
            {"product": REVIEW.c.product},
            {"n": func.count(), "bad": _count_if(REVIEW.c.rating <= 2)},
        ),
        RollupSpec(
            "messages", RollupMessages.__table__, conv_of_message, MSG.c.sent_at, MSG.c.message_id,
            {"channel": CONV.c.channel, "shop": CONV.c.shop, "agent": CONV.c.agent},
            {"n": func.count(), "score_sum": func.coalesce(func.sum(MSG.c.sentiment), 0.0),
             "neg": _count_if(MSG.c.sentiment_label == "neg")},
            floats=frozenset({"score_sum"}),
            where=(MSG.c.sender == "customer", MSG.c.sentiment.is_not(None)),
        ),
    ]
    # First-response histogram: conversations counted per exact first-response value, so the median and
    # P90 of any window are read off a running count (see percentiles.quantiles). Each conversation is
    # counted once overall and once under each single filter it can be asked with (渠道, 店铺, 客服) — a
    # cross join with a four-row table (per_filter), so one pass over a batch's conversations maintains all four. Keyed by all
    # three dimensions at once, a day bucket would hold nearly one row per conversation. Day and month
    # grains only: an hour rarely repeats a value, and up to a day of edge rows is a cheap index range.
    frt_rows, dim, key = per_filter("frt_dims", {d: CONV.c[d] for d in ("channel", "shop", "agent")})
    specs.append(RollupSpec("frt_hist", RollupFrt.__table__, CONV.outerjoin(frt_rows, true()), CONV.c.started_at,
                            CONV.c.conversation_id, {"dim": dim, "key": key, "v": frt}, {"n": func.count()},
                            where=(frt.is_not(None),), grains=(DAY, MONTH), value_dims=frozenset({"v"})))
    # /投诉 with at most one filter: complaints by category and product, overall and once under each single
    # filter (per_filter, like rollup_frt). Day and month grains: ~9 complaints an hour, so an hour grain would be
    # larger than its raw rows; up to a day of raw edge rows is a few hundred complaints.
    tops_cols = {"channel": COMPLAINT.c.channel, "product": COMPLAINT.c.product, "agent": CONV.c.agent,
                 "shop": CONV.c.shop}
    tops_rows, fdim, fkey = per_filter("complaint_dims", {d: tops_cols[d] for d in COMPLAINT_TOPS_FDIMS})
    specs.append(RollupSpec("complaint_tops", RollupComplaintTops.__table__,
                            conv_of_complaint.outerjoin(tops_rows, true()), COMPLAINT.c.created_at,
                            COMPLAINT.c.complaint_id,
                            {"fdim": fdim, "fkey": fkey, "category": COMPLAINT.c.category,
                             "product": COMPLAINT.c.product},
                            {"n": func.count()}, grains=(DAY, MONTH)))
    # 复购率: orders counted by their bucket and the UTC day of their k-th predecessor (analytics.rollups.repeat).
    order_day = (DAY, MONTH)
    for kind, table in REPEAT_TABLES.items():
        dim = kind.split("_")[1] if kind.count("_") == 2 else None
        k = kind[-1]
        pointer = ORDER.c[f"prev{k}_{dim}_at" if dim else f"prev{k}_at"]
        dims = {dim: ORDER.c[dim]} if dim else {}
        specs.append(RollupSpec(kind, table, ORDER, ORDER.c.created_at, ORDER.c.order_id, {**dims, "pday": pointer},
                                # coalesce(): not a range on the predecessor indexes, so raw edge rows are
                                # found by time (SQLite would walk ix_order_prev* for "IS NOT NULL")
                                {"n": func.count()}, where=(func.coalesce(pointer, pointer).is_not(None),),
                                grains=order_day,
                                day_dims=frozenset({"pday"})))
    return {spec.kind: spec for spec in specs}


SPECS: dict[str, RollupSpec] = _build_specs()

# Which rollups a batch of a raw kind can change: its own, and those whose dimensions come from it
# (a conversation's agent labels its complaints and messages; an order's channel labels its returns;
# new messages change the derived first response time of their conversations).
AFFECTED: dict[str, tuple[str, ...]] = {
    "conversations": ("conversations", "frt_hist", "complaints", "complaint_tops", "messages"),
    "messages": ("messages", "conversations", "frt_hist"),
    "complaints": ("complaints", "complaint_tops"),
    "orders": ("orders", "returns", *REPEAT_TABLES),
    "returns": ("returns",),
    "reviews": ("reviews",),
}
# The raw column that ties a rollup's rows to the row its borrowed dimensions come from.
LINKS: dict[str, ColumnElement] = {
    "complaints": COMPLAINT.c.conversation_id,
    "complaint_tops": COMPLAINT.c.conversation_id,
    "messages": MSG.c.conversation_id,
    "returns": RETURN.c.order_id,
}


# -- bucket expressions ----------------------------------------------------------------------------

# SQLite keeps UTCDateTime values as 'YYYY-MM-DD HH:MM:SS.ffffff' text in UTC: a bucket start is a
# prefix of that text padded back to the same format, so it compares equal to a bound datetime.
_SQLITE_BUCKET = {HOUR: (13, ":00:00.000000"), DAY: (10, " 00:00:00.000000"), MONTH: (7, "-01 00:00:00.000000")}
_PG_UNIT = {HOUR: "'hour'", DAY: "'day'", MONTH: "'month'"}


def bucket_expr(column: ColumnElement, grain: str, dialect: str) -> ColumnElement:
    """Start of the UTC ``grain`` bucket ``column`` falls in, in the column's own storage type.

    Literals (not bound parameters) so the expression in SELECT and GROUP BY is textually identical,
    which PostgreSQL requires.
    """
    if dialect == "postgresql":
        utc = literal_column("'UTC'")
        truncated = func.date_trunc(literal_column(_PG_UNIT[grain]), func.timezone(utc, column))
        return func.timezone(utc, truncated)  # timestamp read as UTC -> timestamptz, whatever the session zone
    length, pad = _SQLITE_BUCKET[grain]
    return func.substr(column, literal_column("1"), literal_column(str(length))).concat(literal_column(f"'{pad}'"))


# -- calendar arithmetic in UTC --------------------------------------------------------------------

def floor(dt: datetime, grain: str) -> datetime:
    dt = dt.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if grain in (DAY, MONTH):
        dt = dt.replace(hour=0)
    if grain == MONTH:
        dt = dt.replace(day=1)
    return dt


def step(dt: datetime, grain: str) -> datetime:
    """The start of the next bucket after the bucket starting at ``dt``."""
    if grain == HOUR:
        return dt + timedelta(hours=1)
    if grain == DAY:
        return dt + timedelta(days=1)
    return dt.replace(year=dt.year + 1, month=1) if dt.month == 12 else dt.replace(month=dt.month + 1)


def ceil(dt: datetime, grain: str) -> datetime:
    low = floor(dt, grain)
    return low if low == dt else step(low, grain)


Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class Cover:
    """[start, end) as whole rollup buckets (grain, lo, hi) plus raw edge ranges shorter than the finest one."""

    buckets: tuple[tuple[str, datetime, datetime], ...]
    raw: tuple[Range, ...]


def cover(start: datetime, end: datetime, finest: str = HOUR) -> Cover | None:
    """Split a window into the coarsest whole buckets no finer than ``finest``, plus raw edges shorter
    than one ``finest`` bucket; None when it holds no whole ``finest`` bucket."""
    first, last = ceil(start, finest), floor(end, finest)
    if first >= last:
        return None
    raw = tuple(r for r in ((start, first), (last, end)) if r[0] < r[1])
    buckets: list[tuple[str, datetime, datetime]] = []

    def fill(lo: datetime, hi: datetime, level: int) -> None:
        grain = COARSE_TO_FINE[level]
        if grain == finest:
            buckets.append((finest, lo, hi))
            return
        a, b = ceil(lo, grain), floor(hi, grain)
        if a >= b:
            fill(lo, hi, level + 1)
            return
        if lo < a:
            fill(lo, a, level + 1)
        buckets.append((grain, a, b))
        if b < hi:
            fill(b, hi, level + 1)

    fill(first, last, 0)
    return Cover(tuple(buckets), raw)


def merge_ranges(starts: list[datetime], grain: str = HOUR) -> list[Range]:
    """Sorted ``grain`` bucket starts as contiguous [lo, hi) ranges."""
    ranges: list[Range] = []
    for start in starts:
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], step(start, grain))
        else:
            ranges.append((start, step(start, grain)))
    return ranges


RAW = "raw"  # a signed-cover term counted from raw rows
Term = tuple[int, str, datetime, datetime]  # (sign, grain or RAW, lo, hi)


def signed_cover(start: datetime, end: datetime) -> list[Term]:
    """[start, end) as signed terms over rollups with hour, day and month grains: whole day/month buckets
    between the UTC midnights nearest to each end, plus (or minus) the hours between those midnights and
    the ends, plus raw rows for the partial hours.

    A local day in UTC+8 is [16:00, 16:00 next day): as one day bucket + its first 8 hours − the 8 hours
    after it, where the hour ranges are shared with the neighbouring days. A series of local days then
    reads each day bucket and a third of the hour buckets once (:func:`series.range_sums`), not
    every hour bucket of the window.
    """
    a, b = ceil(start, HOUR), floor(end, HOUR)
    if a >= b:
        return [(1, RAW, start, end)]
    terms: list[Term] = [(1, RAW, lo, hi) for lo, hi in ((start, a), (b, end)) if lo < hi]

    def nearest_midnight(t: datetime) -> datetime:
        lo = floor(t, DAY)
        return lo if t - lo <= timedelta(hours=12) else step(lo, DAY)

    day_a, day_b = nearest_midnight(a), nearest_midnight(b)
    if day_a >= day_b:
        return [*terms, (1, HOUR, a, b)]
    plan = cover(day_a, day_b, DAY)
    assert plan is not None and not plan.raw  # midnight to midnight, at least a day apart
    terms += [(1, grain, lo, hi) for grain, lo, hi in plan.buckets]
    if a < day_a:
        terms.append((1, HOUR, a, day_a))
    elif day_a < a:
        terms.append((-1, HOUR, day_a, a))
    if day_b < b:
        terms.append((1, HOUR, day_b, b))
    elif b < day_b:
        terms.append((-1, HOUR, b, day_b))
    return terms
