"""Chart attachments for replies: data is computed in a thread, PNGs render in the chart pool."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

from analytics import breakdown, charts, coverage
from analytics.coverage import DataRange
from analytics.metrics import Metric
from analytics.periods import Window
from handlers.base import Chart, CommandContext
from handlers.format import fmt_filters, prev_label

_GRAN_CN = {"hour": "按小时", "day": "按天", "week": "按周", "month": "按月"}
_UNIT_CN = {"hour": "小时", "day": "天", "week": "周", "month": "月"}


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


def refit_note(ctx: CommandContext, requested: str, used: str | None) -> str:
    """Why a requested granularity was not drawn as asked: one short line."""
    window, unit = ctx.window, _UNIT_CN[requested]
    if used is None:
        return f"（{window.phrase}太短，画不出趋势图）"
    if len(breakdown.segments(window, requested)) < 2:
        why = f"{window.phrase}{_GRAN_CN[requested]}只有 1 个点"
    else:
        why = f"{window.phrase}里没有一个完整的{unit}"
    return f"（{why}，画不成趋势，已改为{_GRAN_CN[used]}）"


async def trend(ctx: CommandContext, metric: Metric,
                data: DataRange | None = None) -> tuple[Chart | None, str | None]:
    """Trend of ``metric`` over the window with the comparison period dashed, and the line that says why
    the chart is not as asked (granularity corrected) or missing; (None, None) for a day or less when no
    granularity was asked (no trend by default). Buckets the window holds only part of, or whose start
    has no data (``data``: the metric's data range), are marked partial."""
    granularity = breakdown.fit_granularity(ctx.window, ctx.granularity)
    note = refit_note(ctx, ctx.granularity, granularity) if ctx.granularity and granularity != ctx.granularity \
        else None
    if granularity is None:
        return None, note
    engine, window = ctx.services.engine, ctx.window
    previous = window.previous()
    cur, prev = await asyncio.to_thread(breakdown.series_many, engine, metric.key, [window, previous],
                                        granularity, ctx.filters)
    if len(cur) < 2:
        return None, "（数据点不足两个，不画趋势图）"
    scale, unit, fmt = chart_scale(metric)

    def pts(series):  # noqa: ANN001, ANN202
        return [(t, None if v is None else v * scale) for t, v, _n in series]

    title = f"{metric.name}趋势（{_GRAN_CN[granularity]}）"
    path = await charts.render(charts.trend_chart, pts(cur), title=title, unit=unit, path=chart_path(ctx, metric.key),
                               previous=pts(prev), subtitle=subtitle(ctx), granularity=granularity, value_format=fmt,
                               partial=_partial(window, granularity, data, ctx.now),
                               previous_partial=_partial(previous, granularity, data, ctx.now),
                               previous_label=prev_label(window))
    return Chart(path=path, title=f"{title} {window.phrase}"), note


def _partial(window: Window, granularity: str, data: DataRange | None, now: datetime) -> list[bool]:
    """Per bucket: clipped by the window, or its data begins (or ends) inside it."""
    flags = breakdown.partial_flags(window, granularity)
    if data is None:
        return flags
    segments = breakdown.segments(window, granularity)
    return [flag or coverage.starts_late(lo, hi, data) or coverage.ends_early(lo, hi, data, now)
            for flag, (_start, lo, hi) in zip(flags, segments, strict=True)]
