"""Small multiples: a grid of KPI tiles (metric, value, coloured change, sparkline) for /概览
and the daily digest."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.transforms import IdentityTransform

from analytics.charts.numbers import is_number
from analytics.charts.output import save_png
from analytics.charts.style import (
    ACCENT,
    BACKGROUND,
    BAD,
    BIG_CSS,
    GOOD,
    INK,
    LABEL_CSS,
    MARGIN_PX,
    MUTED,
    NEUTRAL,
    TILE,
    WIDTH_PX,
    Header,
    Page,
    empty_page,
    px,
    text_width,
    truncate,
    wrap,
)

GAP_PX = 16
PAD_PX = 20
NAME_CSS = 13
SPARK_PX = 64
MIN_VALUE_CSS = 13
MAX_COLUMNS = 4


@dataclass(frozen=True)
class Panel:
    """One KPI tile. ``value`` and ``change`` are preformatted ("95.2%", "↑1.3pt 较上周同期");
    ``good`` colours the change: True green, False red, None grey (no judgement). ``partial[i]`` marks a
    sparkline point whose bucket is not whole (the current hour): drawn hollow, joined dotted, so it
    does not read as a plunge. ``min_span``: the sparkline's least vertical span in the points' unit
    (5 for a percentage), so a 0.1-point wobble is drawn as one."""

    title: str
    value: str
    change: str = ""
    points: Sequence[float | None] = field(default_factory=tuple)
    good: bool | None = None
    partial: Sequence[bool] = field(default_factory=tuple)
    min_span: float = 0.0


def small_multiples(panels: Sequence[Panel], *, title: str, path: Path, subtitle: str = "",
                    columns: int = 2) -> Path:
    """Render the KPI grid to ``path`` and return it; see :func:`small_multiples_figure`."""
    return save_png(small_multiples_figure(panels, title=title, subtitle=subtitle, columns=columns), path)


def small_multiples_figure(panels: Sequence[Panel], *, title: str, subtitle: str = "",
                           columns: int = 2) -> Figure:
    """Tiles in reading order, ``columns`` per row (1–4). A value is never cut: it shrinks to
    fit its tile, and if even the smallest size does not fit, the grid gets fewer columns.
    Changes wrap onto a second line; long names are cut with …"""
    if not panels:
        return empty_page(title, subtitle)
    columns = _fitting_columns(panels, max(1, min(MAX_COLUMNS, columns, len(panels))))
    header = Header.of(title, subtitle)
    tile_w = _tile_width(columns)
    changes = [wrap(p.change, LABEL_CSS, tile_w - 2 * PAD_PX) if p.change else [] for p in panels]
    change_lines = max(1, max(len(lines) for lines in changes))
    tile_h = _tile_height(change_lines)
    rows = math.ceil(len(panels) / columns)
    top = header.height + 18
    page = Page(top + rows * tile_h + (rows - 1) * GAP_PX + MARGIN_PX * 0.8)
    header.draw(page)
    for i, (panel, change) in enumerate(zip(panels, changes, strict=True)):
        row, col = divmod(i, columns)
        box = (MARGIN_PX + col * (tile_w + GAP_PX), top + row * (tile_h + GAP_PX), tile_w, tile_h)
        _draw_tile(page, panel, change, *box)
    return page.figure


def _tile_width(columns: int) -> float:
    return (WIDTH_PX - 2 * MARGIN_PX - (columns - 1) * GAP_PX) / columns


def _fitting_columns(panels: Sequence[Panel], columns: int) -> int:
    """The most columns (up to the requested) at which every value fits at the smallest size."""
    while columns > 1 and any(
        text_width(p.value, MIN_VALUE_CSS) > _tile_width(columns) - 2 * PAD_PX for p in panels
    ):
        columns -= 1
    return columns


def _tile_height(change_lines: int) -> float:
    return (PAD_PX + px(NAME_CSS) * 1.4 + px(BIG_CSS) * 1.3 + px(LABEL_CSS) * 1.35 * change_lines + 14
            + SPARK_PX + PAD_PX)


def _draw_tile(page: Page, panel: Panel, change: list[str], x: float, y: float, w: float, h: float) -> None:
    page.figure.patches.append(FancyBboxPatch(
        (x, page.height - y - h), w, h, boxstyle="round,pad=0,rounding_size=14",
        transform=IdentityTransform(), facecolor=TILE, edgecolor="none", zorder=-1,  # under the sparkline axes
    ))
    inner = w - 2 * PAD_PX
    cursor = y + PAD_PX
    page.text(x + PAD_PX, cursor, truncate(panel.title, NAME_CSS, inner), NAME_CSS, color=MUTED, va="top")
    cursor += px(NAME_CSS) * 1.4
    size = _fitting_size(panel.value, inner)
    value = truncate(panel.value, size, inner)  # only bites when even one column is too narrow
    page.text(x + PAD_PX, cursor + (px(BIG_CSS) - px(size)) * 0.6, value, size, color=INK, va="top")
    cursor += px(BIG_CSS) * 1.3
    colour = {True: GOOD, False: BAD, None: NEUTRAL}[panel.good]
    for line in change:
        page.text(x + PAD_PX, cursor, line, LABEL_CSS, color=colour, va="top")
        cursor += px(LABEL_CSS) * 1.35
    sparkline_top = y + h - PAD_PX - SPARK_PX
    _sparkline(page, panel.points, x + PAD_PX, sparkline_top, inner, SPARK_PX, panel.partial, panel.min_span)


def _fitting_size(value: str, width: float) -> float:
    """The largest size from BIG_CSS down to MIN_VALUE_CSS at which ``value`` fits."""
    size = float(BIG_CSS)
    while size > MIN_VALUE_CSS and text_width(value, size) > width:
        size -= 0.5
    return size


def _sparkline(page: Page, points: Sequence[float | None], x: float, y: float, w: float, h: float,
               partial: Sequence[bool] = (), min_span: float = 0.0) -> None:
    """The series as a line in the box (x, y, w, h), NaN gaps kept, the last point dotted; partial
    points hollow and joined dotted. Drawn straight onto the figure: an Axes per tile would cost more
    than the whole chart."""
    values = [float(v) if is_number(v) else math.nan for v in points]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return
    part = [bool(p) for p in partial][: len(values)] + [False] * max(0, len(values) - len(partial))
    lo, hi = min(finite), max(finite)
    if hi - lo < min_span:  # centred: a flat rate stays mid-tile instead of filling it
        mid = (lo + hi) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
    pad = (hi - lo) * 0.12 or abs(hi) * 0.1 or 1.0
    slots = max(len(values) - 1, 1) + 0.8
    xs = [x + w * (i + 0.4) / slots for i in range(len(values))]
    ys = [y + h * (1 - (v - lo + pad) / (hi - lo + 2 * pad)) for v in values]
    whole = [math.nan if p else v for v, p in zip(ys, part, strict=True)]
    page.line(xs, whole, color=ACCENT, linewidth=2.4, solid_capstyle="round", solid_joinstyle="round")
    for i in (i for i, p in enumerate(part) if p and math.isfinite(ys[i])):
        for j in (i - 1, i + 1):
            if 0 <= j < len(ys) and math.isfinite(ys[j]):
                page.line([xs[j], xs[i]], [ys[j], ys[i]], color=ACCENT, linewidth=2.0, linestyle=(0, (1.2, 2.2)),
                          dash_capstyle="round")
    last = max(i for i, v in enumerate(values) if math.isfinite(v))
    for i in (i for i, p in enumerate(part) if p and math.isfinite(ys[i])):
        page.line([xs[i]], [ys[i]], marker="o", markerfacecolor=TILE, markeredgecolor=ACCENT,
                  markersize=6.5 if i == last else 5, markeredgewidth=1.8, linestyle="none")
    if not part[last]:
        page.line([xs[last]], [ys[last]], marker="o", color=ACCENT, markersize=6.5, markeredgecolor=BACKGROUND,
                  markeredgewidth=1.5, linestyle="none")
