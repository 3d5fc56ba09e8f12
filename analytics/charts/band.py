"""An alert's chart: the last hours of one series as bars against the band the baseline expected.

Per hour, a bar of the observed count; behind it the grey band from 0 to the top of the count model's
99 % range, and the expected count as a dashed line. Hours above the band are red, the rest in the
accent colour; the current hour, counted only up to the check, is drawn hollow (its bar is not over).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analytics.charts.fonts import chart_font
from analytics.charts.numbers import nice_ticks, tick_labels
from analytics.charts.output import save_png
from analytics.charts.style import (
    ACCENT,
    BACKGROUND,
    BAD,
    LABEL_CSS,
    MARGIN_PX,
    MUTED,
    PREVIOUS,
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

PLOT_HEIGHT_PX = 300
LEGEND_ROW_PX = 48
BAND = "#E3E9F4"  # the normal range: darker than a tile, lighter than the grid lines' ink


def band_chart(hours: Sequence[datetime], observed: Sequence[float], expected: Sequence[float],
               upper: Sequence[float], *, title: str, path: Path, subtitle: str = "", unit: str = "件",
               partial_last: bool = False) -> Path:
    """Render the band chart PNG to ``path``; see :func:`band_figure`."""
    return save_png(band_figure(hours, observed, expected, upper, title=title, subtitle=subtitle, unit=unit,
                                partial_last=partial_last), path)


def band_figure(hours: Sequence[datetime], observed: Sequence[float], expected: Sequence[float],
                upper: Sequence[float], *, title: str, subtitle: str = "", unit: str = "件",
                partial_last: bool = False) -> Figure:
    """``hours`` are local hour starts in time order, the three series aligned with them."""
    n = len(hours)
    if n == 0 or not (len(observed) == len(expected) == len(upper) == n):
        return empty_page(title, subtitle)
    header = Header.of(title, subtitle)
    ticks = nice_ticks(0.0, max(1.0, *observed, *upper, *expected))
    y_labels = tick_labels(ticks, unit)
    top = header.height + LEGEND_ROW_PX + 24
    left = MARGIN_PX + max(text_width(s, LABEL_CSS) for s in y_labels) + 12
    right = WIDTH_PX - MARGIN_PX
    page = Page(top + PLOT_HEIGHT_PX + px(LABEL_CSS) * 1.2 + 16 + MARGIN_PX)
    header.draw(page)
    ax = page.axes(left, top, right - left, PLOT_HEIGHT_PX)
    xs = list(range(n))
    ax.fill_between([x - 0.5 for x in xs] + [n - 0.5], [*upper, upper[-1]], step="post", color=BAND, zorder=1,
                    linewidth=0)
    ax.step([x - 0.5 for x in xs] + [n - 0.5], [*expected, expected[-1]], where="post", color=PREVIOUS,
            linewidth=2, linestyle=(0, (4, 3)), zorder=2)
    for i, (value, high) in enumerate(zip(observed, upper, strict=True)):
        colour = BAD if value > high else ACCENT
        hollow = partial_last and i == n - 1
        ax.bar(i, value, width=0.72, zorder=3, color=BACKGROUND if hollow else colour, edgecolor=colour,
               linewidth=2 if hollow else 0)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(ticks[0], ticks[-1])
    calm_axes(ax, grid_axis="y")
    ax.set_yticks(ticks, y_labels)
    step = 3 if n > 12 else 1
    positions = [i for i in xs if hours[i].hour % step == 0]
    ax.set_xticks(positions, [f"{hours[i]:%H}时" for i in positions])
    ax.tick_params(axis="x", pad=10)
    style_ticklabels(ax)
    handles = [Patch(facecolor=ACCENT), Patch(facecolor=BAD), Patch(facecolor=BAND),
               Line2D([], [], color=PREVIOUS, linewidth=2, linestyle=(0, (4, 3)))]
    labels = ["每小时", "超出范围", "正常范围", "预期"]
    page.figure.legend(handles, labels, loc="upper left", ncol=4, frameon=False,
                       bbox_to_anchor=(page.fx(MARGIN_PX - 6), page.fy(header.height + 4)),
                       prop=chart_font(pt(LABEL_CSS)), labelcolor=MUTED, handlelength=1.2, columnspacing=1.0, handletextpad=0.5)
    return page.figure
