"""Which metrics `/为什么` explains, the dimensions each carries, and reading their sums per segment.

Every metric is read as its numerator and denominator per combination of its dimensions, from the
rollups (``rollups.grouped``: one statement per rollup and window, a few hundred rows whatever the raw
volume). Only when the rollups cannot answer (not built yet, a window without a whole hour) the same
sums come from one ``GROUP BY`` over the raw table, built from the rollup's own expressions
(``rollups.SPECS``), so both agree by construction. No raw row is ever loaded into Python.

Dimensions follow the metric's own filters (analytics.metrics) and the rollup columns:

- 满意度, 解决率, 首响 (mean), 30秒应答率, 会话量, 情感: channel, shop, agent (``rollup_conversations`` /
  ``rollup_messages``).
- 投诉率: channel, shop, agent — complaints (the complaint's channel, its conversation's shop and agent)
  per conversation of the same segment; not product, which conversations do not carry.
- 投诉 (count): channel, product, category, agent, shop.
- 退货率: channel (the order's), product; not the return reason, which orders do not carry.
- 差评率: product only (reviews carry nothing else).
- 复购率: not decomposed. Its denominator counts distinct customers, and per channel or product a
  customer who ordered in two segments is counted in both, and is a repeat customer overall while
  in neither segment: the segments do not partition the customers, so no split adds up to the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, literal_column, select

from analytics import rollups

NOT_DECOMPOSABLE = ("复购率按客户去重：同一客户在两个渠道（或商品）各下一单时，两边都算一个下单客户，整体是复购、"
                    "分开看却都不是，各渠道的人数加起来不等于总人数，所以无法精确分解成各渠道/商品的贡献。")


@dataclass(frozen=True)
class WhyMetric:
    """A metric as `/为什么` decomposes it.

    ``form``: ``ratio`` (n / d, shown ×``scale``), ``mean`` (Σ values / count), ``count`` or ``none``;
    ``num`` / ``den``: (rollup kind, measure); ``test``: the noise model of a segment's own value
    (analytics.explain.shift_share); ``per``: the metric's own value is n / d × ``per`` (投诉率 in ‰)."""

    key: str
    name: str
    aliases: tuple[str, ...]
    form: str
    num: tuple[str, str] | None
    den: tuple[str, str] | None
    dims: tuple[str, ...]
    test: str
    unit: str  # "%", "‰", "秒", "件", "分"
    command: str  # the command to drill in with
    higher_is_better: bool | None
    per: float = 1.0
    note: str = ""


_CONV_DIMS = ("channel", "shop", "agent")
WHY_METRICS: dict[str, WhyMetric] = {m.key: m for m in [
    WhyMetric("csat", "满意度", ("满意率", "好评率", "csat", "satisfaction"), "ratio",
              ("conversations", "good"), ("conversations", "rated"), _CONV_DIMS, "binomial", "%", "满意度", True),
    WhyMetric("resolution", "解决率", ("解决", "resolution", "resolved"), "ratio",
              ("conversations", "resolved"), ("conversations", "resolved_known"), _CONV_DIMS, "binomial", "%",
              "解决率", True),
    WhyMetric("frt", "首响", ("首响均值", "首次响应", "首响时间", "响应时间", "frt", "first_response"), "mean",
              ("conversations", "frt_sum"), ("conversations", "frt_n"), _CONV_DIMS, "mean", "秒", "首响", False),
    WhyMetric("frt_30s", "30秒应答率", ("30秒应答", "应答率", "within_30s", "frt_30s"), "ratio",
              ("conversations", "frt_le30"), ("conversations", "frt_n"), _CONV_DIMS, "binomial", "%", "首响", True),
    WhyMetric("complaint_rate", "投诉率", ("complaint_rate",), "ratio",
              ("complaints", "n"), ("conversations", "n"), _CONV_DIMS, "poisson", "‰", "投诉", False, per=1000.0),
    WhyMetric("return_rate", "退货率", ("退货", "退款率", "return_rate", "returns"), "ratio",
              ("returns", "n"), ("orders", "n"), ("channel", "product"), "binomial", "%", "退货率", False),
    WhyMetric("bad_reviews", "差评率", ("差评", "bad_reviews", "reviews"), "ratio",
              ("reviews", "bad"), ("reviews", "n"), ("product",), "binomial", "%", "差评", False),
    WhyMetric("sentiment", "情感", ("情绪", "情感分", "sentiment"), "mean",
              ("messages", "score_sum"), ("messages", "n"), _CONV_DIMS, "mean", "分", "情感", True),
    WhyMetric("conversations", "会话量", ("会话", "咨询量", "接待量", "conversations", "volume"), "count",
              ("conversations", "n"), None, _CONV_DIMS, "count", "件", "会话量", None),
    WhyMetric("complaints", "投诉", ("投诉量", "投诉数", "complaints", "complaint"), "count",
              ("complaints", "n"), None, ("channel", "product", "category", "agent", "shop"), "count", "件", "投诉",
              False),
    WhyMetric("repurchase", "复购率", ("复购", "回购率", "repurchase", "repeat"), "none", None, None, (), "", "%",
              "复购率", True, note=NOT_DECOMPOSABLE),
]}


def find_why_metric(text: str) -> WhyMetric | None:
    """The metric named in ``text`` (a key, name or alias; the longest match wins: 投诉率 before 投诉)."""
    low = text.strip().lower()
    names = sorted(((n.lower(), m) for m in WHY_METRICS.values() for n in (m.key, m.name, *m.aliases)),
                   key=lambda item: -len(item[0]))
    for name, metric in names:
        if low == name:
            return metric
    for name, metric in names:
        if name in low and (not name.isascii() or len(name) >= 3):
            return metric
    return None


