"""/概览: one card with the key numbers, their arrows, and a small-multiples chart."""

from __future__ import annotations

import asyncio

from analytics import breakdown, charts, metrics, rollups
from analytics.metrics import METRICS, MetricResult
from handlers.base import Chart, CommandContext, CommandSpec, Reply
from handlers.charting import chart_path, chart_scale, subtitle
from handlers.format import arrow, fmt_value, prev_label, window_line

SPEC = CommandSpec(
    name="概览",
    aliases=("overview", "summary", "总览", "大盘", "看板"),
    usage="/概览 [时间] [渠道=…]",
    help="关键指标一张卡：会话量、满意度、首响、解决率、投诉、退货率、差评、销售额，带涨跌",
    default_period="今天",
    filters=("渠道",),
    examples=("/概览", "/概览 本周", "/概览 昨天 渠道=抖音"),
)

KEYS = ("conversations", "csat", "frt", "resolution", "complaints", "return_rate", "bad_reviews", "sales")


def _change(key: str, cur: MetricResult, prev: MetricResult) -> tuple[str, bool | None]:
    metric = METRICS[key]
    if cur.value is None or prev.value is None or prev.n < metric.min_compare_n:
        return "—", None
    delta = cur.value - prev.value
    if metric.unit == "%":
        size = f"{abs(delta) * 100:.1f}pt"
    elif prev.value:
        size = f"{abs(delta) / abs(prev.value) * 100:.0f}%"
    else:
        return arrow(delta), None
    good = None if metric.higher_is_better is None or delta == 0 else (delta > 0) == metric.higher_is_better
    return f"{arrow(delta)}{size}", good


def _compute(ctx: CommandContext) -> dict[str, tuple[MetricResult, MetricResult, list]]:
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
    return out


async def handle(ctx: CommandContext) -> Reply:
    w = ctx.window
    data = await asyncio.to_thread(_compute, ctx)
    lines = [f"**概览 · {w.phrase}**", window_line(w, ctx.filters)]
    panels = []
    for key in KEYS:
        cur, prev, points = data[key]
        metric = METRICS[key]
        change, good = _change(key, cur, prev)
        lines.append(f"{metric.name} {fmt_value(metric, cur.value)}  {change}")
        scale, _unit, _fmt = chart_scale(metric)
        panels.append(charts.Panel(metric.name, fmt_value(metric, cur.value), f"{change} 较{prev_label(w)}",
                                   [None if v is None else v * scale for v in points], good))
    lines.append(f"（箭头：较{prev_label(w)}；百分比指标的变化单位 pt = 百分点）")
    path = await charts.render(charts.small_multiples, panels, title=f"概览 · {w.phrase}",
                               path=chart_path(ctx, "overview"), subtitle=subtitle(ctx))
    return Reply("\n".join(lines), title=f"概览 · {w.phrase}", charts=[Chart(path, f"概览 {w.phrase}")])
