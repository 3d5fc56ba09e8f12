"""The metric dictionary of SPEC.md as one registry, computed by SQL aggregates in the database.

Each metric knows its name, aliases, definition text, unit and which direction is good, and
computes a :class:`MetricResult` for a window and filters. Nothing here loads raw rows into
Python: counts, sums and percentiles are aggregated by SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, case, exists, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from analytics import rollups
from analytics.store.models import Complaint, Conversation, Message, Order, Return, Review

CONV = Conversation.__table__
MSG = Message.__table__
COMPLAINT = Complaint.__table__
ORDER = Order.__table__
RETURN = Return.__table__
REVIEW = Review.__table__

#: Chat filter names → canonical column names.
FILTER_KEYS = {"渠道": "channel", "客服": "agent", "店铺": "shop", "商品": "product", "类别": "category"}
FILTER_ALIASES = {"channel": "渠道", "agent": "客服", "shop": "店铺", "product": "商品", "category": "类别",
                  "平台": "渠道", "坐席": "客服", "门店": "店铺", "产品": "商品", "宝贝": "商品",
                  "投诉类别": "类别", "分类": "类别"}


class MetricError(ValueError):
    """A metric cannot be computed as asked (e.g. a filter the metric's rows do not carry)."""


@dataclass
class MetricResult:
    """One metric over one window: the headline value, its base count, and the parts behind it."""

    key: str
    value: float | None
    n: int
    parts: dict[str, float | int | None] = field(default_factory=dict)
    top: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


Computer = Callable[[Connection, datetime, datetime, dict[str, str]], MetricResult]


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    aliases: tuple[str, ...]
    definition: str
    unit: str  # "%", "秒", "件", "个", "¥", "分"
    higher_is_better: bool | None
    filters: tuple[str, ...]
    compute: Computer
    #: What ``MetricResult.n`` counts, and its measure word: 参评 … 个, 订单 … 单.
    n_label: str = "n"
    n_unit: str = "个"
    #: A rate or mean is not compared with a previous period whose n is below this. Counts and sums
    #: (会话量, 投诉, 销售) have 0: zero conversations or complaints last week is a real baseline.
    min_compare_n: int = 5


def _filter_clause(table, filters: dict[str, str], allowed: dict[str, ColumnElement]) -> list:  # noqa: ANN001
    clauses = []
    for key, value in filters.items():
        col = allowed.get(key)
        if col is None:
            raise MetricError(key)
        clauses.append(col == value)
    return clauses


def _conv_filter_cols() -> dict[str, ColumnElement]:
    return {"channel": CONV.c.channel, "agent": CONV.c.agent, "shop": CONV.c.shop}


def _conv_where(start: datetime, end: datetime, filters: dict[str, str]) -> list:
    return [CONV.c.started_at >= start, CONV.c.started_at < end,
            *_filter_clause(CONV, filters, _conv_filter_cols())]


def _ratio(num: int | None, den: int | None) -> float | None:
    return (num or 0) / den if den else None


def count_conversations(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> int:
    return conn.execute(select(func.count()).select_from(CONV).where(*_conv_where(start, end, filters))).scalar_one()


def _count_convs(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> int:
    """Conversation count from the rollups when they can answer, else from raw rows."""
    sums = rollups.totals(conn, "conversations", start, end, filters)
    return int(sums["n"]) if sums is not None else count_conversations(conn, start, end, filters)


def _conversations(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> MetricResult:
    n = _count_convs(conn, start, end, filters)
    return MetricResult("conversations", float(n), n)


def _csat(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> MetricResult:
    sums = rollups.totals(conn, "conversations", start, end, filters)
    if sums is not None:
        total, n_rated, n_good = int(sums["n"]), int(sums["rated"]), int(sums["good"])
    else:
        rated = func.count(CONV.c.rating)
        good = func.sum(case((CONV.c.rating >= 4, 1), else_=0))
        row = conn.execute(select(func.count(), rated, good).where(*_conv_where(start, end, filters))).one()
        total, n_rated, n_good = row[0], row[1] or 0, row[2] or 0
    return MetricResult("csat", _ratio(n_good, n_rated), n_rated,
                        {"conversations": total, "rated": n_rated, "good": n_good,
                         "participation": _ratio(n_rated, total)})


def _resolution(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> MetricResult:
    sums = rollups.totals(conn, "conversations", start, end, filters)
    if sums is not None:
        total, n_known, n_solved = int(sums["n"]), int(sums["resolved_known"]), int(sums["resolved"])
    else:
        known = func.count(CONV.c.resolved)
        solved = func.sum(case((CONV.c.resolved.is_(True), 1), else_=0))
        row = conn.execute(select(func.count(), known, solved).where(*_conv_where(start, end, filters))).one()
        total, n_known, n_solved = row[0], row[1] or 0, row[2] or 0
    return MetricResult("resolution", _ratio(n_solved, n_known), n_known,
                        {"conversations": total, "known": n_known, "resolved": n_solved})


def percentile(conn: Connection, column, where: list, n: int, q: float) -> float | None:  # noqa: ANN001
    """Linear-interpolated percentile (PostgreSQL's percentile_cont) computed in the database."""
    if n == 0:
        return None
    if conn.dialect.name == "postgresql":
        stmt = select(func.percentile_cont(q).within_group(column.asc())).where(*where)
        value = conn.execute(stmt).scalar_one()
        return float(value) if value is not None else None
    pos = q * (n - 1)
    lo = int(pos)
    stmt = select(column).where(*where).order_by(column.asc()).limit(2).offset(lo)
    values = [float(v) for v in conn.execute(stmt).scalars()]
    if len(values) == 1 or pos == lo:
        return values[0]
    return values[0] + (values[1] - values[0]) * (pos - lo)


def _frt(conn: Connection, start: datetime, end: datetime, filters: dict[str, str],
         headline_only: bool = False) -> MetricResult:
    col = CONV.c.first_response_seconds
    where = [*_conv_where(start, end, filters), col.is_not(None)]
    sums = rollups.totals(conn, "conversations", start, end, filters)
    if sums is not None:  # mean and 30-second share from the rollups; median and P90 need the raw values
        n, n_fast = int(sums["frt_n"]), int(sums["frt_le30"])
        mean = sums["frt_sum"] / n if n else None
    else:
        fast = func.sum(case((col <= 30, 1), else_=0))
        n, mean, n_fast = conn.execute(select(func.count(), func.avg(col), fast).where(*where)).one()
    if headline_only:  # the mean and n only (trend points): no percentiles
        return MetricResult("frt", float(mean) if mean is not None else None, n, {"within_30s": _ratio(n_fast, n)})
    median, p90 = _frt_quantiles(conn, start, end, filters, col, where, n)
    return MetricResult("frt", float(mean) if mean is not None else None, n,
                        {"median": median, "p90": p90, "within_30s": _ratio(n_fast, n)})


def _frt_quantiles(conn: Connection, start: datetime, end: datetime, filters: dict[str, str],
                   col: ColumnElement, where: list, n: int) -> tuple[float | None, float | None]:
    """Median and P90: off the histogram rollup when the filters are none or one of 渠道/店铺/客服, else
    sorted raw values."""
    found = None
    if not filters:
        found = rollups.quantiles(conn, "frt_hist", start, end, {"dim": "all", "key": rollups.FRT_ALL}, ((1, 2), (9, 10)))
    elif len(filters) == 1 and next(iter(filters)) in ("channel", "shop", "agent"):
        (dim, value), = filters.items()
        found = rollups.quantiles(conn, "frt_hist", start, end, {"dim": dim, "key": value}, ((1, 2), (9, 10)))
    if found is not None:
        return found[1][0], found[1][1]
    return percentile(conn, col, where, n, 0.5), percentile(conn, col, where, n, 0.9)


def _complaint_where(start: datetime, end: datetime, filters: dict[str, str]) -> list:
    cols: dict[str, ColumnElement] = {"channel": COMPLAINT.c.channel, "product": COMPLAINT.c.product,
                                      "category": COMPLAINT.c.category}
    where = [COMPLAINT.c.created_at >= start, COMPLAINT.c.created_at < end]
    rest = {k: v for k, v in filters.items() if k not in ("agent", "shop")}
    where += _filter_clause(COMPLAINT, rest, cols)
    conv_filters = {k: v for k, v in filters.items() if k in ("agent", "shop")}
    if conv_filters:  # EXISTS, not IN (all of an agent's conversations): driven by the complaints' time range
        where.append(exists().where(CONV.c.conversation_id == COMPLAINT.c.conversation_id,
                                    *_filter_clause(CONV, conv_filters, _conv_filter_cols())))
    return where


def _top(conn: Connection, column, where: list, limit: int = 5) -> list[tuple[str, int]]:  # noqa: ANN001
    cnt = func.count().label("n")
    stmt = (select(column, cnt).where(*where, column.is_not(None)).group_by(column)
            .order_by(cnt.desc(), column.asc()).limit(limit))
    return [(str(k), int(v)) for k, v in conn.execute(stmt)]


def _complaints(conn: Connection, start: datetime, end: datetime, filters: dict[str, str],
                headline_only: bool = False) -> MetricResult:
    where = _complaint_where(start, end, filters)
    if headline_only:  # the count only: no top lists
        sums = rollups.totals(conn, "complaints", start, end, filters)
        n = int(sums["n"]) if sums is not None else conn.execute(
            select(func.count()).select_from(COMPLAINT).where(*where)).scalar_one()
        return MetricResult("complaints", float(n), n, {})
    found = None
    if len(filters) <= 1 and set(filters) <= set(rollups.COMPLAINT_TOPS_FDIMS):
        # ~100 rows a month overall or under one filter (rollup_complaint_tops); 类别 is no fdim there
        # (its top list is itself): the complaints rollup, which carries category, answers it
        fdim, fkey = next(iter(filters.items())) if filters else ("all", rollups.ALL_KEY)
        found = rollups.breakdown(conn, "complaint_tops", ("category", "product"), start, end,
                                  {"fdim": fdim, "fkey": fkey})
    if found is None:
        found = rollups.breakdown(conn, "complaints", ("category", "product"), start, end, filters)
    if found is not None:
        n, tops = found
    else:
        n = conn.execute(select(func.count()).select_from(COMPLAINT).where(*where)).scalar_one()
        tops = {"category": _top(conn, COMPLAINT.c.category, where), "product": _top(conn, COMPLAINT.c.product, where)}
    if "category" in filters:  # one category: its top list would only repeat the filter
        tops = {k: v for k, v in tops.items() if k != "category"}
    # Conversations carry no product or complaint category: under either filter there is no conversation
    # count of the same scope to divide by, so there is no 投诉率 (the reply says why).
    no_rate = "product" in filters or "category" in filters
    convs = None if no_rate else _count_convs(conn, start, end, filters)
    rate = n * 1000 / convs if convs else None
    return MetricResult("complaints", float(n), n, {"conversations": convs, "per_mille": rate}, tops)


def _order_where(start: datetime, end: datetime, filters: dict[str, str]) -> list:
    cols = {"channel": ORDER.c.channel, "product": ORDER.c.product}
    return [ORDER.c.created_at >= start, ORDER.c.created_at < end, *_filter_clause(ORDER, filters, cols)]


def _return_where(start: datetime, end: datetime, filters: dict[str, str]) -> list:
    where = [RETURN.c.created_at >= start, RETURN.c.created_at < end]
    if "product" in filters:
        where.append(RETURN.c.product == filters["product"])
    if "channel" in filters:  # EXISTS, not IN (every order of the channel): driven by the returns' time range
        where.append(exists().where(ORDER.c.order_id == RETURN.c.order_id, ORDER.c.channel == filters["channel"]))
    extra = set(filters) - {"product", "channel"}
    if extra:
        raise MetricError(extra.pop())
    return where


def _returns(conn: Connection, start: datetime, end: datetime, filters: dict[str, str],
             headline_only: bool = False) -> MetricResult:
    rwhere = _return_where(start, end, filters)
    if headline_only:  # the rate only: no top lists
        sums = rollups.totals(conn, "returns", start, end, filters)
        found: tuple[int, dict[str, list[tuple[str, int]]]] | None = (
            (int(sums["n"]), {}) if sums is not None
            else (conn.execute(select(func.count()).select_from(RETURN).where(*rwhere)).scalar_one(), {}))
    else:
        found = rollups.breakdown(conn, "returns", ("reason", "product"), start, end, filters)
    if found is not None:
        n_returns, tops = found
    else:
        n_returns = conn.execute(select(func.count()).select_from(RETURN).where(*rwhere)).scalar_one()
        tops = {"reason": _top(conn, RETURN.c.reason, rwhere), "product": _top(conn, RETURN.c.product, rwhere)}
    orders = rollups.totals(conn, "orders", start, end, filters)
    if orders is not None:
        n_orders = int(orders["n"])
    else:
        n_orders = conn.execute(select(func.count()).select_from(ORDER)
                                .where(*_order_where(start, end, filters))).scalar_one()
    return MetricResult("return_rate", _ratio(n_returns, n_orders), n_orders,
                        {"returns": n_returns, "orders": n_orders}, tops)


def _repurchase(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> MetricResult:
    scheme = {(): "", ("channel",): "_channel", ("product",): "_product"}.get(tuple(sorted(filters)))
    if scheme is not None:  # as sums (analytics.rollups.repeat): customers = orders − C1, repeaters = C1 − C2
        c1 = rollups.repeat_count(conn, f"repeat{scheme}_1", start, end, filters)
        c2 = rollups.repeat_count(conn, f"repeat{scheme}_2", start, end, filters) if c1 is not None else None
        orders = rollups.totals(conn, "orders", start, end, filters) if c2 is not None else None
        if c1 is not None and c2 is not None and orders is not None:
            customers, repeaters = int(orders["n"]) - c1, c1 - c2
            return MetricResult("repurchase", _ratio(repeaters, customers), customers,
                                {"customers": customers, "repeat_customers": repeaters})
    per_customer = (select(ORDER.c.customer_id, func.count().label("k"))
                    .where(*_order_where(start, end, filters)).group_by(ORDER.c.customer_id).subquery())
    repeat = func.sum(case((per_customer.c.k >= 2, 1), else_=0))
    customers, repeaters = conn.execute(select(func.count(), repeat).select_from(per_customer)).one()
    return MetricResult("repurchase", _ratio(repeaters, customers), customers,
                        {"customers": customers, "repeat_customers": repeaters or 0})


def _bad_reviews(conn: Connection, start: datetime, end: datetime, filters: dict[str, str],
                 headline_only: bool = False) -> MetricResult:
    where = [REVIEW.c.created_at >= start, REVIEW.c.created_at < end,
             *_filter_clause(REVIEW, filters, {"product": REVIEW.c.product})]
    sums = rollups.totals(conn, "reviews", start, end, filters)
    if sums is not None:
        n, n_bad = int(sums["n"]), int(sums["bad"])
    else:
        bad = func.sum(case((REVIEW.c.rating <= 2, 1), else_=0))
        n, n_bad = conn.execute(select(func.count(), bad).where(*where)).one()
    if headline_only:  # the rate only: no top products
        return MetricResult("bad_reviews", _ratio(n_bad, n), n, {"reviews": n, "bad": n_bad or 0})
    top = rollups.top(conn, "reviews", "product", start, end, filters, measure="bad") if sums is not None else None
    if top is None:
        top = _top(conn, REVIEW.c.product, [*where, REVIEW.c.rating <= 2])
    return MetricResult("bad_reviews", _ratio(n_bad, n), n, {"reviews": n, "bad": n_bad or 0}, {"product": top})


def _sales(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> MetricResult:
    sums = rollups.totals(conn, "orders", start, end, filters)
    if sums is not None:
        n, total = int(sums["n"]), int(sums["amount_fen"])
    else:
        where = _order_where(start, end, filters)
        n, total = conn.execute(select(func.count(), func.sum(ORDER.c.amount_fen)).where(*where)).one()
    amount = (total or 0) / 100
    return MetricResult("sales", amount, n, {"orders": n, "amount": amount, "aov": amount / n if n else None})


def _sentiment(conn: Connection, start: datetime, end: datetime, filters: dict[str, str]) -> MetricResult:
    sums = rollups.totals(conn, "messages", start, end, filters)
    if sums is not None:
        n, n_neg = int(sums["n"]), int(sums["neg"])
        mean = sums["score_sum"] / n if n else None
        return MetricResult("sentiment", mean, n,
                            {"messages": n, "negative": n_neg, "negative_share": _ratio(n_neg, n)})
    where = [MSG.c.sent_at >= start, MSG.c.sent_at < end, MSG.c.sender == "customer", MSG.c.sentiment.is_not(None)]
    if filters:
        sub = select(CONV.c.conversation_id).where(*_filter_clause(CONV, filters, _conv_filter_cols()))
        where.append(MSG.c.conversation_id.in_(sub))
    neg = func.sum(case((MSG.c.sentiment_label == "neg", 1), else_=0))
    n, mean, n_neg = conn.execute(select(func.count(), func.avg(MSG.c.sentiment), neg).where(*where)).one()
    return MetricResult("sentiment", float(mean) if mean is not None else None, n,
                        {"messages": n, "negative": n_neg or 0, "negative_share": _ratio(n_neg, n)})


_CONV_FILTERS = ("channel", "agent", "shop")
METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("conversations", "会话量", ("会话", "咨询量", "接待量", "conversations", "volume"),
           "时间窗内开始的会话数（按会话开始时间计）。", "个", None, _CONV_FILTERS, _conversations,
           n_label="会话", min_compare_n=0),
    Metric("csat", "满意度", ("满意率", "好评率", "csat", "satisfaction"),
           "时间窗内有评分的会话中，评分 ≥ 4（满分 5）的占比；参评率 = 有评分会话 / 全部会话。",
           "%", True, _CONV_FILTERS, _csat, n_label="参评"),
    Metric("frt", "首响", ("首次响应", "首响时间", "响应时间", "frt", "first_response"),
           "时间窗内有首响时间的会话：首次客服回复时间 − 首条客户消息时间（机器人消息不计）的均值、中位数、P90；"
           "30秒应答率 = 首响 ≤ 30 秒的占比。", "秒", False, _CONV_FILTERS, _frt, n_label="有首响的会话"),
    Metric("resolution", "解决率", ("解决", "resolution", "resolved"),
           "时间窗内已标注是否解决的会话中，已解决的占比。", "%", True, _CONV_FILTERS, _resolution, n_label="已标注"),
    Metric("complaints", "投诉", ("投诉量", "投诉率", "complaints", "complaint"),
           "时间窗内创建的投诉数；投诉率 = 投诉数 / 同期会话数 × 1,000（‰）；附主要投诉类别与商品。",
           "件", False, ("channel", "agent", "shop", "product", "category"), _complaints, n_label="投诉",
           n_unit="件", min_compare_n=0),
    Metric("return_rate", "退货率", ("退货", "退款率", "returns", "return_rate"),
           "时间窗内创建的退货单数 / 同期订单数（各按自身创建时间计）。", "%", False, ("channel", "product"), _returns,
           n_label="订单", n_unit="单"),
    Metric("repurchase", "复购率", ("复购", "回购率", "repurchase", "repeat"),
           "时间窗内至少下过 1 单的客户中，下单 ≥ 2 次的客户占比。", "%", True, ("channel", "product"), _repurchase,
           n_label="下单客户", n_unit="位"),
    Metric("bad_reviews", "差评", ("差评率", "bad_reviews", "reviews"),
           "时间窗内评价中评分 ≤ 2 的占比。", "%", False, ("product",), _bad_reviews, n_label="评价", n_unit="条"),
    Metric("sales", "销售", ("销售额", "成交", "sales", "gmv"),
           "时间窗内创建的订单：单数、金额合计、客单价（金额 / 单数）。", "¥", True, ("channel", "product"), _sales,
           n_label="订单", n_unit="单", min_compare_n=0),
    Metric("sentiment", "情感", ("情绪", "sentiment"),
           "时间窗内客户消息的平均情感分（0–1，1 = 正面）及负面消息占比。", "分", True, _CONV_FILTERS, _sentiment,
           n_label="客户消息", n_unit="条"),
]}


def find_metric(name: str) -> Metric | None:
    """Look a metric up by key, Chinese name or alias (case-insensitive)."""
    low = name.lower()
    for metric in METRICS.values():
        if low == metric.key or name == metric.name or low in (a.lower() for a in metric.aliases):
            return metric
    return None


def compute(engine: Engine, key: str, start: datetime, end: datetime, filters: dict[str, str] | None = None,
            *, headline_only: bool = False) -> MetricResult:
    """Compute metric ``key`` over [start, end) with canonical-column ``filters`` (blocking: run in a thread).

    ``headline_only``: the value and n are enough (trend points), so 首响 skips its median and P90 and
    投诉/退货率 their top lists."""
    with engine.connect() as conn:
        return compute_on(conn, key, start, end, filters, headline_only=headline_only)


def compute_on(conn: Connection, key: str, start: datetime, end: datetime, filters: dict[str, str] | None = None,
               *, headline_only: bool = False) -> MetricResult:
    """:func:`compute` on an open connection (many windows in one :func:`rollups.batch`)."""
    metric = METRICS[key]
    filters = dict(filters or {})
    unsupported = [k for k in filters if k not in metric.filters]
    if unsupported:
        raise MetricError(unsupported[0])
    with rollups.probes():
        if headline_only and key in _HEADLINES:
            return _HEADLINES[key](conn, start, end, filters, headline_only=True)
        return metric.compute(conn, start, end, filters)


# Metrics with a cheaper answer when only the value and n are needed (trend points, the /概览 card).
_HEADLINES: dict[str, Callable[..., MetricResult]] = {"frt": _frt, "complaints": _complaints, "return_rate": _returns,
                                                      "bad_reviews": _bad_reviews}


#: How many values :func:`distinct_values` reads per source; a list that long may be cut short.
DISTINCT_LIMIT = 500

#: Where a dimension's values are found: (rollup kind, raw column). A product can be complained about
#: or reviewed without an order in the data, so every table that carries the column counts.
_VALUE_SOURCES = {
    "channel": (("conversations", CONV.c.channel), ("complaints", COMPLAINT.c.channel), ("orders", ORDER.c.channel)),
    "agent": (("conversations", CONV.c.agent),),
    "shop": (("conversations", CONV.c.shop),),
    "product": (("orders", ORDER.c.product), ("complaints", COMPLAINT.c.product), ("returns", RETURN.c.product),
                ("reviews", REVIEW.c.product)),
    "category": (("complaints", COMPLAINT.c.category),),
}


def distinct_values(engine: Engine, column: str, limit: int = DISTINCT_LIMIT) -> list[str]:
    """Known values of a dimension (channel, agent, shop, product, category): for free-text filter
    recognition and for refusing a filter value no row has. At least ``limit`` values means the list may be incomplete."""
    found: set[str] = set()
    with engine.connect() as conn:
        for kind, col in _VALUE_SOURCES[column]:
            if rollups.is_ready(conn, kind):  # every value has a month bucket: thousands of rows, not millions
                rollup = rollups.SPECS[kind].table
                stmt = (select(rollup.c[column]).where(rollup.c.grain == "m", rollup.c[column] != "")
                        .distinct().limit(limit))
            else:
                stmt = select(col).where(col.is_not(None)).distinct().limit(limit)
            found.update(str(v) for v in conn.execute(stmt).scalars() if v)
    return sorted(found)


def has_any_data(engine: Engine) -> bool:
    with engine.connect() as conn:
        for table in (CONV, COMPLAINT, ORDER, REVIEW):
            if conn.execute(select(literal(1)).select_from(table).limit(1)).first() is not None:
                return True
    return False
