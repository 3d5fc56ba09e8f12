"""Local day/week/month/hour bucket starts covering a window (for trend charts); see analytics.periods."""

from __future__ import annotations

from datetime import datetime, timedelta

from analytics.periods.window import MAX_BUCKETS, PeriodError, Window, at_midnight, month_first, to_utc


def bucket_starts(window: Window, granularity: str) -> list[datetime]:
    """Local bucket starts (``hour``/``day``/``week``/``month``) covering ``[window.start, window.end)``."""
    tz, start = window.start.tzinfo, window.start
    if granularity == "hour":
        first = start.replace(minute=0, second=0, microsecond=0)
        count = int((to_utc(window.end) - to_utc(first)).total_seconds() // 3600) + 1
        out = [(to_utc(first) + timedelta(hours=i)).astimezone(tz) for i in range(min(count, MAX_BUCKETS + 1))]
    else:
        day = start.date()
        if granularity == "day":
            nxt = lambda d: d + timedelta(days=1)  # noqa: E731
        elif granularity == "week":
            day -= timedelta(days=day.weekday())
            nxt = lambda d: d + timedelta(days=7)  # noqa: E731
        elif granularity == "month":
            day = day.replace(day=1)
            nxt = lambda d: month_first(d.year * 12 + d.month)  # noqa: E731
        else:
            raise ValueError(f"unknown granularity {granularity!r}; use hour, day, week or month")
        out = []
        while len(out) <= MAX_BUCKETS and (b := at_midnight(day, tz)) < window.end:
            out.append(b)
            day = nxt(day)
    out = [b for b in out if b < window.end]
    if len(out) > MAX_BUCKETS:
        unit = {"hour": "小时", "day": "天", "week": "周", "month": "月"}[granularity]
        raise PeriodError(f"时间范围太长，按{unit}统计会超过 {MAX_BUCKETS} 个点。请缩短时间，例如：近30天、本月。")
    return out
