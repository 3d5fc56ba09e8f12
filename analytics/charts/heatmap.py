"""Weekday × hour heatmap (高峰): one sequential accent scale, the busiest cell outlined."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from analytics.charts.numbers import is_number
from analytics.charts.output import save_png
from analytics.charts.style import (
    BACKGROUND,
    INK,
    LABEL_CSS,
    MARGIN_PX,
    MUTED,
    WIDTH_PX,
    Header,
    Page,
    empty_page,
    plain_axes,
    px,
    style_ticklabels,
    text_width,
)

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
HOURS = tuple(range(24))
CELL_HEIGHT_PX = 42
MISSING = "#F3F4F6"
SCALE = LinearSegmentedColormap.from_list(
    "csbot_heat", ["#EEF3FD", "#93B4F5", "#2563EB", "#1E3A8A"]
).with_extremes(bad=MISSING)
LEGEND_BAR_PX = (150, 14)


def heatmap(
    matrix: Sequence[Sequence[float | None]],
    *,
    title: str,
    path: Path,
    subtitle: str = "",
    row_labels: Sequence[str] = WEEKDAYS,
    col_labels: Sequence[str | int] = HOURS,
    value_format: str = "{:,.0f}",
) -> Path:
    """Render a heatmap PNG to ``path`` and return it; see :func:`heatmap_figure`."""
    figure = heatmap_figure(matrix, title=title, subtitle=subtitle, row_labels=row_labels,
                            col_labels=col_labels, value_format=value_format)
    return save_png(figure, path)


def heatmap_figure(
    matrix: Sequence[Sequence[float | None]],
    *,
    title: str,
    subtitle: str = "",
    row_labels: Sequence[str] = WEEKDAYS,
    col_labels: Sequence[str | int] = HOURS,
    value_format: str = "{:,.0f}",
) -> Figure:
    """``matrix[row][col]`` (default rows 周一…周日, columns hours 0…23; an int column label is
    shown as "N时"). None is "no data" (light grey). The busiest cell is outlined and named
    below the map with its value, next to a small colour legend."""
    data = np.array([[float(v) if is_number(v) else math.nan for v in row] for row in matrix], dtype=float)
    if data.size == 0 or not np.isfinite(data).any() or np.nanmax(np.abs(data)) == 0:
        return empty_page(title, subtitle)
    if data.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"matrix is {data.shape}, labels are {len(row_labels)} × {len(col_labels)}")
    columns = [f"{c}时" if isinstance(c, int) else str(c) for c in col_labels]
    return _draw(data, list(row_labels), columns, title, subtitle, value_format)


def _draw(data: np.ndarray, rows: list[str], columns: list[str], title: str, subtitle: str,
          value_format: str) -> Figure:
    header = Header.of(title, subtitle)
    top = header.height + 18
    left = MARGIN_PX + max(text_width(r, LABEL_CSS) for r in rows) + 12
    width = WIDTH_PX - MARGIN_PX - left
    height = CELL_HEIGHT_PX * len(rows)
    legend_y = top + height + px(LABEL_CSS) + 34
    page = Page(legend_y + px(LABEL_CSS) + MARGIN_PX)
    header.draw(page)

    ax = page.axes(left, top, width, height)
    plain_axes(ax)
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    low = min(low, 0.0)
    ax.pcolormesh(np.ma.masked_invalid(data), cmap=SCALE, vmin=low, vmax=high,
                  edgecolors=BACKGROUND, linewidth=2)
    ax.set_xlim(0, data.shape[1])
    ax.set_ylim(data.shape[0], 0)
    peak_row, peak_col = np.unravel_index(np.nanargmax(data), data.shape)
    ax.add_patch(Rectangle((peak_col, peak_row), 1, 1, fill=False, edgecolor=INK, linewidth=2.2, zorder=3))

    every = _label_every(columns, width / len(columns))
    shown = list(range(0, len(columns), every))
    ax.set_xticks([c + 0.5 for c in shown], [columns[c] for c in shown])
    ax.set_yticks([r + 0.5 for r in range(len(rows))], rows)
    ax.tick_params(length=0, pad=8)
    style_ticklabels(ax)

    peak_text = f"最忙：{rows[peak_row]} {columns[peak_col]}（{value_format.format(high)}）"
    page.text(WIDTH_PX - MARGIN_PX, legend_y, peak_text, LABEL_CSS, color=INK, ha="right", va="center")
    _colour_legend(page, left, legend_y, low, high, value_format)
    return page.figure


def _label_every(columns: list[str], cell_px: float) -> int:
    """Show every k-th column label so that labels keep a gap; k divides nicely into 24 hours."""
    widest = max(text_width(c, LABEL_CSS) for c in columns) + px(8)
    for every in (1, 2, 3, 4, 6, 8, 12):
        if every * cell_px >= widest:
            return every
    return max(1, len(columns) // 2)


def _colour_legend(page: Page, x: float, y: float, low: float, high: float, value_format: str) -> None:
    """low ▁▂▃▅▇ high: the colour scale with its two ends."""
    low_text = value_format.format(low)
    page.text(x - 4, y, low_text, LABEL_CSS, color=MUTED, ha="left", va="center")
    bar_left = x + text_width(low_text, LABEL_CSS) + 8
    bar_width, bar_height = LEGEND_BAR_PX
    gradient = np.repeat(SCALE(np.linspace(0, 1, bar_width))[None, :, :], bar_height, axis=0)
    page.figure.figimage(gradient, xo=bar_left, yo=page.height - y - bar_height / 2, origin="upper")
    page.text(bar_left + bar_width + 8, y, value_format.format(high), LABEL_CSS, color=MUTED,
              ha="left", va="center")
