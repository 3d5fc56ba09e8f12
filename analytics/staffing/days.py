"""Which weekday profile a day follows: its own, or a rest day's on a statutory holiday.

With holidays on, a statutory holiday (法定节假日) follows the 周日 profile and a 调休 working day on a
weekend follows 周五's — by ``chinese-calendar``, which knows the State Council's schedule only up to
its last release (2026 for 1.11): later days follow their plain weekday, and :func:`known` says so.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar

SUNDAY, FRIDAY = 6, 4


@lru_cache(maxsize=4096)
def _detail(day: date) -> tuple[bool, bool] | None:
    """(is a holiday, is a working day) or None when the calendar does not know the year."""
    try:
        return chinese_calendar.is_holiday(day), chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def known(day: date) -> bool:
    return _detail(day) is not None


def profile(day: date, holidays: bool = True) -> int:
    """The weekday (0 = 周一 … 6 = 周日) whose hourly profile ``day`` is forecast with."""
    weekday = day.weekday()
    if not holidays:
        return weekday
    detail = _detail(day)
    if detail is None:
        return weekday
    holiday, workday = detail
    if weekday < 5 and holiday:
        return SUNDAY
    if weekday >= 5 and workday:
        return FRIDAY
    return weekday


def last_known_year() -> int:
    year = date.today().year + 5
    while year > 2000 and not known(date(year, 6, 1)):
        year -= 1
    return year


__all__ = ["known", "last_known_year", "profile"]
