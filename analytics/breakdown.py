"""Breakdowns behind /客服, /高峰 and trend charts: per agent, per weekday×hour, per day/week/month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, case, func, select

from analytics import metrics, rollups
from analytics.metrics import COMPLAINT, CONV, _conv_where
from analytics.periods import Window, bucket_starts
from analytics.store.sqlfunc import bucket_to_datetime, hour_bucket


@dataclass
class AgentRow:
    agent: str
    conversations: int
    rated: int
    good: int
    frt_n: int
    frt_sum: float
    known: int
    resolved: int
    complaints: int = 0

    @property
    def csat(self) -> float | None:
        return self.good / self.rated if self.rated else None

    @property
    def frt_mean(self) -> float | None:
        return self.frt_sum / self.frt_n if self.frt_n else None

    @property
    def resolution(self) -> float | None:
        return self.resolved / self.known if self.known else None


def by_agent(engine: Engine, start: datetime, end: datetime, filters: dict[str, str] | None = None) -> list[AgentRow]:
    """Per-agent conversation metrics over [start, end), one SQL GROUP BY (plus one for complaints)."""
    filters = dict(filters or {})
    if "product" in filters:
        raise metrics.MetricError("product")
    frt = CONV.c.first_response_seconds
    stmt = (
        select(CONV.c.agent, func.count(), func.count(CONV.c.rating),
               func.sum(case((CONV.c.rating >= 4, 1), else_=0)), func.count(frt), func.sum(frt),
               func.count(CONV.c.resolved), func.sum(case((CONV.c.resolved.is_(True), 1), else_=0)))
        .where(*_conv_where(start, end, filters)).group_by(CONV.c.agent)
    )
    complaints_stmt = (
        select(CONV.c.agent, func.count()).select_from(COMPLAINT.join(CONV, COMPLAINT.c.conversation_id == CONV.c.conversation_id))
        .where(COMPLAINT.c.created_at >= start, COMPLAINT.c.created_at < end,
               *[CONV.c[k] == v for k, v in filters.items()])
        .group_by(CONV.c.agent)
    )
    with engine.connect() as conn:
        found = rollups.grouped(conn, "conversations", ("agent",), start, end, filters)
        if found is not None:
            rows = [AgentRow(a, int(m["n"]), int(m["rated"]), int(m["good"]), int(m["frt_n"]), float(m["frt_sum"]),
                             int(m["resolved_known"]), int(m["resolved"])) for (a,), m in found if m["n"] > 0]
        else:
            rows = [AgentRow(a, n, r or 0, g or 0, fn or 0, float(fs or 0), k or 0, s or 0)
                    for a, n, r, g, fn, fs, k, s in conn.execute(stmt)]
        # The complaint rollup's agent and shop are its conversation's, like this join; its channel is the
        # complaint's own, so a 渠道 filter reads the join.
        by_conv = rollups.grouped(conn, "complaints", ("agent",), start, end, filters, ("n",)) \
            if set(filters) <= {"agent", "shop"} else None
        if by_conv is not None:
            complaints = {a: int(m["n"]) for (a,), m in by_conv if a}
        else:
            complaints = dict(conn.execute(complaints_stmt).all())
    for row in rows:
        row.complaints = int(complaints.get(row.agent, 0))
    return rows


def weekday_hour_counts(engine: Engine, start: datetime, end: datetime, filters: dict[str, str] | None,
                        tz: ZoneInfo) -> list[list[int]]:
    """Conversations in [start, end) by local weekday (Mon=0) × hour: counts per UTC hour (the hourly rollup,
    or raw rows), folded locally."""
    bucket = hour_bucket(CONV.c.started_at, engine.dialect.name)
    stmt = select(bucket, func.count()).where(*_conv_where(start, end, dict(filters or {}))).group_by(bucket)
    matrix = [[0] * 24 for _ in range(7)]
    with engine.connect() as conn:
        found = rollups.hourly(conn, "conversations", start, end, dict(filters or {}))
        for value, n in found if found is not None else conn.execute(stmt):
            local = bucket_to_datetime(value).astimezone(tz)
            matrix[local.weekday()][local.hour] += int(n)
    return matrix


def series(engine: Engine, key: str, window: Window, granularity: str,
           filters: dict[str, str] | None = None) -> list[tuple[datetime, float | None, int]]:
    """(bucket start, value, n) per local day/week/month bucket of the window, clipped to it."""
    return series_many(engine, key, [window], granularity, filters)[0]


def segments(window: Window, granularity: str) -> list[tuple[datetime, datetime, datetime]]:
    """(bucket start, lo, hi): the window's local buckets, clipped to it."""
    starts = bucket_starts(window, granularity)
    out = []
    for i, bucket_start in enumerate(starts):
        lo = max(bucket_start, window.start)
        hi = min(starts[i + 1] if i + 1 < len(starts) else window.end, window.end)
        if lo < hi:
            out.append((bucket_start, lo, hi))
    return out


