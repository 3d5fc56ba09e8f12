"""When things happen: the day range, daily and hourly seasonality, the promotion day and the spike window."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# relative volume per local hour; peaks 10-12 and 20-22, quiet at night
WEEKDAY_HOURS = (0.32, 0.16, 0.09, 0.06, 0.05, 0.06, 0.12, 0.30, 0.62, 0.95, 1.28, 1.34, 1.02, 0.96, 1.06, 1.05, 1.00,
                 0.90, 0.84, 1.00, 1.30, 1.38, 1.06, 0.62)
# weekends start later and lean to the evening
WEEKEND_HOURS = (0.42, 0.22, 0.12, 0.07, 0.05, 0.05, 0.08, 0.18, 0.40, 0.72, 1.12, 1.22, 1.04, 0.98, 1.04, 1.04, 1.00,
                 0.96, 0.94, 1.10, 1.42, 1.48, 1.15, 0.72)
# the promotion day opens at midnight with a rush
PROMO_HOURS = (1.90, 1.30, 0.55, 0.25, 0.12, 0.10, 0.18, 0.40, 0.72, 1.00, 1.25, 1.30, 1.10, 1.02, 1.02, 1.00, 1.00,
               0.96, 0.95, 1.10, 1.40, 1.50, 1.30, 1.05)
WEEKDAY_FACTOR = (1.08, 1.00, 0.97, 0.96, 0.95, 1.04, 1.12)  # Monday first
PROMO_FACTOR = 3.5
PROMO_ORDER_FACTOR = 5.0
# days around the promotion: deposits and coupon questions before, parcels and returns after
PROMO_NEIGHBOURS = {-3: 1.25, -2: 1.35, -1: 1.5, 1: 1.6, 2: 1.45, 3: 1.3, 4: 1.2, 5: 1.1, 6: 1.05}
SPIKE_HOURS = 3
SPIKE_MULTIPLIER = 5.0
#: At least this many spike complaints: about 12 an hour, so the default alert settings (8 in a window,
#: see docs/alerts.md) page within the first hour even for the demo's small shop.
SPIKE_MIN_COMPLAINTS = 36


def day_range(now: datetime, tz: ZoneInfo, days: int) -> list[date]:
    """The ``days`` local calendar days ending with today (today is cut at ``now``)."""
    today = now.astimezone(tz).date()
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def promotion_day(days: list[date]) -> date:
    """双十一 when it lies in the range (and is not one of the last two days), else 618, else the middle day."""
    usable = days[:-2] if len(days) > 4 else days
    for month, day in ((11, 11), (6, 18)):
        for d in reversed(usable):
            if (d.month, d.day) == (month, day):
                return d
    return days[len(days) // 2]


def hour_weights(d: date, promo: date) -> tuple[float, ...]:
    if d == promo:
        return PROMO_HOURS
    return WEEKEND_HOURS if d.weekday() >= 5 else WEEKDAY_HOURS


def day_volume(rng: random.Random, d: date, days: list[date], promo: date, base: float) -> float:
    """Expected conversations on local day ``d`` (before the hour shape; today's share is cut later)."""
    pos = days.index(d) / max(1, len(days) - 1)
    trend = 0.92 + 0.13 * pos
    factor = PROMO_FACTOR if d == promo else PROMO_NEIGHBOURS.get((d - promo).days, 1.0)
    return base * WEEKDAY_FACTOR[d.weekday()] * trend * factor * math.exp(rng.gauss(0.0, 0.06))


def local_midnight(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz)


def hour_starts(d: date, tz: ZoneInfo) -> list[datetime]:
    """The starts of the local hours of ``d`` (23, 24 or 25 of them across DST changes), as aware datetimes."""
    start = local_midnight(d, tz).astimezone(ZoneInfo("UTC"))
    end = local_midnight(d + timedelta(days=1), tz).astimezone(ZoneInfo("UTC"))
    hours = int((end - start).total_seconds() // 3600)
    return [(start + timedelta(hours=i)).astimezone(tz) for i in range(hours)]


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def spike_window(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A few complete local hours within the last two days: ending an hour before now when that falls in the
    afternoon or evening, else yesterday evening."""
    local = now.astimezone(tz)
    end = local.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    if not 12 <= end.hour <= 23:
        yesterday = (local - timedelta(days=1)).date()
        end = datetime.combine(yesterday, time(22), tzinfo=tz)
    start = end - timedelta(hours=SPIKE_HOURS)
    return start, end
