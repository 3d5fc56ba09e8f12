"""Trend line: the current period solid in the accent colour, the previous period dashed grey
on the same x positions (aligned by bucket index), the last value labelled at the line's end."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analytics.charts.fonts import chart_font
from analytics.charts.numbers import (
    GRANULARITIES,
    as_datetime,
    format_value,
    is_number,
    nice_ticks,
    period_label,
    period_labels,
    step_forward,
    tick_labels,
    tick_stride,
    unit_on_ticks,
)
from analytics.charts.output import save_png
from analytics.charts.style import (
    ACCENT,
    BACKGROUND,
    LABEL_CSS,
    MARGIN_PX,
    MUTED,
    PREVIOUS,
    VALUE_CSS,
    WIDTH_PX,
    Header,
    Page,
    calm_axes,
    empty_page,
    pt,
    px,
    style_ticklabels,
    text_width,
)

Point = tuple[datetime | date, float | None]

PLOT_HEIGHT_PX = 330
LEGEND_ROW_PX = 40
MARKERS_UP_TO = 14  # points are marked while they are few enough to count
CURRENT_LABEL = "本期"
PREVIOUS_LABEL = "上期"


def trend_chart(
    points: Sequence[Point],
    *,
    title: str,
    unit: str,
    path: Path,
    previous: Sequence[Point] | None = None,
    subtitle: str = "",
    granularity: str = "day",
    value_format: str = "{:.1f}",
) -> Path:
    """Render a trend line PNG to ``path`` and return it; see :func:`trend_figure`."""
    figure = trend_figure(
        points,
        title=title,
        unit=unit,
        previous=previous,
        subtitle=subtitle,
        granularity=granularity,
        value_format=value_format,
    )
    return save_png(figure, path)


def trend_figure(
    points: Sequence[Point],
    *,
    title: str,
    unit: str,
    previous: Sequence[Point] | None = None,
    subtitle: str = "",
    granularity: str = "day",
    value_format: str = "{:.1f}",
) -> Figure:
    """The trend Figure. ``points`` are (bucket start, value) in time order; None is a gap.
    ``previous`` is drawn dashed with its i-th point above the i-th current bucket."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, not {granularity!r}")
    current = [_value(v) for _, v in points]
    before = [_value(v) for _, v in previous or ()]
    if not any(map(math.isfinite, current)):
        return empty_page(title, subtitle)
    moments = _bucket_moments(points, granularity, max(len(current), len(before)))
    return _draw(current, before, moments, title, subtitle, unit, granularity, value_format)


def _value(value: float | None) -> float:
    return float(value) if is_number(value) else math.nan


def _bucket_moments(points: Sequence[Point], granularity: str, count: int) -> list[datetime]:
    """The current buckets' starts, continued by ``granularity`` where the previous period is longer."""
    moments = [as_datetime(moment) for moment, _ in points]
    while len(moments) < count:
        moments.append(step_forward(moments[-1], granularity, 1))
    return moments


