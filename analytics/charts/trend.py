"""Trend line: the current period solid in the accent colour, the previous period dashed grey
on the same x positions (aligned by bucket index), the last value labelled at the line's end.

Two honesty rules: a bucket the window holds only part of (the current hour, a month entered on its
27th) is drawn hollow and reached by a dashed segment, so a short bucket's low count does not read as a
plunge; and a percentage axis spans at least :data:`MIN_PERCENT_SPAN` points, so 0.1 point is not a cliff."""

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
PARTIAL_LABEL = "未完整的周期"
#: The least span of a percentage axis, in points: a 0.6-point band drawn full height looks like a swing.
MIN_PERCENT_SPAN = 5.0


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
    partial: Sequence[bool] = (),
    previous_partial: Sequence[bool] = (),
    previous_label: str = PREVIOUS_LABEL,
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
        partial=partial,
        previous_partial=previous_partial,
        previous_label=previous_label,
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
    partial: Sequence[bool] = (),
    previous_partial: Sequence[bool] = (),
    previous_label: str = PREVIOUS_LABEL,
) -> Figure:
    """The trend Figure. ``points`` are (bucket start, value) in time order; None is a gap.
    ``previous`` is drawn dashed with its i-th point above the i-th current bucket. ``partial[i]`` (and
    ``previous_partial[i]``) marks a bucket holding only part of its span: drawn hollow, joined dashed.
    ``previous_label`` names the dashed line in the legend as the reply's text names it (上周同期)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, not {granularity!r}")
    current = [_value(v) for _, v in points]
    before = [_value(v) for _, v in previous or ()]
    if not any(map(math.isfinite, current)):
        return empty_page(title, subtitle)
    moments = _bucket_moments(points, granularity, max(len(current), len(before)))
    part = [bool(p) for p in partial][: len(current)]
    part += [False] * (len(current) - len(part))
    before_part = [bool(p) for p in previous_partial][: len(before)]
    before_part += [False] * (len(before) - len(before_part))
    return _draw(current, before, moments, title, subtitle, unit, granularity, value_format, part, before_part,
                 previous_label)


def _value(value: float | None) -> float:
    return float(value) if is_number(value) else math.nan


def _bucket_moments(points: Sequence[Point], granularity: str, count: int) -> list[datetime]:
    """The current buckets' starts, continued by ``granularity`` where the previous period is longer."""
    moments = [as_datetime(moment) for moment, _ in points]
    while len(moments) < count:
        moments.append(step_forward(moments[-1], granularity, 1))
    return moments


def value_range(values: Sequence[float], unit: str) -> tuple[float, float]:
    """The band the y axis must show: the data's, near-zero data from 0, and a percentage axis at least
    :data:`MIN_PERCENT_SPAN` points wide (centred on the data, kept inside 0–100)."""
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    if lo >= 0 and lo < 0.5 * hi:
        lo = 0.0  # close to zero anyway: show the baseline so bars of change are not exaggerated
    if unit == "%" and hi - lo < MIN_PERCENT_SPAN:
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_PERCENT_SPAN / 2, mid + MIN_PERCENT_SPAN / 2
        if lo < 0 <= min(finite):
            lo, hi = 0.0, MIN_PERCENT_SPAN
        if hi > 100 >= max(finite):
            lo, hi = 100.0 - MIN_PERCENT_SPAN, 100.0
    return lo, hi


