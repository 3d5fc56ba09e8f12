"""Finding a font that draws every glyph a chart uses (Chinese, digits, ↑↓, ¥, ‰, %).

Matplotlib's default DejaVu Sans has no CJK glyphs, so Chinese text would come out as
missing-glyph boxes ("tofu"). We pick one font once per process and pass it explicitly to
every text artist (``FontProperties(fname=...)``); nothing touches matplotlib's global rcParams.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from matplotlib import font_manager
from matplotlib.font_manager import FontProperties

log = logging.getLogger(__name__)

DEBIAN_PACKAGE = "fonts-wqy-microhei"
WQY_MICROHEI = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

# Preferred families, best first. WenQuanYi Micro Hei is what the Debian install and CI provide.
PREFERRED_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)

# Every character class the charts draw: weekdays, common metric words, arrows and units.
REQUIRED_GLYPHS = (
    "0123456789.,:;+-−–—/()[]%‰¥~ ·…↑↓→"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
    "周一二三四五六日月年时天暂无数据本期上较满意度投诉首响解决率退货复购差评情感热词客服高峰概览销售"
    "，：（）、"
)


class ChartFontError(RuntimeError):
    """No installed font can draw the Chinese text of a chart."""


_lock = threading.Lock()
_chosen: Path | None = None


def chart_font_path() -> Path:
    """The font file every chart uses, chosen once per process (see :func:`find_cjk_font`)."""
    global _chosen
    with _lock:
        if _chosen is None:
            _chosen = find_cjk_font()
            log.info("charts use font %s", _chosen)
        return _chosen


def chart_font(size: float | None = None) -> FontProperties:
    """A FontProperties for the chart font, optionally at ``size`` points."""
    return FontProperties(fname=str(chart_font_path()), size=size)


def find_cjk_font() -> Path:
    """Locate a font covering :data:`REQUIRED_GLYPHS`.

    Order: WenQuanYi Micro Hei at its Debian path, then installed fonts by preferred family
    name (Noto Sans CJK SC, Source Han Sans, ...), then any installed font whose cmap covers
    every required glyph. Raises :class:`ChartFontError` naming the Debian package otherwise.
    """
    for candidate in _candidates():
        if not missing_glyphs(REQUIRED_GLYPHS, candidate):
            return candidate
        log.debug("font %s lacks glyphs, skipped", candidate)
    raise ChartFontError(
        "No installed font can draw Chinese chart text. Install the Debian package "
        f"{DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE}) or fonts-noto-cjk."
    )


def _candidates():
    if WQY_MICROHEI.is_file():
        yield WQY_MICROHEI
    entries = [e for e in font_manager.fontManager.ttflist if os.path.isfile(e.fname)]
    by_name: dict[str, list[str]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry.fname)
    for family in PREFERRED_FAMILIES:
        for fname in sorted(set(by_name.get(family, ()))):
            yield Path(fname)
    for fname in sorted({e.fname for e in entries}):
        yield Path(fname)


def missing_glyphs(text: str, font_path: str | os.PathLike[str]) -> set[str]:
    """Characters of ``text`` the font at ``font_path`` has no glyph for (whitespace ignored)."""
    cmap = _cmap(str(font_path))
    return {ch for ch in set(text) if not ch.isspace() and ord(ch) not in cmap}


@lru_cache(maxsize=32)
def _cmap(font_path: str) -> frozenset[int]:
    """The code points of face 0 of a font file (a .ttc collection's first face)."""
    try:
        if font_path.lower().endswith((".ttc", ".otc")):
            with TTCollection(font_path, lazy=True) as collection:
                return frozenset(collection.fonts[0].getBestCmap() or {})
        with TTFont(font_path, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # noqa: BLE001 - an unreadable font file simply covers nothing
        log.debug("cannot read cmap of %s", font_path, exc_info=True)
        return frozenset()