def _draw(current, before, moments, title, subtitle, unit, granularity, value_format) -> Figure:
    header = Header.of(title, subtitle)
    finite = [v for v in (*current, *before) if math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    if lo >= 0 and lo < 0.5 * hi:
        lo = 0.0  # close to zero anyway: show the baseline so bars of change are not exaggerated
    ticks = nice_ticks(lo, hi)
    y_labels = tick_labels(ticks, unit)
    last = max(i for i, v in enumerate(current) if math.isfinite(v))
    last_label = format_value(current[last], value_format, unit if unit_on_ticks(unit) else "")

    has_previous = any(map(math.isfinite, before))
    legend_row = LEGEND_ROW_PX if has_previous or not unit_on_ticks(unit) else 0
    top = header.height + legend_row + 22
    left = MARGIN_PX + max(text_width(s, LABEL_CSS) for s in y_labels) + 12
    right = WIDTH_PX - MARGIN_PX - text_width(last_label, VALUE_CSS) - 18
    positions = _x_tick_positions(moments, granularity, right - left)
    x_labels = period_labels([moments[i] for i in positions], granularity)
    label_lines = max(label.count("\n") + 1 for label in x_labels)
    page = Page(top + PLOT_HEIGHT_PX + label_lines * px(LABEL_CSS) * 1.2 + 16 + MARGIN_PX)
    header.draw(page)
    ax = page.axes(left, top, right - left, PLOT_HEIGHT_PX)

    n = len(moments)
    xs = list(range(n))
    if has_previous:
        ax.plot(xs[: len(before)], before, color=PREVIOUS, linewidth=2.2, linestyle=(0, (4, 3)), zorder=2,
                clip_on=False)
        lonely = _isolated(before)  # a point between gaps draws no line; show it as a dot
        ax.plot(lonely, [before[i] for i in lonely], "o", color=PREVIOUS, markersize=6, zorder=2, clip_on=False)
    marker = "o" if len(current) <= MARKERS_UP_TO else None
    ax.plot(xs[: len(current)], current, color=ACCENT, linewidth=3, marker=marker, markersize=6,
            markeredgecolor=BACKGROUND, markeredgewidth=1.2, zorder=3, solid_capstyle="round", clip_on=False)
    lonely = _isolated(current)
    ax.plot(lonely, [current[i] for i in lonely], "o", color=ACCENT, markersize=6, zorder=3, clip_on=False)
    ax.plot([last], [current[last]], "o", color=ACCENT, markersize=9, markeredgecolor=BACKGROUND,
            markeredgewidth=2, zorder=4, clip_on=False)
    ax.annotate(last_label, (last, current[last]), xytext=(12, 0), textcoords="offset points",
                va="center", ha="left", color=ACCENT, fontproperties=chart_font(pt(VALUE_CSS)),
                annotation_clip=False, zorder=5,
                bbox={"boxstyle": "square,pad=0.15", "facecolor": BACKGROUND, "edgecolor": "none"})

    ax.set_xlim(-0.35 if n > 1 else -1, n - 0.65 if n > 1 else 1)
    ax.set_ylim(ticks[0], ticks[-1])
    calm_axes(ax, grid_axis="y")
    ax.set_yticks(ticks, y_labels)
    ax.set_xticks(positions, x_labels)
    ax.tick_params(axis="x", pad=12)
    style_ticklabels(ax)

    _draw_legend_row(page, header.height + 6, has_previous, unit)
    return page.figure


def _isolated(values: list[float]) -> list[int]:
    """Indices of finite values whose neighbours are both missing."""
    def missing(i: int) -> bool:
        return not (0 <= i < len(values) and math.isfinite(values[i]))

    return [i for i, v in enumerate(values) if math.isfinite(v) and missing(i - 1) and missing(i + 1)]


def _x_tick_positions(moments: list[datetime], granularity: str, width_px: float) -> list[int]:
    """Every k-th bucket, k a nice stride chosen so that the labels do not touch."""
    widest = max(text_width(period_label(m, granularity), LABEL_CSS) for m in moments)
    fits = max(1, int(width_px // (widest + px(10))))
    return list(range(0, len(moments), tick_stride(len(moments), fits, granularity)))


def _draw_legend_row(page: Page, y: float, has_previous: bool, unit: str) -> None:
    """本期 ━━  上期 ┅┅ on the left; the unit on the right when it is too long for the ticks."""
    if has_previous:
        handles = [
            Line2D([], [], color=ACCENT, linewidth=3),
            Line2D([], [], color=PREVIOUS, linewidth=2.2, linestyle=(0, (4, 3))),
        ]
        legend = page.figure.legend(
            handles, [CURRENT_LABEL, PREVIOUS_LABEL], loc="upper left", ncol=2, frameon=False,
            bbox_to_anchor=(page.fx(MARGIN_PX - 6), page.fy(y)), borderaxespad=0, handlelength=2.4,
            columnspacing=1.6, prop=chart_font(pt(LABEL_CSS)),
        )
        for text in legend.get_texts():
            text.set_color(MUTED)
    if not unit_on_ticks(unit):
        page.text(WIDTH_PX - MARGIN_PX, y + 4, f"单位：{unit}", LABEL_CSS, color=MUTED, ha="right", va="top")
