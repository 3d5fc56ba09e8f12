"""/概览: one card with the key numbers, their arrows, and a small-multiples chart."""

from __future__ import annotations

import asyncio

from analytics import breakdown, charts, coverage, metrics, rollups
from analytics.metrics import FILTER_KEYS, METRICS, MetricResult
from handlers import data_notes
from handlers.base import Chart, CommandContext, CommandSpec, Reply
from handlers.charting import chart_path, chart_scale, subtitle
from handlers.format import arrow, fmt_value, prev_label, shown_change, too_few_to_compare, window_line

SPEC = CommandSpec(
    name="概览",
    aliases=("overview", "summary", "总览", "大盘", "看板"),
    usage="/概览 [时间] [渠道=…]",
    help="关键指标一张卡：会话量、满意度、首响、解决率、投诉、退货率、差评、销售额，带涨跌",
    default_period="今天",
    filters=("渠道",),
    examples=("/概览", "/概览 本周", "/概览 昨天 渠道=抖音"),
)

_COLUMN_TO_CN = {v: k for k, v in FILTER_KEYS.items()}
KEYS = ("conversations", "csat", "frt", "resolution", "complaints", "return_rate", "bad_reviews", "sales")


def _change(key: str, cur: MetricResult, prev: MetricResult) -> tuple[str, bool | None]:
    """``↑2.7pt`` / ``↓4%`` from the values as printed on the card; a count from zero is ``↑10 件``;
    ``—`` when a rate's comparison window has fewer than the metric's minimum n (see :func:`_why_not`)."""
    metric = METRICS[key]
    if cur.value is None or prev.value is None or prev.n < metric.min_compare_n:
        return "—", None
    _prev_text, _cur_text, p, delta, size = shown_change(metric, cur.value, prev.value)
    if metric.unit == "%":
        size = f"{abs(delta):.1f}pt"
    elif p:
        size = f"{abs(delta) / abs(p) * 100:.0f}%"
    if delta == 0 or size in ("0%", "0.0pt"):
        return "→持平", None
    good = None if metric.higher_is_better is None else (delta > 0) == metric.higher_is_better
    return f"{arrow(delta)}{size}", good


def _why_not(key: str, cur: MetricResult, prev: MetricResult, label: str) -> str | None:
    """Why a card row has no change: the minimum-n rule stated, or no data."""
    metric = METRICS[key]
    if cur.value is None:
        return f"{metric.name}本期无数据"
    if prev.value is None or prev.n < metric.min_compare_n:
        return f"{metric.name}（{too_few_to_compare(metric, label, prev.n)}）"
    return None


def _compute(ctx: CommandContext) -> tuple[dict[str, tuple[MetricResult, MetricResult, list]], coverage.DataRange]:
    engine, w = ctx.services.engine, ctx.window
    plan = breakdown.segments(w, breakdown.auto_granularity(w) or "hour")
    windows = [(w.start, w.end), (w.prev_start, w.prev_end), *[(lo, hi) for _, lo, hi in plan]]
    out = {}
    # One batch for the card: each rollup is read once for every metric, window and trend point.
    with engine.connect() as conn, rollups.batch(windows):
        for key in KEYS:
            flt = {k: v for k, v in ctx.filters.items() if k in METRICS[key].filters}
            cur = metrics.compute_on(conn, key, w.start, w.end, flt, headline_only=True)  # values only
            prev = metrics.compute_on(conn, key, w.prev_start, w.prev_end, flt, headline_only=True)
            points = [metrics.compute_on(conn, key, lo, hi, flt, headline_only=True).value for _, lo, hi in plan]
            out[key] = (cur, prev, points)
        rng = coverage.data_range(conn, "conversations")
    return out, rng


async def handle(ctx: CommandContext) -> Reply:
    w = ctx.window
    data, rng = await asyncio.to_thread(_compute, ctx)
    lines = [f"**概览 · {w.phrase}**", window_line(w, ctx.filters), *data_notes.card_lines(w, rng, ctx.now)]
    panels, why_not = [], []
    # The sparklines' buckets (as in _compute); the current hour or day is drawn as partial, not as a plunge.
    partial = breakdown.partial_flags(w, breakdown.auto_granularity(w) or "hour")
    for key in KEYS:
        cur, prev, points = data[key]
        metric = METRICS[key]
        change, good = _change(key, cur, prev)
        if change == "—":
            why_not.append(_why_not(key, cur, prev, prev_label(w)))
        dropped = [_COLUMN_TO_CN[k] for k in ctx.filters if k not in metric.filters]
        note = f"（{metric.name}不能按{'、'.join(dropped)}筛选，此行为全部）" if dropped else ""
        lines.append(f"{metric.name} {fmt_value(metric, cur.value)}  {change}{note}")
        scale, _unit, _fmt = chart_scale(metric)
        panels.append(charts.Panel(metric.name, fmt_value(metric, cur.value), f"{change} 较{prev_label(w)}",
                                   [None if v is None else v * scale for v in points], good,
                                   partial=partial, min_span=5.0 if metric.unit == "%" else 0.0))
    lines.append(f"（箭头：较{prev_label(w)}；百分比指标的变化单位 pt = 百分点）")
    if why_not:
        lines.append("—：" + "；".join(why_not))
    path = await charts.render(charts.small_multiples, panels, title=f"概览 · {w.phrase}",
                               path=chart_path(ctx, "overview"), subtitle=subtitle(ctx))
    return Reply("\n".join(lines), title=f"概览 · {w.phrase}", charts=[Chart(path, f"概览 {w.phrase}")])
