"""The one chart style: palette, phone-sized type, pixel layout and text measuring.

Every chart is 720 px wide: on a phone it is shown about 360 CSS px wide at 2× density, so
sizes are written in CSS px (what the reader sees) and converted to points with :func:`pt`.
Layout is computed in image pixels (top-down) and converted to figure fractions at the end,
so headers, tick labels and value labels never collide and never depend on global state.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from analytics.charts.fonts import chart_font

WIDTH_PX = 720
DPI = 100
DENSITY = 2  # image px per CSS px on a phone screen

# Palette: one accent for "current", greys for "previous/others", red/green only for direction.
ACCENT = "#2563EB"
ACCENT_LIGHT = "#BFD3F9"
PREVIOUS = "#9AA3AF"
OTHERS = "#C5CBD3"
INK = "#1F2937"
MUTED = "#6B7280"
GRID = "#E6E8EC"
TILE = "#F5F7FA"
GOOD = "#15803D"
BAD = "#DC2626"
NEUTRAL = "#6B7280"
BACKGROUND = "#FFFFFF"

# Type scale in CSS px (12 px is the smallest text on the screen).
TITLE_CSS = 17
SUBTITLE_CSS = 12.5
LABEL_CSS = 12
VALUE_CSS = 13
BIG_CSS = 22
EMPTY_CSS = 16

MARGIN_PX = 32  # outer margin, image px
EMPTY_TEXT = "暂无数据"


def pt(css_px: float) -> float:
    """Points for a font that appears ``css_px`` CSS px tall on a 2× phone screen."""
    return css_px * DENSITY * 72 / DPI


def px(css_px: float) -> float:
    """Image pixels for ``css_px`` CSS pixels."""
    return css_px * DENSITY


_local = threading.local()


def _renderer() -> RendererAgg:
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = _local.renderer = RendererAgg(8, 8, DPI)
    return renderer


@lru_cache(maxsize=8192)
def text_width(text: str, css_size: float) -> float:
    """Width in image px of ``text`` set in the chart font at ``css_size`` CSS px (memoized:
    FreeType layout of a CJK font costs about a millisecond per call)."""
    if not text:
        return 0.0
    width, _, _ = _renderer().get_text_width_height_descent(text, chart_font(pt(css_size)), ismath=False)
    return float(width)


def truncate(text: str, css_size: float, max_px: float) -> str:
    """``text`` cut to fit ``max_px`` with a trailing …, or unchanged if it fits."""
    if text_width(text, css_size) <= max_px:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits together with the ellipsis
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid].rstrip() + "…", css_size) <= max_px:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


# Where a line may break, best first: after a list separator, after a space, anywhere (CJK).
_BREAK_SETS = (set("·，、；;|"), set(" ,/"))


def _break_at(line: str, cut: int) -> int:
    """The best break position at or before ``cut`` that keeps the line at least half full."""
    for breaks in _BREAK_SETS:
        soft = max((i + 1 for i in range(cut) if line[i] in breaks), default=0)
        if soft >= cut * 0.5:
            return soft
    return cut


def wrap(text: str, css_size: float, max_px: float, max_lines: int = 2) -> list[str]:
    """Break ``text`` into at most ``max_lines`` lines of ``max_px``; a break after a separator
    (·，、) or a space is preferred, CJK may break anywhere. The last line is truncated with …"""
    lines: list[str] = []
    rest = text.strip()
    while rest and len(lines) < max_lines - 1 and text_width(rest, css_size) > max_px:
        cut = max(len(truncate(rest, css_size, max_px).rstrip("…")), 1)
        cut = _break_at(rest, cut)
        lines.append(rest[:cut].rstrip(" ·"))
        rest = rest[cut:].lstrip(" ·")
    if rest:
        lines.append(truncate(rest, css_size, max_px))
    return lines


@dataclass
class Header:
    """A title (metric) and a grey subtitle (window, filters), wrapped to the chart width."""

    title_lines: list[str]
    subtitle_lines: list[str]

    @classmethod
    def of(cls, title: str, subtitle: str) -> Header:
        width = WIDTH_PX - 2 * MARGIN_PX
        return cls(wrap(title, TITLE_CSS, width), wrap(subtitle, SUBTITLE_CSS, width) if subtitle else [])

    @property
    def height(self) -> float:
        """Image px from the top of the figure to just below the subtitle."""
        height = MARGIN_PX * 0.8 + len(self.title_lines) * px(TITLE_CSS) * 1.35
        if self.subtitle_lines:
            height += 6 + len(self.subtitle_lines) * px(SUBTITLE_CSS) * 1.45
        return height

    def draw(self, page: Page) -> None:
        y = MARGIN_PX * 0.8
        for line in self.title_lines:
            page.text(MARGIN_PX, y, line, TITLE_CSS, color=INK, va="top")
            y += px(TITLE_CSS) * 1.35
        y += 6
        for line in self.subtitle_lines:
            page.text(MARGIN_PX, y, line, SUBTITLE_CSS, color=MUTED, va="top")
            y += px(SUBTITLE_CSS) * 1.45


class Page:
    """A Figure of fixed pixel size with a canvas, addressed in image px from the top-left."""

    def __init__(self, height_px: float):
        self.height = max(int(round(height_px)), 200)
        self.figure = Figure(figsize=(WIDTH_PX / DPI, self.height / DPI), dpi=DPI, facecolor=BACKGROUND)
        FigureCanvasAgg(self.figure)

    def fx(self, x_px: float) -> float:
        return x_px / WIDTH_PX

    def fy(self, y_px: float) -> float:
        return 1 - y_px / self.height

    def text(self, x: float, y: float, s: str, css_size: float, **kw) -> Text:
        """Place plain (never mathtext) text at image px (x, y) measured from the top-left."""
        kw.setdefault("color", INK)
        return self.figure.text(
            self.fx(x), self.fy(y), s, fontproperties=chart_font(pt(css_size)), parse_math=False, **kw
        )

    def line(self, xs: Sequence[float], ys: Sequence[float], **kw) -> Line2D:
        """A line (or markers) at image px coordinates; much cheaper than an Axes for sparklines."""
        line = Line2D([self.fx(x) for x in xs], [self.fy(y) for y in ys], transform=self.figure.transFigure, **kw)
        self.figure.add_artist(line)
        return line

    def axes(self, left: float, top: float, width: float, height: float) -> Axes:
        """An Axes occupying the given image-px box."""
        rect = (self.fx(left), self.fy(top + height), width / WIDTH_PX, height / self.height)
        ax = self.figure.add_axes(rect)
        ax.set_facecolor(BACKGROUND)
        return ax


def plain_axes(ax: Axes) -> None:
    """No spines, no ticks: an Axes used only as a drawing surface."""
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks([])
    ax.set_yticks([])


def calm_axes(ax: Axes, *, grid_axis: str = "y") -> None:
    """Light grid behind the data, no frame, small grey tick labels."""
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.grid(True, axis=grid_axis, color=GRID, linewidth=1.2)
    ax.set_axisbelow(True)
    ax.tick_params(length=0, colors=MUTED, pad=8)


def style_ticklabels(ax: Axes, css_size: float = LABEL_CSS) -> None:
    """Set the chart font on every tick label (they are created before this call, see callers)."""
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_fontproperties(chart_font(pt(css_size)))
        label.set_color(MUTED)
        label.set_parse_math(False)  # user data ("$", "_") is text, never mathtext


def empty_page(title: str, subtitle: str, *, height_px: float = 420) -> Figure:
    """A clean chart that says 暂无数据 under the usual header."""
    header = Header.of(title, subtitle)
    page = Page(max(height_px, header.height + 200))
    header.draw(page)
    middle = header.height + (page.height - header.height) / 2
    page.text(WIDTH_PX / 2, middle, EMPTY_TEXT, EMPTY_CSS, color=MUTED, ha="center", va="center")
    return page.figure
