"""Charts for chat replies: phone-sized PNGs in one calm style, rendered off the event loop.

Seven chart types (trend line, ranked bars, weekday × hour heatmap, KPI small multiples, the digest's
composite of tiles and bar blocks, the `/为什么` waterfall, an alert's hours against its expected band), each
as ``xxx(..., path) -> Path`` that writes a PNG and ``xxx_figure(...) -> Figure`` for tests.
Use :func:`render` from async code. See docs/charts.md.
"""

from analytics.charts.band import band_chart, band_figure
from analytics.charts.bars import bar_chart, bar_figure
from analytics.charts.digest import BarBlock, DigestTile, digest_chart, digest_figure
from analytics.charts.fonts import ChartFontError, chart_font, chart_font_path, missing_glyphs
from analytics.charts.heatmap import WEEKDAYS, heatmap, heatmap_figure
from analytics.charts.multiples import Panel, small_multiples, small_multiples_figure
from analytics.charts.output import MAX_BYTES, png_bytes, save_png
from analytics.charts.runner import render, shutdown
from analytics.charts.style import EMPTY_TEXT, WIDTH_PX
from analytics.charts.trend import trend_chart, trend_figure
from analytics.charts.waterfall import waterfall_chart, waterfall_figure

__all__ = [
    "EMPTY_TEXT",
    "MAX_BYTES",
    "WEEKDAYS",
    "WIDTH_PX",
    "BarBlock",
    "ChartFontError",
    "DigestTile",
    "Panel",
    "band_chart",
    "band_figure",
    "bar_chart",
    "bar_figure",
    "chart_font",
    "chart_font_path",
    "digest_chart",
    "digest_figure",
    "heatmap",
    "heatmap_figure",
    "missing_glyphs",
    "png_bytes",
    "render",
    "save_png",
    "shutdown",
    "small_multiples",
    "small_multiples_figure",
    "trend_chart",
    "trend_figure",
    "waterfall_chart",
    "waterfall_figure",
]
