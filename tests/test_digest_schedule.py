"""Digest schedules with an injected clock: 每天 / 周一 / 工作日 across 2026's 国庆 and 调休 weekends,
coalescing and the misfire grace. Expected days are written out from the State Council's 2026
calendar (国庆 10-01..10-07 off, make-up working days Sun 09-20 and Sat 10-10), not computed."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.digests.schedule import (
    Schedule,
    ScheduleError,
    covered_day,
    due,
    fires_on,
    last_fire,
    next_fire,
    parse_config_schedule,
    parse_days,
    parse_time,
)

TZ = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def at(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=TZ)


def fire_days(schedule: Schedule, start: datetime, count: int) -> list[date]:
    """Walk next_fire from ``start``: the dates it fires on, in order."""
    out, now = [], start
    for _ in range(count):
        now = next_fire(schedule, now, TZ)
        out.append(now.date())
    return out


def test_parse_phrases():
    assert parse_time("9:00") == time(9, 0) and parse_time("08:30") == time(8, 30)
    assert parse_time("9点半") == time(9, 30) and parse_time("8点15分") == time(8, 15) and parse_time("10点") == time(10)
    assert parse_days("每天") == "每天" and parse_days("每日") == "每天" and parse_days("工作日") == "工作日"
    assert parse_days("周一") == "周一" and parse_days("每周一") == "周一" and parse_days("周四,周一") == "周一、周四"
    assert parse_days("星期五") == "周五"
    for bad in ("25:00", "9:75", "九点", "abc"):
        with pytest.raises(ScheduleError):
            parse_time(bad)
    with pytest.raises(ScheduleError, match="每天、工作日"):
        parse_days("每月")
    assert parse_config_schedule("工作日 8:30", "日报", "09:00") == Schedule("工作日", time(8, 30))
    assert parse_config_schedule("", "周报", "09:00") == Schedule("周一", time(9, 0))
    assert parse_config_schedule("10:15", "日报", "09:00") == Schedule("每天", time(10, 15))


def test_workdays_follow_the_2026_statutory_calendar():
    workday = Schedule("工作日", time(8, 30))
    # From Fri 09-18: Sun 09-20 is a 调休 working day, Mid-autumn 09-25..27 off, 国庆 10-01..07 off,
    # Sat 10-10 is a 调休 working day, Sun 10-11 is not.
    assert fire_days(workday, at(2026, 9, 18, 9), 14) == [
        date(2026, 9, 20), date(2026, 9, 21), date(2026, 9, 22), date(2026, 9, 23), date(2026, 9, 24),
        date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30),
        date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10), date(2026, 10, 12), date(2026, 10, 13),
        date(2026, 10, 14)]
    assert not fires_on("工作日", date(2026, 9, 19))  # an ordinary Saturday
    # During 国庆 the last working-day fire is 09-30, and the next is 10-08 08:30.
    assert last_fire(workday, at(2026, 10, 5, 12), TZ) == at(2026, 9, 30, 8, 30)
    assert next_fire(workday, at(2026, 10, 5, 12), TZ) == at(2026, 10, 8, 8, 30)


def test_daily_and_weekly_ignore_holidays():
    daily = Schedule("每天", time(9, 0))
    assert fire_days(daily, at(2026, 9, 30, 9, 0), 3) == [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)]
    assert next_fire(daily, at(2026, 10, 1, 8, 59, 59), TZ) == at(2026, 10, 1, 9)
    assert next_fire(daily, at(2026, 10, 1, 9), TZ) == at(2026, 10, 2, 9)  # a fire time is "now", not next
    weekly = Schedule("周一", time(9, 30))
    assert fire_days(weekly, at(2026, 9, 30), 3) == [date(2026, 10, 5), date(2026, 10, 12), date(2026, 10, 19)]
    twice = Schedule("周一、周四", time(9, 30))
    assert fire_days(twice, at(2026, 10, 5, 10), 3) == [date(2026, 10, 8), date(2026, 10, 12), date(2026, 10, 15)]


def test_covered_day():
    assert covered_day("日报", date(2026, 10, 8)) == date(2026, 10, 7)
    # Any day of the week 10-12..10-18 → the Monday of the week before it (10-05).
    assert {covered_day("周报", date(2026, 10, 12) + timedelta(days=i)) for i in range(7)} == {date(2026, 10, 5)}


def test_misfire_grace_and_coalescing():
    daily = Schedule("每天", time(9, 0))
    grace = HOUR
    assert due(daily, at(2026, 10, 8, 8, 59), TZ, grace).fire_at == at(2026, 10, 7, 9)  # yesterday's, now late
    assert not due(daily, at(2026, 10, 8, 8, 59), TZ, grace).send
    on_time = due(daily, at(2026, 10, 8, 9, 0), TZ, grace)
    assert on_time.fire_at == at(2026, 10, 8, 9) and on_time.send
    assert due(daily, at(2026, 10, 8, 10, 0), TZ, grace).send  # back exactly at the end of the grace
    assert not due(daily, at(2026, 10, 8, 10, 0, 1), TZ, grace).send
    # Down for three days: only the latest fire time counts (coalesced), sent once if within the grace.
    back = due(daily, at(2026, 10, 8, 9, 20), TZ, grace)
    assert back.fire_at == at(2026, 10, 8, 9) and back.send
    # A subscription made after today's fire time does not fire for it.
    assert due(daily, at(2026, 10, 8, 9, 5), TZ, grace, not_before=at(2026, 10, 8, 9, 1)) is None


def test_a_year_the_calendar_does_not_know_falls_back_to_monday_to_friday(caplog):
    workday = Schedule("工作日", time(9, 0))
    with caplog.at_level(logging.WARNING, logger="analytics.digests.schedule"):
        days = fire_days(workday, at(2031, 1, 2, 12), 5)  # chinese-calendar knows up to 2026 here
    assert days == [date(2031, 1, 3), date(2031, 1, 6), date(2031, 1, 7), date(2031, 1, 8), date(2031, 1, 9)]
    assert [r for r in caplog.records if "2031" in r.getMessage() and "Monday-Friday" in r.getMessage()]