def series_many(engine: Engine, key: str, windows: list[Window], granularity: str,
                filters: dict[str, str] | None = None) -> list[list[tuple[datetime, float | None, int]]]:
    """:func:`series` of several windows (a trend and its comparison) from one rollup read per measure
    set (``rollups.batch``), not one per point."""
    plans = [segments(w, granularity) for w in windows]
    with engine.connect() as conn, rollups.batch([(lo, hi) for plan in plans for _, lo, hi in plan]):
        out = []
        for plan in plans:
            points = []
            for bucket_start, lo, hi in plan:
                r = metrics.compute_on(conn, key, lo, hi, filters, headline_only=True)
                points.append((bucket_start, r.value, r.n))
            out.append(points)
        return out


#: Coarsest first: a requested granularity that does not fit steps down this list.
FINER = ("month", "week", "day", "hour")


def bucket_end(bucket_start: datetime, granularity: str) -> datetime:
    """Where the local bucket starting at ``bucket_start`` ends (the next bucket's start)."""
    tz = bucket_start.tzinfo
    if granularity == "hour":
        return (bucket_start.astimezone(UTC) + timedelta(hours=1)).astimezone(tz)
    day = bucket_start.date()
    if granularity == "month":
        index = day.year * 12 + day.month
        nxt = day.replace(year=index // 12, month=index % 12 + 1, day=1)
    else:
        nxt = day + timedelta(days=7 if granularity == "week" else 1)
    wall = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    return wall.astimezone(UTC).astimezone(tz)  # a midnight inside a DST gap → the real instant


def partial_flags(window: Window, granularity: str) -> list[bool]:
    """Per :func:`segments` bucket: whether the window holds only part of it (clipped at either end) —
    the current hour with five minutes of data, a month the window enters on its 27th. A partial bucket
    of a count is low only because it is short, so charts draw it as partial."""
    return [lo > start or hi < bucket_end(start, granularity) for start, lo, hi in segments(window, granularity)]


def fits(window: Window, granularity: str) -> bool:
    """A trend by ``granularity`` says something: at least two points, at least one a whole bucket.
    近7天 按月 (two slivers of months) and 本月 按周 on the 3rd (one week) do not fit."""
    flags = partial_flags(window, granularity)
    return len(flags) >= 2 and not all(flags)


def fit_granularity(window: Window, requested: str | None) -> str | None:
    """The granularity to draw: the requested (or automatic) one when it fits the window, else the
    coarsest finer one that does (按月 → 按周 → 按天 → 按小时); None when none does, or when nothing was
    requested and the window is a day or less (no trend by default)."""
    wanted = requested or auto_granularity(window)
    if wanted is None:
        return None
    for granularity in FINER[FINER.index(wanted):]:
        if fits(window, granularity):
            return granularity
    return None


def auto_granularity(window: Window) -> str | None:
    """Day buckets up to ~2 months, weeks up to ~6 months, months beyond; None for a day or less."""
    days = window.duration.total_seconds() / 86400
    if days <= 1.5:
        return None
    if days <= 62:
        return "day"
    if days <= 190:
        return "week"
    return "month"


@dataclass
class ProductRow:
    product: str
    orders: int = 0
    amount: float = 0.0
    returns: int = 0
    reviews: int = 0
    bad_reviews: int = 0
    complaints: int = 0

    @property
    def return_rate(self) -> float | None:
        return self.returns / self.orders if self.orders else None

    @property
    def bad_rate(self) -> float | None:
        return self.bad_reviews / self.reviews if self.reviews else None


def sales_by(engine: Engine, dimension: str, start: datetime, end: datetime,
             filters: dict[str, str] | None = None) -> list[tuple[str, int, float]]:
    """(value, orders, amount ¥) per channel or product over [start, end), largest amount first."""
    from analytics.metrics import ORDER, _order_where

    col = ORDER.c[dimension]
    amount = func.coalesce(func.sum(ORDER.c.amount_fen), 0)
    stmt = (select(col, func.count(), amount).where(*_order_where(start, end, dict(filters or {})), col.is_not(None))
            .group_by(col).order_by(amount.desc(), col.asc()))
    with engine.connect() as conn:
        found = rollups.grouped(conn, "orders", (dimension,), start, end, dict(filters or {}), ("n", "amount_fen"))
        if found is None:
            return [(str(v), int(n), int(a) / 100) for v, n, a in conn.execute(stmt)]
    rows = [(v, int(m["n"]), int(m["amount_fen"])) for (v,), m in found if v and m["n"] > 0]
    rows.sort(key=lambda r: (-r[2], r[0]))  # amount desc, then value: Python's code-point order, as the tests'
    return [(v, n, a / 100) for v, n, a in rows]


def product_view(engine: Engine, start: datetime, end: datetime,
                 filters: dict[str, str] | None = None) -> list[ProductRow]:
    """Per product: what sells (orders, amount), what comes back (returns), what gets bad reviews and complaints."""
    from analytics.metrics import COMPLAINT, RETURN, REVIEW, _return_where

    filters = dict(filters or {})
    rows: dict[str, ProductRow] = {}
    for product, n, amount in sales_by(engine, "product", start, end, filters):
        rows[product] = ProductRow(product, orders=n, amount=amount)

    def row(p: str) -> ProductRow:
        return rows.setdefault(p, ProductRow(p))

    bad = func.sum(case((REVIEW.c.rating <= 2, 1), else_=0))
    review_where = [REVIEW.c.created_at >= start, REVIEW.c.created_at < end, REVIEW.c.product.is_not(None)]
    if "product" in filters:
        review_where.append(REVIEW.c.product == filters["product"])
    complaint_where = [COMPLAINT.c.created_at >= start, COMPLAINT.c.created_at < end,
                       COMPLAINT.c.product.is_not(None), *[COMPLAINT.c[k] == v for k, v in filters.items()]]
    # (rollup, its measures, the raw GROUP BY product with the same columns, where the counts go). Each
    # from its rollup when it can answer (same filter semantics: a return's channel is its order's, a
    # complaint's channel and product its own), else from the raw rows. Reviews carry no channel.
    parts = [
        ("returns", ("n",), select(RETURN.c.product, func.count()).where(*_return_where(start, end, filters),
                                                                         RETURN.c.product.is_not(None)),
         ("returns",)),
        ("complaints", ("n",), select(COMPLAINT.c.product, func.count()).where(*complaint_where), ("complaints",)),
    ]
    if "channel" not in filters:
        parts.append(("reviews", ("n", "bad"), select(REVIEW.c.product, func.count(), bad).where(*review_where),
                      ("reviews", "bad_reviews")))
    with engine.connect() as conn:
        for kind, measures, raw, fields in parts:
            found = rollups.grouped(conn, kind, ("product",), start, end, filters, measures)
            counts = ([(p, *[m[x] for x in measures]) for (p,), m in found if p and m["n"]] if found is not None
                      else list(conn.execute(raw.group_by(raw.selected_columns[0]))))
            for p, *values in counts:
                for name, value in zip(fields, values, strict=True):
                    setattr(row(p), name, int(value or 0))
    return sorted(rows.values(), key=lambda r: (-r.amount, r.product))