def _draw(current, before, moments, title, subtitle, unit, granularity, value_format, part, before_part,  # noqa: ANN001
          previous_label=PREVIOUS_LABEL) -> Figure:
    header = Header.of(title, subtitle)
    lo, hi = value_range([*current, *before], unit)
    ticks = nice_ticks(lo, hi)
    y_labels = tick_labels(ticks, unit)
    last = max(i for i, v in enumerate(current) if math.isfinite(v))
    last_label = format_value(current[last], value_format, unit if unit_on_ticks(unit) else "")

    has_previous = any(map(math.isfinite, before))
    has_partial = any(p and math.isfinite(v) for v, p in zip(current, part, strict=True))
    legend_row = LEGEND_ROW_PX if has_previous or has_partial or not unit_on_ticks(unit) else 0
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
        whole_before = [math.nan if p else v for v, p in zip(before, before_part, strict=True)]
        ax.plot(xs[: len(before)], whole_before, color=PREVIOUS, linewidth=2.2, linestyle=(0, (4, 3)), zorder=2,
                clip_on=False)
        _partial_links(ax, before, before_part, PREVIOUS, 2.2, 2)
        lonely = [i for i in _isolated(whole_before) if not _has_partial_neighbour(before, before_part, i)]
        ax.plot(lonely, [before[i] for i in lonely], "o", color=PREVIOUS, markersize=6, zorder=2, clip_on=False)
    whole = [math.nan if p else v for v, p in zip(current, part, strict=True)]
    marker = "o" if len(current) <= MARKERS_UP_TO else None
    ax.plot(xs[: len(current)], whole, color=ACCENT, linewidth=3, marker=marker, markersize=6,
            markeredgecolor=BACKGROUND, markeredgewidth=1.2, zorder=3, solid_capstyle="round", clip_on=False)
    _partial_links(ax, current, part, ACCENT, 2.4, 3)
    lonely = [i for i in _isolated(whole) if not _has_partial_neighbour(current, part, i)]
    ax.plot(lonely, [current[i] for i in lonely], "o", color=ACCENT, markersize=6, zorder=3, clip_on=False)
    if part[last]:  # hollow: the last bucket is not over yet
        ax.plot([last], [current[last]], "o", markerfacecolor=BACKGROUND, markeredgecolor=ACCENT, markersize=9,
                markeredgewidth=2.2, zorder=4, clip_on=False)
    else:
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

    _draw_legend_row(page, header.height + 6, has_previous, unit, has_partial, previous_label)
    return page.figure


def _has_partial_neighbour(values: list[float], part: list[bool], i: int) -> bool:
    return any(0 <= j < len(values) and part[j] and math.isfinite(values[j]) for j in (i - 1, i + 1))


def _partial_links(ax, values: list[float], part: list[bool], colour: str, width: float, z: int) -> None:  # noqa: ANN001
    """Each partial bucket: a dotted segment from each finite neighbour and a hollow marker."""
    for i, (value, is_partial) in enumerate(zip(values, part, strict=True)):
        if not is_partial or not math.isfinite(value):
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(values) and math.isfinite(values[j]):
                ax.plot([j, i], [values[j], value], color=colour, linewidth=width, linestyle=(0, (1.5, 2.5)),
                        zorder=z, clip_on=False, dash_capstyle="round")
        ax.plot([i], [value], "o", markerfacecolor=BACKGROUND, markeredgecolor=colour, markersize=7,
                markeredgewidth=2, zorder=z + 0.5, clip_on=False)


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


def _draw_legend_row(page: Page, y: float, has_previous: bool, unit: str, has_partial: bool = False,
                     previous_label: str = PREVIOUS_LABEL) -> None:
    """本期 ━━  上期 ┅┅  ○ 未完整的周期 on the left; the unit on the right when it is too long for the ticks."""
    if has_previous or has_partial:
        handles, labels = [], []
        if has_previous:
            handles += [Line2D([], [], color=ACCENT, linewidth=3),
                        Line2D([], [], color=PREVIOUS, linewidth=2.2, linestyle=(0, (4, 3)))]
            labels += [CURRENT_LABEL, previous_label]
        if has_partial:
            handles.append(Line2D([], [], color=ACCENT, linewidth=2.4, linestyle=(0, (1.5, 2.5)), marker="o",
                                  markerfacecolor=BACKGROUND, markeredgecolor=ACCENT, markeredgewidth=2,
                                  markersize=7))
            labels.append(PARTIAL_LABEL)
        legend = page.figure.legend(
            handles, labels, loc="upper left", ncol=len(handles), frameon=False,
            bbox_to_anchor=(page.fx(MARGIN_PX - 6), page.fy(y)), borderaxespad=0, handlelength=2.4,
            columnspacing=1.6, prop=chart_font(pt(LABEL_CSS)),
        )
        for text in legend.get_texts():
            text.set_color(MUTED)
    if not unit_on_ticks(unit):
        page.text(WIDTH_PX - MARGIN_PX, y + 4, f"单位：{unit}", LABEL_CSS, color=MUTED, ha="right", va="top")
