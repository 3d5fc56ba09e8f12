"""A horizontal waterfall: the previous value, the steps that moved it, the current value.

Rows read top to bottom like the answer: the comparison period's value as a grey bar, one floating
bar per step from the running level (green when the step moves the metric the good way, red the bad
way, blue when neither is better), and the period's value in the accent colour. Thin connectors join
each level to the next row. When the steps are small next to the values (a rate moving 3 points
around 85 %), the value axis starts near the lowest level instead of at zero, and a note says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from analytics.charts.fonts import chart_font
from analytics.charts.numbers import format_value, is_number
from analytics.charts.output import save_png
from analytics.charts.style import (
    ACCENT,
    BAD,
    GOOD,
    INK,
    LABEL_CSS,
    MARGIN_PX,
    MUTED,
    PREVIOUS,
    VALUE_CSS,
    WIDTH_PX,
    Header,
    Page,
    empty_page,
    plain_axes,
    pt,
    px,
    text_width,
    truncate,
)

ROW_PX = 54
BAR_FRACTION = 0.62
GAP_PX = 10
LABEL_SHARE = 0.36
ZERO_SHARE = 0.25  # start the axis at 0 when the levels move by at least this share of the largest


def waterfall_chart(start: tuple[str, float], steps: Sequence[tuple[str, float]], end: tuple[str, float], *,
                    title: str, unit: str, path: Path, subtitle: str = "", higher_is_better: bool | None = None,
                    value_format: str = "{:.1f}", step_format: str = "{:+.1f}", step_unit: str | None = None) -> Path:
    """Render the waterfall to ``path`` and return it; see :func:`waterfall_figure`."""
    figure = waterfall_figure(start, steps, end, title=title, unit=unit, subtitle=subtitle,
                              higher_is_better=higher_is_better, value_format=value_format, step_format=step_format,
                              step_unit=step_unit)
    return save_png(figure, path)


def waterfall_figure(start: tuple[str, float], steps: Sequence[tuple[str, float]], end: tuple[str, float], *,
                     title: str, unit: str, subtitle: str = "", higher_is_better: bool | None = None,
                     value_format: str = "{:.1f}", step_format: str = "{:+.1f}", step_unit: str | None = None) -> Figure:
    """``start`` and ``end`` are (label, value); ``steps`` (label, change) in the order drawn. The steps
    should add up to end − start (the caller lumps the rest into an 其他 step). ``step_unit`` labels the
    steps when it differs from the values' (percentage points: 84.2% and −0.8 点)."""
    if not (is_number(start[1]) and is_number(end[1])):
        return empty_page(title, subtitle)
    levels = [start[1]]
    for _, delta in steps:
        levels.append(levels[-1] + delta)
    rows: list[tuple[str, float, float, str, str]] = [  # label, left, right, colour, text
        (start[0], 0.0, start[1], PREVIOUS, format_value(start[1], value_format, unit))]
    for (label, delta), level in zip(steps, levels, strict=False):
        colour = ACCENT if higher_is_better is None or delta == 0 else (GOOD if (delta > 0) == higher_is_better else BAD)
        text = format_value(delta, step_format, unit if step_unit is None else step_unit).replace("-", "−")
        rows.append((label, level, level + delta, colour, text))
    rows.append((end[0], 0.0, end[1], ACCENT, format_value(end[1], value_format, unit)))
    return _draw(rows, levels + [end[1]], title, subtitle)


def _draw(rows: list[tuple[str, float, float, str, str]], levels: list[float], title: str, subtitle: str) -> Figure:
    header = Header.of(title, subtitle)
    content = WIDTH_PX - 2 * MARGIN_PX
    names = [truncate(label, LABEL_CSS, content * LABEL_SHARE) for label, *_ in rows]
    lo, hi = min(levels), max(levels)
    zoomed = lo > 0 and (hi - lo) < ZERO_SHARE * hi
    base = lo - (hi - lo) * 0.35 if zoomed else min(0.0, lo)
    if zoomed and hi == lo:
        base = lo - abs(lo) * 0.05 - 1e-9
    note = "横轴不从 0 开始，只显示变化的区间" if zoomed else ""
    top = header.height + 14
    bottom_room = (px(LABEL_CSS) * 1.8 if note else 0) + MARGIN_PX * 0.6
    left = MARGIN_PX + max(text_width(name, LABEL_CSS) for name in names) + GAP_PX
    width = WIDTH_PX - MARGIN_PX - left
    height = ROW_PX * len(rows)
    page = Page(top + height + bottom_room)
    header.draw(page)
    if note:
        page.text(MARGIN_PX, top + height + 14, note, LABEL_CSS, color=MUTED, va="top")

    # room for the labels: right of rising bars and totals, left of falling bars
    right_room = max(text_width(t, VALUE_CSS) for _, a, b, _, t in rows if b >= a) + GAP_PX * 1.5
    falling = [text_width(t, VALUE_CSS) for _, a, b, _, t in rows if b < a]
    left_room = (max(falling) + GAP_PX * 1.5) if falling else 0.0
    span = (hi - base) or 1.0
    scale = max(width - right_room - left_room, 1.0) / span  # px per data unit
    x0 = base - left_room / scale
    x1 = x0 + width / scale

    ax = page.axes(left, top, width, height)
    plain_axes(ax)
    ax.set_xlim(x0, x1)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    for i, (_, a, b, colour, text) in enumerate(rows):
        total = i in (0, len(rows) - 1)
        start = base if total else min(a, b)
        stop = b if total else max(a, b)
        ax.barh(i, stop - start, left=start, height=BAR_FRACTION, color=colour, zorder=2)
        rising = b >= a
        ax.annotate(text, (stop if rising else start, i), xytext=((1 if rising else -1) * GAP_PX * 72 / 100, 0),
                    textcoords="offset points", ha="left" if rising else "right", va="center", color=INK,
                    fontproperties=chart_font(pt(VALUE_CSS)), annotation_clip=False)
        if i < len(rows) - 1:  # connector from this row's level to the next row
            level = b
            ax.plot([level, level], [i + BAR_FRACTION / 2, i + 1 - BAR_FRACTION / 2], color=MUTED, linewidth=1,
                    zorder=1)
    ax.set_yticks(range(len(rows)), names)
    ax.tick_params(axis="y", length=0, pad=GAP_PX * 72 / 100)
    for tick in ax.get_yticklabels():
        tick.set_fontproperties(chart_font(pt(LABEL_CSS)))
        tick.set_color(INK)
        tick.set_parse_math(False)
    return page.figure
