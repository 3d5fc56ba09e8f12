"""Ranked horizontal bars with the value (and n) written at the end of each bar."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from analytics.charts.fonts import chart_font
from analytics.charts.numbers import format_value, is_number, unit_on_ticks
from analytics.charts.output import save_png
from analytics.charts.style import (
    ACCENT,
    INK,
    LABEL_CSS,
    MARGIN_PX,
    MUTED,
    OTHERS,
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
MAX_BARS = 20
LABEL_SHARE = 0.38  # category labels may take at most this share of the width
GAP_PX = 10
ORDERS = ("desc", "asc", "given")


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str,
    path: Path,
    counts: Sequence[int] | None = None,
    subtitle: str = "",
    highlight: str | None = None,
    value_format: str = "{:.1f}",
    order: str = "desc",
) -> Path:
    """Render ranked bars to ``path`` and return it; see :func:`bar_figure`."""
    figure = bar_figure(labels, values, title=title, unit=unit, counts=counts, subtitle=subtitle,
                        highlight=highlight, value_format=value_format, order=order)
    return save_png(figure, path)


def bar_figure(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str,
    counts: Sequence[int] | None = None,
    subtitle: str = "",
    highlight: str | None = None,
    value_format: str = "{:.1f}",
    order: str = "desc",
) -> Figure:
    """Horizontal bars, largest on top (``order="asc"`` for lower-is-better metrics such as
    首响, ``"given"`` keeps the caller's order). With ``counts``, "n=…" follows each value; with
    ``highlight``, that label's bar keeps the accent colour and the others turn grey. At most
    :data:`MAX_BARS` bars are drawn; a note says how many were left out."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    if counts is not None and len(counts) != len(values):
        raise ValueError("counts must have one entry per value")
    if len(labels) != len(values):
        raise ValueError("labels and values must have the same length")
    rows = [(str(label), float(value), None if counts is None else counts[i])
            for i, (label, value) in enumerate(zip(labels, values, strict=True)) if is_number(value)]
    if not rows:
        return empty_page(title, subtitle)
    if order != "given":
        rows.sort(key=lambda row: row[1], reverse=order == "desc")
    hidden = max(0, len(rows) - MAX_BARS)
    return _draw(rows[:MAX_BARS], hidden, title, subtitle, unit, highlight, value_format)


def _value_text(value: float, value_format: str, unit: str) -> str:
    return format_value(value, value_format, unit if unit_on_ticks(unit) else "")


def _draw(rows, hidden, title, subtitle, unit, highlight, value_format) -> Figure:
    header = Header.of(title, subtitle)
    content = WIDTH_PX - 2 * MARGIN_PX
    names = [truncate(label, LABEL_CSS, content * LABEL_SHARE) for label, _, _ in rows]
    value_texts = [_value_text(value, value_format, unit) for _, value, _ in rows]
    n_texts = [f"n={count:,}" if count is not None else "" for _, _, count in rows]
    label_widths = [
        text_width(v, VALUE_CSS) + (GAP_PX * 0.8 + text_width(n, LABEL_CSS) if n else 0)
        for v, n in zip(value_texts, n_texts, strict=True)
    ]

    caption = "" if unit_on_ticks(unit) else f"单位：{unit}"
    top = header.height + (px(LABEL_CSS) * 1.6 if caption else 0) + 14
    note = f"另有 {hidden} 项未显示" if hidden else ""
    bottom_room = (px(LABEL_CSS) * 1.8 if note else 0) + MARGIN_PX * 0.6
    left = MARGIN_PX + max(text_width(name, LABEL_CSS) for name in names) + GAP_PX
    width = WIDTH_PX - MARGIN_PX - left
    height = ROW_PX * len(rows)
    page = Page(top + height + bottom_room)
    header.draw(page)
    if caption:
        page.text(WIDTH_PX - MARGIN_PX, header.height + 4, caption, LABEL_CSS, color=MUTED, ha="right", va="top")
    if note:
        page.text(MARGIN_PX, top + height + 14, note, LABEL_CSS, color=MUTED, va="top")

    ax = page.axes(left, top, width, height)
    plain_axes(ax)
    values = [value for _, value, _ in rows]
    ax.set_xlim(*_x_limits(values, label_widths, width))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    colours = [_colour(label, highlight) for label, _, _ in rows]
    ax.barh(range(len(rows)), values, height=BAR_FRACTION, color=colours, zorder=2)
    if min(values) < 0:
        ax.axvline(0, color=MUTED, linewidth=1, zorder=3)
    for i, (value, vtext, ntext) in enumerate(zip(values, value_texts, n_texts, strict=True)):
        _label_bar(ax, i, value, vtext, ntext)
    ax.set_yticks(range(len(rows)), names)
    ax.tick_params(axis="y", length=0, pad=GAP_PX * 72 / 100)
    for tick, (label, _, _) in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_fontproperties(chart_font(pt(LABEL_CSS)))
        tick.set_color(INK if highlight in (None, label) else MUTED)
        tick.set_parse_math(False)
    return page.figure


def _colour(label: str, highlight: str | None) -> str:
    return ACCENT if highlight is None or label == highlight else OTHERS


def _label_bar(ax, row: int, value: float, value_text: str, n_text: str) -> None:
    """The value at the bar's end (outside it), then n in grey."""
    sign = -1 if value < 0 else 1
    ha = "right" if value < 0 else "left"
    offset = GAP_PX * 72 / 100  # offset points from image px
    ax.annotate(value_text, (value, row), xytext=(sign * offset, 0), textcoords="offset points",
                ha=ha, va="center", color=INK, fontproperties=chart_font(pt(VALUE_CSS)),
                annotation_clip=False)
    if n_text:
        shift = offset + (text_width(value_text, VALUE_CSS) + GAP_PX * 0.8) * 72 / 100
        ax.annotate(n_text, (value, row), xytext=(sign * shift, 0), textcoords="offset points",
                    ha=ha, va="center", color=MUTED, fontproperties=chart_font(pt(LABEL_CSS)),
                    annotation_clip=False)


def _x_limits(values: list[float], label_widths: list[float], width_px: float) -> tuple[float, float]:
    """Data limits such that every bar plus its end label fits into ``width_px``.

    Each bar needs |v|·s + gap + label px on its side of zero; the largest scale s that fits
    both sides is the minimum over all (left bar, right bar) pairs, including "no bar"."""
    reach = [(abs(v), GAP_PX + w) for v, w in zip(values, label_widths, strict=True)]
    left = [r for r, v in zip(reach, values, strict=True) if v < 0] + [(0.0, 0.0)]
    right = [r for r, v in zip(reach, values, strict=True) if v >= 0] + [(0.0, 0.0)]
    scale = math.inf
    for a_left, c_left in left:
        for a_right, c_right in right:
            if a_left + a_right > 0:
                scale = min(scale, (width_px - c_left - c_right) / (a_left + a_right))
    if not math.isfinite(scale) or scale <= 0:
        return (0.0, 1.0)
    left_px = max(a * scale + c if a else 0.0 for a, c in left)
    return (-left_px / scale, (width_px - left_px) / scale)
