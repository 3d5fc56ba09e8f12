"""Chinese numerals in time phrases: 七 → 7, 三十 → 30, 二〇二六 → 2026."""

from __future__ import annotations

import re

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_RUN = re.compile("[零〇一二两三四五六七八九十百千]+")


def cn_to_int(s: str) -> int:
    """七 → 7, 十一 → 11, 三十 → 30, 一百零五 → 105, 二〇二六 → 2026 (digit by digit)."""
    if all(c in CN_DIGITS for c in s):
        return int("".join(str(CN_DIGITS[c]) for c in s))
    total = current = 0
    for c in s:
        if c in CN_DIGITS:
            current = CN_DIGITS[c]
        else:
            total += (current or 1) * CN_UNITS[c]
            current = 0
    return total + current
