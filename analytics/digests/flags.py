"""When a digest calls a number unusual, and when it calls a move a trend: pure rules, no database.

The baseline is the same weekday of the 4 weeks before (日报) or the 4 weeks before (周报), so the
weekly rhythm of a shop (quiet Sundays, busy Mondays) is not flagged. A number is compared only
when at least 3 of those 4 periods have a value; otherwise it is never flagged (too little history).

- **Rates** (满意度, 解决率, 退货率, 差评 — values in [0, 1] with a base count n): the baseline p₀ is
  the median of the history periods' rates (a median, not a pooled rate, so one promotion day with
  3× the volume does not set the baseline). Flagged when the period's rate is more than 3 binomial
  standard errors √(p₀(1−p₀)/n) from it *and* at least 2 percentage points away — a move its n
  cannot explain by chance, and large enough to matter. Needs n ≥ 20 now and Σ n ≥ 30 before.
- **Counts** (会话量, 投诉): flagged when the count is outside the history's range widened by 20 %
  (above 1.2 × max or below min ÷ 1.2) *and* more than 3 Poisson standard errors √μ from the
  history's median μ — far outside the usual range, and not a small-count wobble (2 → 4 投诉).
- **Levels** (首响 mean, 销售额): no variance is kept, so only the widened range: above 1.2 × max
  or below min ÷ 1.2 of the history. 首响 needs n ≥ 20 conversations with a first response.

A **trend** (周报): the weekly value moved the same way at least 3 weeks in a row (4 weekly values
strictly rising or falling), each week with enough data to compare (the metric's ``min_compare_n``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from analytics.digests.model import Flag
from analytics.metrics import METRICS, MetricResult

MIN_HISTORY = 3
Z = 3.0
MIN_RATE_MOVE = 0.02
RANGE_MARGIN = 1.2
MIN_RATE_N = 20
MIN_RATE_HISTORY_N = 30
MIN_FRT_N = 20
MIN_STREAK = 3

RATE_KEYS = ("csat", "resolution", "return_rate", "bad_reviews")
COUNT_KEYS = ("conversations", "complaints")
LEVEL_KEYS = ("frt", "sales")


def _good(key: str, direction: int) -> bool | None:
    better = METRICS[key].higher_is_better
    return None if better is None else (direction > 0) == better


def unusual(key: str, current: MetricResult, history: Sequence[MetricResult]) -> Flag | None:
    """The :class:`Flag` for ``current`` against ``history`` (the baseline periods), or None."""
    known = [h for h in history if h.value is not None]
    if current.value is None or len(known) < MIN_HISTORY:
        return None
    if key in RATE_KEYS:
        return _rate_flag(key, current, known, len(history))
    if key in COUNT_KEYS:
        return _count_flag(key, current.value, [h.value for h in known], len(history))
    if key in LEVEL_KEYS:
        if key == "frt" and current.n < MIN_FRT_N:
            return None
        return _range_flag(key, current.value, [h.value for h in known], len(history))
    return None


def _rate_flag(key: str, current: MetricResult, known: list[MetricResult], weeks: int) -> Flag | None:
    total = sum(h.n for h in known)
    if current.n < MIN_RATE_N or total < MIN_RATE_HISTORY_N:
        return None
    p0 = statistics.median(h.value for h in known if h.n)
    # A baseline of exactly 0 or 1 has no spread; shrink it half a hit towards the middle.
    spread = min(max(p0, 0.5 / (total + 1)), 1 - 0.5 / (total + 1))
    se = math.sqrt(spread * (1 - spread) / current.n)
    delta = current.value - p0
    if abs(delta) <= Z * se or abs(delta) < MIN_RATE_MOVE:
        return None
    direction = 1 if delta > 0 else -1
    return Flag(key, "rate", direction, p0, max(0.0, p0 - Z * se), min(1.0, p0 + Z * se), weeks,
                _good(key, direction))


def _count_flag(key: str, value: float, history: list[float], weeks: int) -> Flag | None:
    mean = statistics.median(history)
    lo, hi = min(history), max(history)
    se = math.sqrt(max(mean, 1.0))
    if value > hi * RANGE_MARGIN and value - mean > Z * se:
        direction = 1
    elif value < lo / RANGE_MARGIN and mean - value > Z * se:
        direction = -1
    else:
        return None
    return Flag(key, "count", direction, mean, lo, hi, weeks, _good(key, direction))


def _range_flag(key: str, value: float, history: list[float], weeks: int) -> Flag | None:
    lo, hi = min(history), max(history)
    if value > hi * RANGE_MARGIN:
        direction = 1
    elif value < lo / RANGE_MARGIN:
        direction = -1
    else:
        return None
    return Flag(key, "range", direction, statistics.median(history), lo, hi, weeks, _good(key, direction))


def streak(key: str, weekly: Sequence[MetricResult]) -> int:
    """Weeks in a row (oldest first in ``weekly``, ending with the digest's week) the value rose (+k) or
    fell (−k); 0 when the run is shorter than :data:`MIN_STREAK` or a week has too little data."""
    need = METRICS[key].min_compare_n
    run, sign = 0, 0
    for older, newer in zip(reversed(weekly[:-1]), reversed(weekly[1:]), strict=True):
        if older.value is None or newer.value is None or older.n < need or newer.n < need:
            break
        step = (newer.value > older.value) - (newer.value < older.value)
        if step == 0 or (sign and step != sign):
            break
        sign, run = step, run + 1
    return sign * run if run >= MIN_STREAK else 0
