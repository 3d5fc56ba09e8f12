"""The digest's composite chart: KPI tiles (value, two coloured comparisons, sparkline, a red frame
when flagged) above short ranked-bar blocks (complaint categories, the agent league).

One phone-sized PNG per 日报 / 周报, drawn straight onto one figure (no Axes), in the style of
:mod:`analytics.charts.multiples` whose tile pieces it reuses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.transforms import IdentityTransform

from analytics.charts.multiples import (
    GAP_PX,
    NAME_CSS,
    PAD_PX,
    SPARK_PX,
    _fitting_size,
    _sparkline,
    _tile_width,
)
from analytics.charts.output import save_png
from analytics.charts.style import (
    ACCENT,
    BAD,
    BIG_CSS,
    GOOD,
    INK,
    LABEL_CSS,
    MARGIN_PX,
    MUTED,
    NEUTRAL,
    OTHERS,
    TILE,
    TITLE_CSS,
    VALUE_CSS,
    WIDTH_PX,
    Header,
    Page,
    empty_page,
    px,
    text_width,
    truncate,
)

COLUMNS = 2
MAX_BARS = 6
BAR_ROW_PX = 46
BAR_PX = 22
LABEL_SHARE = 0.3
FLAG_MARK = "异常"


@dataclass(frozen=True)
class DigestTile:
    """One key number: preformatted ``value``; ``changes`` are (text, good) lines coloured green/red/grey.
    ``flagged`` frames the tile and marks it 异常, in the colour of ``flag_good`` (green good news,
    red bad news, grey no judgement). ``min_span``: the sparkline's least vertical span in the points'
    unit (5 for a percentage, as in /概览), so a 0.1-point wobble is not drawn as a cliff."""

    title: str
    value: str
    changes: Sequence[tuple[str, bool | None]] = ()
    points: Sequence[float | None] = field(default_factory=tuple)
    flagged: bool = False
    flag_good: bool | None = False
    min_span: float = 0.0


@dataclass(frozen=True)
class BarBlock:
    """A titled list of ranked bars: (label, value, preformatted value label); at most :data:`MAX_BARS`."""

    title: str
    bars: Sequence[tuple[str, float, str]]
    note: str = ""


def digest_chart(tiles: Sequence[DigestTile], *, title: str, path: Path, subtitle: str = "",
                 blocks: Sequence[BarBlock] = ()) -> Path:
    """Render the composite digest chart to ``path`` and return it; see :func:`digest_figure`."""
    return save_png(digest_figure(tiles, title=title, subtitle=subtitle, blocks=blocks), path)


def digest_figure(tiles: Sequence[DigestTile], *, title: str, subtitle: str = "",
                  blocks: Sequence[BarBlock] = ()) -> Figure:
    """Tiles two per row, then each non-empty bar block; a page saying 暂无数据 when there is nothing."""
    blocks = [b for b in blocks if b.bars]
    if not tiles and not blocks:
        return empty_page(title, subtitle)
    header = Header.of(title, subtitle)
    tile_w = _tile_width(COLUMNS)
    lines = max((len(t.changes) for t in tiles), default=0)
    tile_h = _tile_height(max(lines, 1))
    rows = math.ceil(len(tiles) / COLUMNS)
    top = header.height + 18
    grid_h = rows * tile_h + max(rows - 1, 0) * GAP_PX
    heights = [_block_height(b) for b in blocks]
    page = Page(top + grid_h + sum(h + GAP_PX * 2 for h in heights) + MARGIN_PX * 0.8)
    header.draw(page)
    for i, tile in enumerate(tiles):
        row, col = divmod(i, COLUMNS)
        _draw_tile(page, tile, MARGIN_PX + col * (tile_w + GAP_PX), top + row * (tile_h + GAP_PX), tile_w, tile_h)
    cursor = top + grid_h + GAP_PX * 2
    for block, height in zip(blocks, heights, strict=True):
        _draw_block(page, block, cursor)
        cursor += height + GAP_PX * 2
    return page.figure


def _tile_height(change_lines: int) -> float:
    return (PAD_PX + px(NAME_CSS) * 1.4 + px(BIG_CSS) * 1.3 + px(LABEL_CSS) * 1.35 * change_lines + 14
            + SPARK_PX + PAD_PX)


def _draw_tile(page: Page, tile: DigestTile, x: float, y: float, w: float, h: float) -> None:
    mark = {True: GOOD, False: BAD, None: NEUTRAL}[tile.flag_good]
    page.figure.patches.append(FancyBboxPatch(
        (x, page.height - y - h), w, h, boxstyle="round,pad=0,rounding_size=14", transform=IdentityTransform(),
        facecolor=TILE, edgecolor=mark if tile.flagged else "none", linewidth=2.5 if tile.flagged else 0, zorder=-1,
    ))
    inner = w - 2 * PAD_PX
    cursor = y + PAD_PX
    mark_w = text_width(FLAG_MARK, NAME_CSS) + 8 if tile.flagged else 0
    page.text(x + PAD_PX, cursor, truncate(tile.title, NAME_CSS, inner - mark_w), NAME_CSS, color=MUTED, va="top")
    if tile.flagged:
        page.text(x + w - PAD_PX, cursor, FLAG_MARK, NAME_CSS, color=mark, va="top", ha="right")
    cursor += px(NAME_CSS) * 1.4
    size = _fitting_size(tile.value, inner)
    page.text(x + PAD_PX, cursor + (px(BIG_CSS) - px(size)) * 0.6, truncate(tile.value, size, inner), size,
              color=INK, va="top")
    cursor += px(BIG_CSS) * 1.3
    for text, good in tile.changes:
        colour = {True: GOOD, False: BAD, None: NEUTRAL}[good]
        page.text(x + PAD_PX, cursor, truncate(text, LABEL_CSS, inner), LABEL_CSS, color=colour, va="top")
        cursor += px(LABEL_CSS) * 1.35
    _sparkline(page, tile.points, x + PAD_PX, y + h - PAD_PX - SPARK_PX, inner, SPARK_PX, min_span=tile.min_span)


def _block_height(block: BarBlock) -> float:
    height = px(TITLE_CSS * 0.85) * 1.5 + len(block.bars[:MAX_BARS]) * BAR_ROW_PX
    return height + (px(LABEL_CSS) * 1.5 if block.note else 0)


def _draw_block(page: Page, block: BarBlock, y: float) -> None:
    page.text(MARGIN_PX, y, block.title, TITLE_CSS * 0.85, color=INK, va="top")
    y += px(TITLE_CSS * 0.85) * 1.5
    bars = list(block.bars[:MAX_BARS])
    width = WIDTH_PX - 2 * MARGIN_PX
    label_w = min(width * LABEL_SHARE, max(text_width(label, LABEL_CSS) for label, _, _ in bars) + 12)
    value_w = max(text_width(text, VALUE_CSS) for _, _, text in bars) + 12
    bar_room = width - label_w - value_w
    peak = max((v for _, v, _ in bars), default=0) or 1.0
    for i, (label, value, text) in enumerate(bars):
        row_y = y + i * BAR_ROW_PX
        middle = row_y + BAR_ROW_PX / 2
        page.text(MARGIN_PX, middle, truncate(label, LABEL_CSS, label_w - 12), LABEL_CSS, color=INK, va="center")
        length = max(bar_room * max(value, 0) / peak, 3)
        left = MARGIN_PX + label_w
        page.figure.patches.append(Rectangle(
            (left, page.height - middle - BAR_PX / 2), length, BAR_PX, transform=IdentityTransform(),
            facecolor=ACCENT if i == 0 else OTHERS, edgecolor="none"))
        page.text(left + length + 8, middle, text, VALUE_CSS, color=INK, va="center")
    if block.note:
        page.text(MARGIN_PX, y + len(bars) * BAR_ROW_PX + 4, truncate(block.note, LABEL_CSS, width), LABEL_CSS,
                  color=MUTED, va="top")