@dataclass
class Combos:
    """One period's numerator and denominator per combination of the metric's dimensions (``keys``),
    and for 首响 the sum of squared values per (dimension, value) and overall (``(None, None)``)."""

    dims: tuple[str, ...]
    rows: dict[tuple[str, ...], list[float]]  # keys → [n, d]
    squares: dict[tuple[str | None, str | None], float] | None = None
    _segments: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict, repr=False)

    def segments(self, dim: str) -> dict[str, tuple[float, float]]:
        """(n, d) per value of ``dim`` (computed once: the drivers ask for them many times)."""
        if dim not in self._segments:
            self._segments[dim] = self._sum_by(dim)
        return self._segments[dim]

    def _sum_by(self, dim: str) -> dict[str, tuple[float, float]]:
        i = self.dims.index(dim)
        out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for keys, (n, d) in self.rows.items():
            out[keys[i]][0] += n
            out[keys[i]][1] += d
        return {k: (v[0], v[1]) for k, v in out.items()}

    def outside(self, dim: str, value: str, other_dim: str, other_value: str) -> tuple[float, float]:
        """(n, d) of the rows of segment ``dim=value`` that are not in segment ``other_dim=other_value``."""
        i, j = self.dims.index(dim), self.dims.index(other_dim)
        n = d = 0.0
        for keys, (kn, kd) in self.rows.items():
            if keys[i] == value and keys[j] != other_value:
                n += kn
                d += kd
        return n, d

    @property
    def totals(self) -> tuple[float, float]:
        return sum(v[0] for v in self.rows.values()), sum(v[1] for v in self.rows.values())


def read(conn: Connection, metric: WhyMetric, start: datetime, end: datetime) -> Combos:
    """The metric's sums per combination of its dimensions over [start, end)."""
    assert metric.num is not None
    dims = metric.dims
    rows: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    num_kind, num_measure = metric.num
    for keys, sums in _grouped(conn, num_kind, dims, start, end, (num_measure,)):
        rows[keys][0] += sums[num_measure]
        if metric.den is None:
            rows[keys][1] += sums[num_measure]
    if metric.den is not None:
        den_kind, den_measure = metric.den
        for keys, sums in _grouped(conn, den_kind, dims, start, end, (den_measure,)):
            rows[keys][1] += sums[den_measure]
    rows = {k: v for k, v in rows.items() if v[0] or v[1]}
    squares = _frt_squares(conn, start, end, rows, dims) if metric.key == "frt" else None
    return Combos(dims, rows, squares)


def _grouped(conn: Connection, kind: str, dims: tuple[str, ...], start: datetime, end: datetime,
             measures: tuple[str, ...], filters: dict[str, str] | None = None
             ) -> Iterable[tuple[tuple[str, ...], dict[str, int | float]]]:
    found = rollups.grouped(conn, kind, dims, start, end, filters or {}, measures)
    if found is not None:
        return found
    return _raw_grouped(conn, kind, dims, start, end, measures, filters or {})


def _raw_grouped(conn: Connection, kind: str, dims: tuple[str, ...], start: datetime, end: datetime,
                 measures: tuple[str, ...], filters: dict[str, str]
                 ) -> list[tuple[tuple[str, ...], dict[str, int | float]]]:
    """The rollup's sums straight from the raw table, aggregated in SQL (when the rollups cannot answer)."""
    spec = rollups.SPECS[kind]
    keys = [spec.dims[d] if d in spec.value_dims else func.coalesce(spec.dims[d], literal_column("''")) for d in dims]
    stmt = (select(*keys, *[spec.measures[m] for m in measures]).select_from(spec.source)
            .where(*spec.where, spec.time >= start, spec.time < end,
                   *[spec.dims[k] == v for k, v in filters.items()]).group_by(*keys))
    return [(tuple(str(k) for k in row[:len(dims)]),
             {m: spec.coerce(m, v) for m, v in zip(measures, row[len(dims):], strict=True)})
            for row in conn.execute(stmt)]


def _frt_squares(conn: Connection, start: datetime, end: datetime, rows: dict[tuple[str, ...], list[float]],
                 dims: tuple[str, ...]) -> dict[tuple[str | None, str | None], float]:
    """Σ v² of first-response seconds overall and per segment, for the noise test of the mean (情感 has no
    such sums: its scores lie in [0, 1], and the test uses the bound m·(1 − m)).

    The overall variance is exact, from the histogram rollup's overall slice (a count per exact value,
    ~600 rows a month). A segment's Σ v² assumes the same spread around its own mean, d·(σ² + m²):
    reading every segment's histogram (channel, shop and agent slices) costs ten times as many rows —
    0.8 s instead of 0.04 s for 本月 at 5M conversations — and the pooled variance is the usual
    assumption of a comparison of means (larger than a segment's own when segment means differ)."""
    count = total = square = 0.0
    for (v,), sums in _grouped(conn, "frt_hist", ("v",), start, end, ("n",), {"dim": "all", "key": rollups.ALL_KEY}):
        n, x = float(sums["n"]), float(v)
        count += n
        total += n * x
        square += n * x * x
    var = max(square / count - (total / count) ** 2, 0.0) if count else 0.0
    out: dict[tuple[str | None, str | None], float] = {(None, None): square}
    for i, dim in enumerate(dims):
        seg: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for keys, (n, d) in rows.items():
            seg[keys[i]][0] += n
            seg[keys[i]][1] += d
        for key, (n, d) in seg.items():
            out[(dim, key)] = d * (var + (n / d) ** 2) if d else 0.0
    return out
