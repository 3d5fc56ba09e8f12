"""Chart attachments for replies: data is computed in a thread, PNGs render in the chart pool."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from analytics import breakdown, charts
from analytics.metrics import Metric
from handlers.base import Chart, CommandContext
from handlers.format import fmt_filters

_GRAN_CN = {"day": "按天", "week": "按周", "month": "按月"}


def chart_path(ctx: CommandContext, stem: str) -> Path:
    ctx.services.chart_dir.mkdir(parents=True, exist_ok=True)
    return ctx.services.chart_dir / f"{stem}-{uuid.uuid4().hex[:12]}.png"


def chart_scale(metric: Metric) -> tuple[float, str, str]:
    """Multiplier, unit and number format used to draw a metric's values."""
    if metric.unit == "%":
        return 100.0, "%", "{:.1f}"
    if metric.unit == "秒":
        return 1.0, "秒", "{:.0f}"
    if metric.unit == "¥":
        return 1.0, "¥", "{:,.0f}"
    if metric.unit == "分":
        return 1.0, "", "{:.2f}"
    return 1.0, metric.unit, "{:,.0f}"


def subtitle(ctx: CommandContext) -> str:
    return f"{ctx.window.describe()} · {fmt_filters(ctx.filters)}"


async def trend(ctx: CommandContext, metric: Metric) -> Chart | None:
    """Trend of ``metric`` over the window with the comparison period dashed; None for short windows."""
    granularity = ctx.granularity or breakdown.auto_granularity(ctx.window)
    if granularity is None:
        return None
    engine, window = ctx.services.engine, ctx.window
    cur, prev = await asyncio.to_thread(breakdown.series_many, engine, metric.key, [window, window.previous()],
                                        granularity, ctx.filters)
    if len(cur) < 2:
        return None
    scale, unit, fmt = chart_scale(metric)

    def pts(series):  # noqa: ANN001, ANN202
        return [(t, None if v is None else v * scale) for t, v, _n in series]

    title = f"{metric.name}趋势（{_GRAN_CN[granularity]}）"
    path = await charts.render(charts.trend_chart, pts(cur), title=title, unit=unit, path=chart_path(ctx, metric.key),
                               previous=pts(prev), subtitle=subtitle(ctx), granularity=granularity, value_format=fmt)
    return Chart(path=path, title=f"{title} {window.phrase}")
