"""Number and date labels for charts: values with units, compact axis ticks, period labels."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from matplotlib.ticker import MaxNLocator

PREFIX_UNITS = {"¥", "￥", "$"}
TIGHT_UNITS = {"%", "‰"}
MAX_TICK_UNIT_LEN = 2  # longer units ("次/千会话") go in a caption, not on every tick

GRANULARITIES = ("hour", "day", "week", "month")


def is_number(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def with_unit(number: str, unit: str) -> str:
    """``number`` with its unit: ¥ before, everything else after (95.2%, 32秒, ¥1,280)."""
    if not unit:
        return number
    if unit in PREFIX_UNITS:
        if number.startswith("-"):
            return "-" + unit + number[1:]
        return unit + number
    return number + unit


def format_value(value: float, value_format: str, unit: str) -> str:
    """A data label: ``value_format`` applied, then the unit."""
    return with_unit(value_format.format(value), unit)


def unit_on_ticks(unit: str) -> bool:
    """Whether the unit is short enough to repeat on each axis tick."""
    return len(unit) <= MAX_TICK_UNIT_LEN


def nice_ticks(lo: float, hi: float, bins: int = 4) -> list[float]:
    """Round tick values spanning [lo, hi]; the axis range is set to the first..last tick."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    locator = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10])
    ticks = [float(t) for t in locator.tick_values(lo, hi)]
    # tick_values may add one tick beyond the data on each side; keep one at most.
    while len(ticks) > 2 and ticks[1] <= lo:
        ticks.pop(0)
    while len(ticks) > 2 and ticks[-2] >= hi:
        ticks.pop()
    return ticks


def tick_labels(ticks: list[float], unit: str) -> list[str]:
    """Compact tick labels: 万/亿 for large numbers, only as many decimals as the step needs."""
    largest = max((abs(t) for t in ticks), default=0.0)
    scale, suffix = 1.0, ""
    if largest >= 1e8:
        scale, suffix = 1e8, "亿"
    elif largest >= 1e4:
        scale, suffix = 1e4, "万"
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:], strict=False) if b != a), default=1.0) / scale
    decimals = 0 if step >= 1 else min(4, math.ceil(-math.log10(step) - 1e-9))
    shown_unit = unit if unit_on_ticks(unit) else ""
    labels = []
    for tick in ticks:
        number = f"{tick / scale:,.{decimals}f}"
        if number.startswith("-") and float(number.replace(",", "")) == 0:
            number = number[1:]
        labels.append(with_unit(number + suffix, shown_unit))
    return labels


def as_datetime(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime(moment.year, moment.month, moment.day)


def step_forward(moment: datetime, granularity: str, steps: int) -> datetime:
    """``moment`` moved ``steps`` buckets of ``granularity`` (calendar months for "month")."""
    if granularity == "month":
        month_index = moment.year * 12 + moment.month - 1 + steps
        return moment.replace(year=month_index // 12, month=month_index % 12 + 1, day=1)
    delta = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[granularity]
    return moment + steps * delta


NICE_STRIDES = {
    "hour": (1, 2, 3, 4, 6, 12, 24),
    "day": (1, 2, 3, 5, 7, 14, 28),
    "week": (1, 2, 4, 8, 13, 26, 52),
    "month": (1, 2, 3, 4, 6, 12),
}


def period_label(moment: datetime, granularity: str) -> str:
    """One-line label of a bucket: 14:00, 11-24 (a week by its Monday), 11月."""
    if granularity == "hour":
        return f"{moment.hour:02d}:00"
    if granularity == "month":
        return f"{moment.month}月"
    return f"{moment:%m-%d}"  # zero-padded like the window line of every answer (11-01 00:00 ~ …)


def period_labels(moments: list[datetime], granularity: str) -> list[str]:
    """Labels for the shown ticks. Hours and months get a second line with the day (M-D) or
    the year at the first tick and wherever it changes, if the ticks span several."""
    if granularity == "hour":
        context = [f"{m:%m-%d}" for m in moments]
    elif granularity == "month":
        context = [str(m.year) for m in moments]
    else:
        return [period_label(m, granularity) for m in moments]
    several = len(set(context)) > 1
    return [
        period_label(m, granularity) + (f"\n{c}" if several and (i == 0 or c != context[i - 1]) else "")
        for i, (m, c) in enumerate(zip(moments, context, strict=True))
    ]


def tick_stride(count: int, fits: int, granularity: str) -> int:
    """The smallest nice stride (every 3 hours, 7 days, 3 months …) showing at most ``fits`` labels."""
    for stride in NICE_STRIDES[granularity]:
        if math.ceil(count / stride) <= fits:
            return stride
    return math.ceil(count / max(fits, 1))
