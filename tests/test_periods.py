"""Time phrases → windows, over fixed clocks. Expected values are written out by hand from SPEC "Time phrases"
and "Comparisons" (docs/periods.md), never computed by the code under test."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.periods import PeriodError, Window, bucket_starts, extract_period, resolve, resolve_window

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def T(y: int, m: int, d: int, h: int = 0, mi: int = 0, tz=SH) -> datetime:  # noqa: ANN001
    return datetime(y, m, d, h, mi, tzinfo=tz)


WED = T(2026, 11, 25, 15)  # Wednesday afternoon; that week's Monday is 11-23
MON = T(2026, 11, 23, 0, 30)  # just after the week started
JAN1 = T(2027, 1, 1, 10)  # Friday, first day of a year; that week's Monday is 2026-12-28
MAR31 = T(2026, 3, 31, 15)  # Tuesday; February has no 31st
LEAP = T(2028, 2, 29, 12)  # leap day, Tuesday; that week's Monday is 02-28
DEC31 = T(2026, 12, 31, 23, 30)  # last half hour of a year
MAY31 = T(2026, 5, 31, 9)  # Sunday, last day of a 31-day month

# (now, phrase, start, end, kind, prev_start, prev_end)
CASES = [
    # -- a Wednesday afternoon ------------------------------------------------------------------------------
    (WED, "今天", T(2026, 11, 25), WED, "to_date", T(2026, 11, 24), T(2026, 11, 24, 15)),  # vs yesterday up to 15:00
    (WED, "昨天", T(2026, 11, 24), T(2026, 11, 25), "complete", T(2026, 11, 23), T(2026, 11, 24)),  # vs 前天
    (WED, "前天", T(2026, 11, 23), T(2026, 11, 24), "complete", T(2026, 11, 22), T(2026, 11, 23)),  # two days back
    (WED, "本周", T(2026, 11, 23), WED, "to_date", T(2026, 11, 16), T(2026, 11, 18, 15)),  # 上周同期: Mon..Wed 15:00
    (WED, "上周", T(2026, 11, 16), T(2026, 11, 23), "complete", T(2026, 11, 9), T(2026, 11, 16)),  # Mon..Sun, vs the week before
    (WED, "本月", T(2026, 11, 1), WED, "to_date", T(2026, 10, 1), T(2026, 10, 25, 15)),  # 上月同期 to the 25th 15:00
    (WED, "上月", T(2026, 10, 1), T(2026, 11, 1), "complete", T(2026, 9, 1), T(2026, 10, 1)),  # October vs September
    (WED, "今年", T(2026, 1, 1), WED, "to_date", T(2025, 1, 1), T(2025, 11, 25, 15)),  # 去年同期
    (WED, "去年", T(2025, 1, 1), T(2026, 1, 1), "complete", T(2024, 1, 1), T(2025, 1, 1)),  # 2025 vs 2024
    (WED, "本季度", T(2026, 10, 1), WED, "to_date", T(2026, 7, 1), T(2026, 8, 25, 15)),  # Q4 so far vs Q3 same span
    (WED, "上季度", T(2026, 7, 1), T(2026, 10, 1), "complete", T(2026, 4, 1), T(2026, 7, 1)),  # Q3 vs Q2
    (WED, "近7天", T(2026, 11, 19), WED, "rolling", T(2026, 11, 12), T(2026, 11, 18, 15)),  # 7 calendar days incl. today
    (WED, "最近七天", T(2026, 11, 19), WED, "rolling", T(2026, 11, 12), T(2026, 11, 18, 15)),  # Chinese numeral + 最近
    (WED, "过去7天", T(2026, 11, 19), WED, "rolling", T(2026, 11, 12), T(2026, 11, 18, 15)),  # 过去 synonym
    (WED, "近1天", T(2026, 11, 25), WED, "rolling", T(2026, 11, 24), T(2026, 11, 24, 15)),  # one day = today so far
    (WED, "近三十天", T(2026, 10, 27), WED, "rolling", T(2026, 9, 27), T(2026, 10, 26, 15)),  # 三十 → 30
    (WED, "近24小时", T(2026, 11, 24, 15), WED, "rolling", T(2026, 11, 23, 15), T(2026, 11, 24, 15)),  # exact hours
    (WED, "过去24小时", T(2026, 11, 24, 15), WED, "rolling", T(2026, 11, 23, 15), T(2026, 11, 24, 15)),  # 过去 synonym
    (WED, "近十二小时", T(2026, 11, 25, 3), WED, "rolling", T(2026, 11, 24, 15), T(2026, 11, 25, 3)),  # 十二 → 12
    (WED, "近2周", T(2026, 11, 12), WED, "rolling", T(2026, 10, 29), T(2026, 11, 11, 15)),  # 14 such days
    (WED, "近两周", T(2026, 11, 12), WED, "rolling", T(2026, 11, 12) - timedelta(days=14), T(2026, 11, 11, 15)),  # 两 → 2
    (WED, "近3个月", T(2026, 8, 26), WED, "rolling", T(2026, 5, 26), T(2026, 8, 25, 15)),  # 08-25 + 1 day
    (WED, "近半年", T(2026, 5, 26), WED, "rolling", T(2025, 11, 26), T(2026, 5, 25, 15)),  # 半年 = 6 months
    (WED, "11月", T(2026, 11, 1), WED, "to_date", T(2026, 10, 1), T(2026, 10, 25, 15)),  # current month = 本月
    (WED, "十一月", T(2026, 11, 1), WED, "to_date", T(2026, 10, 1), T(2026, 10, 25, 15)),  # 十一 → 11
    (WED, "10月", T(2026, 10, 1), T(2026, 11, 1), "complete", T(2026, 9, 1), T(2026, 10, 1)),  # a past month this year
    (WED, "12月", T(2025, 12, 1), T(2026, 1, 1), "complete", T(2025, 11, 1), T(2025, 12, 1)),  # future month → last year
    (WED, "11月1日-11月7日", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # incl. last day
    (WED, "11月1日至11月7日", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # 至
    (WED, "11月1日到7日", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # end omits month
    (WED, "11.1-11.7", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # dotted m.d
    (WED, "十一月一日到十一月七日", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # numerals
    (WED, "2026-11-01~2026-11-07", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # ISO
    (WED, "2026-11-01至2026-11-07", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # 至
    (WED, "2026-11-01 到 2026-11-07", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # spaces
    (WED, "2026-11-01-2026-11-07", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # dash sep
    (WED, "2026/11/01~11/07", T(2026, 11, 1), T(2026, 11, 8), "complete", T(2026, 10, 25), T(2026, 11, 1)),  # end inherits year
    (WED, "２０２６－１１－０１～２０２６－１１－０７", T(2026, 11, 1), T(2026, 11, 8), "complete",
     T(2026, 10, 25), T(2026, 11, 1)),  # full-width input
    (WED, "11月20日-11月30日", T(2026, 11, 20), WED, "to_date", T(2026, 11, 9), T(2026, 11, 14, 15)),  # clipped at now
    (WED, "12月25日-1月3日", T(2025, 12, 25), T(2026, 1, 4), "complete", T(2025, 12, 15), T(2025, 12, 25)),  # across new year
    (WED, "9月-11月", T(2026, 9, 1), WED, "to_date", T(2026, 6, 1), T(2026, 8, 25, 15)),  # month range, 3 months back
    (WED, "2026-11", T(2026, 11, 1), WED, "to_date", T(2026, 10, 1), T(2026, 10, 25, 15)),  # year-month = 本月 here
    (WED, "2026年11月", T(2026, 11, 1), WED, "to_date", T(2026, 10, 1), T(2026, 10, 25, 15)),  # Chinese year-month
    (WED, "2025-11", T(2025, 11, 1), T(2025, 12, 1), "complete", T(2025, 10, 1), T(2025, 11, 1)),  # explicit past year
    (WED, "11月3日", T(2026, 11, 3), T(2026, 11, 4), "complete", T(2026, 11, 2), T(2026, 11, 3)),  # one day vs the day before
    (WED, "2026-11-03", T(2026, 11, 3), T(2026, 11, 4), "complete", T(2026, 11, 2), T(2026, 11, 3)),  # ISO single day
    (WED, "3号", T(2026, 11, 3), T(2026, 11, 4), "complete", T(2026, 11, 2), T(2026, 11, 3)),  # day of this month
    (WED, "28号", T(2026, 10, 28), T(2026, 10, 29), "complete", T(2026, 10, 27), T(2026, 10, 28)),  # not yet → last month
    (WED, "12月3日", T(2025, 12, 3), T(2025, 12, 4), "complete", T(2025, 12, 2), T(2025, 12, 3)),  # future day → last year
    (WED, "双十一", T(2026, 11, 11), T(2026, 11, 12), "complete", T(2026, 11, 10), T(2026, 11, 11)),  # named day
    (WED, "618", T(2026, 6, 18), T(2026, 6, 19), "complete", T(2026, 6, 17), T(2026, 6, 18)),  # named day
    (WED, "第3季度", T(2026, 7, 1), T(2026, 10, 1), "complete", T(2026, 4, 1), T(2026, 7, 1)),  # a past quarter
    (WED, "三季度", T(2026, 7, 1), T(2026, 10, 1), "complete", T(2026, 4, 1), T(2026, 7, 1)),  # numeral, no 第
    (WED, "Q4", T(2026, 10, 1), WED, "to_date", T(2026, 7, 1), T(2026, 8, 25, 15)),  # the current quarter
    (WED, "2025年Q4", T(2025, 10, 1), T(2026, 1, 1), "complete", T(2025, 7, 1), T(2025, 10, 1)),  # explicit year
    (WED, "2025年", T(2025, 1, 1), T(2026, 1, 1), "complete", T(2024, 1, 1), T(2025, 1, 1)),  # a whole year
    (WED, "上个月", T(2026, 10, 1), T(2026, 11, 1), "complete", T(2026, 9, 1), T(2026, 10, 1)),  # synonym
    (WED, "这个月", T(2026, 11, 1), WED, "to_date", T(2026, 10, 1), T(2026, 10, 25, 15)),  # synonym
    (WED, "上星期", T(2026, 11, 16), T(2026, 11, 23), "complete", T(2026, 11, 9), T(2026, 11, 16)),  # synonym
    (WED, "上一周", T(2026, 11, 16), T(2026, 11, 23), "complete", T(2026, 11, 9), T(2026, 11, 16)),  # 一 is no number here
    (WED, "本星期", T(2026, 11, 23), WED, "to_date", T(2026, 11, 16), T(2026, 11, 18, 15)),  # synonym
    (WED, "这周", T(2026, 11, 23), WED, "to_date", T(2026, 11, 16), T(2026, 11, 18, 15)),  # synonym
    (WED, "今日", T(2026, 11, 25), WED, "to_date", T(2026, 11, 24), T(2026, 11, 24, 15)),  # synonym
    (WED, "昨日", T(2026, 11, 24), T(2026, 11, 25), "complete", T(2026, 11, 23), T(2026, 11, 24)),  # synonym
    (WED, "本月以来", T(2026, 11, 1), WED, "to_date", T(2026, 10, 1), T(2026, 10, 25, 15)),  # 以来 suffix
    # -- Monday 00:30: the week is half an hour old -----------------------------------------------------------
    (MON, "本周", T(2026, 11, 23), MON, "to_date", T(2026, 11, 16), T(2026, 11, 16, 0, 30)),  # half an hour each
    (MON, "上周", T(2026, 11, 16), T(2026, 11, 23), "complete", T(2026, 11, 9), T(2026, 11, 16)),  # the full last week
    (MON, "今天", T(2026, 11, 23), MON, "to_date", T(2026, 11, 22), T(2026, 11, 22, 0, 30)),  # Sunday's first 30 min
    (MON, "昨天", T(2026, 11, 22), T(2026, 11, 23), "complete", T(2026, 11, 21), T(2026, 11, 22)),  # Sunday
    (MON, "近7天", T(2026, 11, 17), MON, "rolling", T(2026, 11, 10), T(2026, 11, 16, 0, 30)),  # Tue..Mon
    # -- 1 January: everything "previous" is last year ----------------------------------------------------------
    (JAN1, "今天", T(2027, 1, 1), JAN1, "to_date", T(2026, 12, 31), T(2026, 12, 31, 10)),  # vs New Year's Eve
    (JAN1, "昨天", T(2026, 12, 31), T(2027, 1, 1), "complete", T(2026, 12, 30), T(2026, 12, 31)),  # last year's day
    (JAN1, "本周", T(2026, 12, 28), JAN1, "to_date", T(2026, 12, 21), T(2026, 12, 25, 10)),  # week spans the years
    (JAN1, "本月", T(2027, 1, 1), JAN1, "to_date", T(2026, 12, 1), T(2026, 12, 1, 10)),  # 10 hours of each
    (JAN1, "上月", T(2026, 12, 1), T(2027, 1, 1), "complete", T(2026, 11, 1), T(2026, 12, 1)),  # December
    (JAN1, "今年", T(2027, 1, 1), JAN1, "to_date", T(2026, 1, 1), T(2026, 1, 1, 10)),  # 去年同期
    (JAN1, "去年", T(2026, 1, 1), T(2027, 1, 1), "complete", T(2025, 1, 1), T(2026, 1, 1)),  # 2026 vs 2025
    (JAN1, "本季度", T(2027, 1, 1), JAN1, "to_date", T(2026, 10, 1), T(2026, 10, 1, 10)),  # Q1 vs Q4 same span
    (JAN1, "上季度", T(2026, 10, 1), T(2027, 1, 1), "complete", T(2026, 7, 1), T(2026, 10, 1)),  # Q4 vs Q3
    (JAN1, "12月", T(2026, 12, 1), T(2027, 1, 1), "complete", T(2026, 11, 1), T(2026, 12, 1)),  # December is last year's
    (JAN1, "1月", T(2027, 1, 1), JAN1, "to_date", T(2026, 12, 1), T(2026, 12, 1, 10)),  # January so far
    (JAN1, "近7天", T(2026, 12, 26), JAN1, "rolling", T(2026, 12, 19), T(2026, 12, 25, 10)),  # crosses the year
    (JAN1, "12月25日-1月3日", T(2026, 12, 25), JAN1, "to_date", T(2026, 12, 15), T(2026, 12, 22, 10)),  # 10-day range, clipped
    (JAN1, "12月28日-12月31日", T(2026, 12, 28), T(2027, 1, 1), "complete", T(2026, 12, 24), T(2026, 12, 28)),  # last year's
    (JAN1, "双十一", T(2026, 11, 11), T(2026, 11, 12), "complete", T(2026, 11, 10), T(2026, 11, 11)),  # last year's 11-11
    # -- 31 March: the previous month has no 31st ---------------------------------------------------------------
    (MAR31, "本月", T(2026, 3, 1), MAR31, "to_date", T(2026, 2, 1), T(2026, 3, 1)),  # clamped to February's end
    (MAR31, "上月", T(2026, 2, 1), T(2026, 3, 1), "complete", T(2026, 1, 1), T(2026, 2, 1)),  # February vs January
    (MAR31, "本季度", T(2026, 1, 1), MAR31, "to_date", T(2025, 10, 1), T(2025, 12, 31, 15)),  # December has a 31st
    (MAR31, "今年", T(2026, 1, 1), MAR31, "to_date", T(2025, 1, 1), T(2025, 3, 31, 15)),  # 去年同期
    (MAR31, "近1个月", T(2026, 3, 1), MAR31, "rolling", T(2026, 2, 1), T(2026, 3, 1)),  # Feb 31 → Feb 28, +1 day
    (MAR31, "2月", T(2026, 2, 1), T(2026, 3, 1), "complete", T(2026, 1, 1), T(2026, 2, 1)),  # 28 days vs January
    (MAR31, "4月", T(2025, 4, 1), T(2025, 5, 1), "complete", T(2025, 3, 1), T(2025, 4, 1)),  # future month → 2025
    (MAR31, "第2季度", T(2025, 4, 1), T(2025, 7, 1), "complete", T(2025, 1, 1), T(2025, 4, 1)),  # future quarter → 2025
    # -- 31 May / 31 December: quarter comparisons that need clamping ----------------------------------------------
    (MAY31, "本季度", T(2026, 4, 1), MAY31, "to_date", T(2026, 1, 1), T(2026, 3, 1)),  # 02-31 → end of February
    (MAY31, "本周", T(2026, 5, 25), MAY31, "to_date", T(2026, 5, 18), T(2026, 5, 24, 9)),  # Sunday: almost a week
    (DEC31, "本月", T(2026, 12, 1), DEC31, "to_date", T(2026, 11, 1), T(2026, 12, 1)),  # 11-31 → end of November
    (DEC31, "本季度", T(2026, 10, 1), DEC31, "to_date", T(2026, 7, 1), T(2026, 10, 1)),  # 09-31 → end of September
    (DEC31, "今年", T(2026, 1, 1), DEC31, "to_date", T(2025, 1, 1), T(2025, 12, 31, 23, 30)),  # nearly a whole year
    (DEC31, "12月", T(2026, 12, 1), DEC31, "to_date", T(2026, 11, 1), T(2026, 12, 1)),  # = 本月
    # -- leap day 2028-02-29 ----------------------------------------------------------------------------------------
    (LEAP, "今天", T(2028, 2, 29), LEAP, "to_date", T(2028, 2, 28), T(2028, 2, 28, 12)),  # vs 02-28
    (LEAP, "昨天", T(2028, 2, 28), T(2028, 2, 29), "complete", T(2028, 2, 27), T(2028, 2, 28)),  # plain day step
    (LEAP, "本周", T(2028, 2, 28), LEAP, "to_date", T(2028, 2, 21), T(2028, 2, 22, 12)),  # Mon..Tue noon
    (LEAP, "本月", T(2028, 2, 1), LEAP, "to_date", T(2028, 1, 1), T(2028, 1, 29, 12)),  # January has a 29th
    (LEAP, "上月", T(2028, 1, 1), T(2028, 2, 1), "complete", T(2027, 12, 1), T(2028, 1, 1)),  # January vs December
    (LEAP, "今年", T(2028, 1, 1), LEAP, "to_date", T(2027, 1, 1), T(2027, 3, 1)),  # 2027-02-29 → end of February
    (LEAP, "近7天", T(2028, 2, 23), LEAP, "rolling", T(2028, 2, 16), T(2028, 2, 22, 12)),  # counts the 29th
    (LEAP, "2月29日", T(2028, 2, 29), LEAP, "to_date", T(2028, 2, 28), T(2028, 2, 28, 12)),  # today, by date
    (LEAP, "2月28日-3月1日", T(2028, 2, 28), LEAP, "to_date", T(2028, 2, 25), T(2028, 2, 26, 12)),  # 3-day range clipped
]


@pytest.mark.parametrize(("now", "phrase", "start", "end", "kind", "prev_start", "prev_end"), CASES,
                         ids=[f"{c[0]:%Y%m%d%H%M}-{c[1]}" for c in CASES])
def test_phrase_table(now, phrase, start, end, kind, prev_start, prev_end) -> None:  # noqa: ANN001
    w = resolve_window(phrase, now)
    assert (w.start, w.end, w.kind) == (start, end, kind)
    assert (w.prev_start, w.prev_end) == (prev_start, prev_end)
    assert w.start.tzinfo is now.tzinfo and w.end.tzinfo is now.tzinfo and w.prev_start.tzinfo is now.tzinfo
    assert resolve(phrase, now) == (start, end)


# (now, phrase, normalised phrase, comparison label)
LABELS = [
    (WED, "最近七天", "近7天", "上一个近7天"),  # numerals normalised
    (WED, "过去24小时", "近24小时", "上一个近24小时"),  # 过去 → 近
    (WED, "两周", "近2周", "上一个近2周"),  # bare span, 两 → 2
    (WED, "十一月", "11月", "上月同期"),  # the current month compares to date
    (WED, "12月", "2025年12月", "2025年11月"),  # the year is named when it is not this year
    (WED, "11月1日到7日", "11月1日-11月7日", "10月25日-10月31日"),  # range label with the last day inclusive
    (WED, "2026-11-01~2026-11-07", "11月1日-11月7日", "10月25日-10月31日"),  # same range, ISO input
    (WED, "这个月", "本月", "上月同期"),  # synonyms map to the canonical word
    (WED, "昨天", "昨天", "前天"),  # relative day names
    (WED, "上周", "上周", "上上周"),  # relative week names
    (WED, "上月", "上月", "9月"),  # month name
    (WED, "上季度", "上季度", "第2季度"),  # quarter name
    (WED, "双11", "双十一", "11月10日"),  # named day
    (WED, "11月20日-11月30日", "11月20日-11月30日", "上期同期"),  # clipped range: same elapsed span
    (JAN1, "上月", "上月", "2026年11月"),  # prev in another year than now
]


@pytest.mark.parametrize(("now", "phrase", "label", "prev_label"), LABELS, ids=[c[1] for c in LABELS])
def test_labels(now, phrase, label, prev_label) -> None:  # noqa: ANN001
    w = resolve_window(phrase, now)
    assert (w.phrase, w.prev_phrase) == (label, prev_label)


def test_describe_matches_spec_example() -> None:
    w = resolve_window("本周", T(2026, 11, 26, 15))
    assert w.describe() == "本周 11-23 00:00 ~ 11-26 15:00"  # SPEC "Metric dictionary" example, end exclusive
    assert w.prev_describe() == "上周同期 11-16 00:00 ~ 11-19 15:00"


def test_describe_shows_year_outside_now_year() -> None:
    assert resolve_window("去年", WED).describe() == "去年 2025-01-01 00:00 ~ 2026-01-01 00:00"
    assert resolve_window("昨天", JAN1).describe() == "昨天 2026-12-31 00:00 ~ 2027-01-01 00:00"
    assert resolve_window("今天", JAN1).prev_describe() == "昨天同期 2026-12-31 00:00 ~ 2026-12-31 10:00"
    assert resolve_window("上月", WED).describe() == "上月 10-01 00:00 ~ 11-01 00:00"


def test_duration() -> None:
    assert resolve_window("上周", WED).duration == timedelta(days=7)
    assert resolve_window("本周", WED).duration == timedelta(days=2, hours=15)
    assert resolve_window("近24小时", WED).duration == timedelta(hours=24)


def test_previous_chains_by_the_same_rule() -> None:
    w = resolve_window("本周", WED)
    p = w.previous()
    assert (p.start, p.end, p.kind, p.phrase) == (T(2026, 11, 16), T(2026, 11, 18, 15), "complete", "上周同期")
    assert (p.prev_start, p.prev_end) == (T(2026, 11, 9), T(2026, 11, 11, 15))  # two weeks back, same span
    pp = p.previous()
    assert (pp.start, pp.end) == (T(2026, 11, 9), T(2026, 11, 11, 15))
    m = resolve_window("上月", WED).previous()
    assert (m.start, m.end, m.prev_start, m.prev_end) == (T(2026, 9, 1), T(2026, 10, 1), T(2026, 8, 1), T(2026, 9, 1))
    assert m.phrase == "9月" and m.prev_phrase == "8月"
    c = resolve_window("本月", MAR31).previous()  # clamped February, then plain January
    assert (c.start, c.end, c.prev_start, c.prev_end) == (T(2026, 2, 1), T(2026, 3, 1), T(2026, 1, 1), T(2026, 2, 1))
    h = resolve_window("近24小时", WED).previous()
    assert (h.prev_start, h.prev_end) == (T(2026, 11, 22, 15), T(2026, 11, 23, 15))


def test_hand_built_window_steps_back_by_its_own_offset() -> None:
    w = Window(T(2026, 11, 10), T(2026, 11, 12), "x", "complete", T(2026, 11, 8), T(2026, 11, 10))
    p = w.previous()
    assert (p.prev_start, p.prev_end) == (T(2026, 11, 6), T(2026, 11, 8))


@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 12, 31)),
       st.sampled_from(["今天", "昨天", "本周", "上周", "本月", "上月", "本季度", "上季度", "今年", "去年",
                        "近7天", "近30天", "近24小时", "近4周", "近3个月", "11月", "2月", "11月1日-11月7日", "Q1"]))
@settings(max_examples=300, deadline=None)
def test_invariants_hold_on_any_clock(naive: datetime, phrase: str) -> None:
    now = naive.replace(tzinfo=SH)
    w = resolve_window(phrase, now)
    assert w.start <= w.end <= now  # never reaches into the future
    assert w.prev_start <= w.prev_end <= w.start  # the comparison window lies before, never overlapping
    if w.kind != "complete":
        assert w.end == now
    if "小时" not in phrase:
        assert (w.start.hour, w.start.minute, w.start.second, w.start.microsecond) == (0, 0, 0, 0)
    if phrase == "近30天":  # independent count: 30 calendar days, the last being today
        days, d = 0, w.start.date()
        while d <= now.date():
            days, d = days + 1, d + timedelta(days=1)
        assert days == 30
    if phrase == "本周":
        assert w.start.weekday() == 0 and now - w.start < timedelta(days=7)


def test_local_midnights_across_dst() -> None:
    spring = T(2026, 3, 8, 12, tz=NY)  # clocks jumped 02:00 → 03:00 this morning
    w = resolve_window("今天", spring)
    assert w.start == T(2026, 3, 8, tz=NY) and w.duration == timedelta(hours=11)
    assert w.start.utcoffset() == timedelta(hours=-5) and w.end.utcoffset() == timedelta(hours=-4)
    assert resolve_window("近24小时", spring).duration == timedelta(hours=24)  # absolute hours
    assert resolve_window("本周", spring).prev_end == T(2026, 3, 1, 12, tz=NY)  # wall clock, not 168 h
    hours = bucket_starts(w, "hour")
    assert [b.hour for b in hours] == [0, 1, *range(3, 12)]  # there is no 02:00 today
    autumn = resolve_window("今天", T(2026, 11, 1, 12, tz=NY))  # 01:00-02:00 happens twice
    assert autumn.duration == timedelta(hours=13)


def test_fixed_offset_timezone() -> None:
    tz = timezone(timedelta(hours=8))
    w = resolve_window("本周", datetime(2026, 11, 25, 15, tzinfo=tz))
    assert w.start == datetime(2026, 11, 23, tzinfo=tz) and w.start.tzinfo is tz


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        resolve_window("今天", datetime(2026, 11, 25, 15))


# (phrase, a fragment the message must contain)
BAD = [
    ("", "没有给出时间"),  # empty
    ("   ", "没有给出时间"),  # blank
    ("abc", "看不懂时间「abc」"),  # gibberish echoes the phrase
    ("明天", "看不懂"),  # no future keywords
    ("下周", "看不懂"),  # no future keywords
    ("近0天", "1 到 3660"),  # N below range
    ("近3661天", "1 到 3660"),  # N above range
    ("近101年", "1 到 100"),  # years have their own cap
    ("近五千小时", "1 到 3660"),  # numerals are range-checked too
    ("2027年", "还没到"),  # explicit future year
    ("2027-01-01~2027-01-05", "还没到"),  # a range wholly in the future
    ("2026-12-01~2026-12-07", "还没到"),  # explicit year, next week
    ("11月7日-11月1日", "开始日期晚于结束日期"),  # reversed range
    ("2026-11-07~2026-11-01", "开始日期晚于结束日期"),  # reversed ISO range
    ("2月30日", "日期不存在"),  # no such day
    ("13月", "日期不存在"),  # no such month
    ("第5季度", "第1到第4季度"),  # no such quarter
    ("11-12", "看不懂"),  # month-day without a range is ambiguous
    ("x" * 200, "看不懂"),  # overlong input is cut in the message
]


@pytest.mark.parametrize(("phrase", "fragment"), BAD, ids=[b[0][:12] or "empty" for b in BAD])
def test_errors_are_chinese_with_examples(phrase: str, fragment: str) -> None:
    with pytest.raises(PeriodError) as info:
        resolve_window(phrase, WED)
    msg = str(info.value)
    assert fragment in msg
    assert re.search("例如|可以这样写", msg) and re.search(r"近7天|11月1日|本季度", msg)
    assert len(msg) < 200
    assert isinstance(info.value, ValueError)


# (text, phrase, rest)
EXTRACT = [
    ("昨天淘宝的投诉", "昨天", "淘宝的投诉"),  # phrase first
    ("本周满意度多少", "本周", "满意度多少"),  # glued to the metric
    ("满意度", None, "满意度"),  # no phrase
    ("满意度 本周", "本周", "满意度"),  # phrase last
    ("昨天的投诉", "昨天", "投诉"),  # the 的 after the phrase goes with it
    ("11月1日-11月7日的投诉", "11月1日-11月7日", "投诉"),  # the range, not just 11月
    ("11月1日到7日淘宝投诉", "11月1日到7日", "淘宝投诉"),  # end without month
    ("投诉 2026-11-01~2026-11-07", "2026-11-01~2026-11-07", "投诉"),  # ISO range
    ("/满意度 近七天 渠道=淘宝", "近七天", "/满意度 渠道=淘宝"),  # Chinese numerals, filters kept
    ("十一月满意度", "十一月", "满意度"),  # Chinese month
    ("上个月的退货率", "上个月", "退货率"),  # synonym
    ("最近24小时投诉", "最近24小时", "投诉"),  # hours
    ("双十一的销售", "双十一", "销售"),  # named day
    ("2026年第3季度差评", "2026年第3季度", "差评"),  # quarter with year, not the bare year
    ("3月份满意度", "3月份", "满意度"),  # 月份
    ("首响 今天 客服=小王", "今天", "首响 客服=小王"),  # middle
    ("近７天满意度", "近7天", "满意度"),  # full-width digit
    ("满意度 2026-11", "2026-11", "满意度"),  # year-month
    ("本月以来的投诉", "本月以来", "投诉"),  # 以来
    ("订单12345投诉", None, "订单12345投诉"),  # plain numbers are no period
    ("评分4.5-4.8的差评", None, "评分4.5-4.8的差评"),  # decimals are no dates
    ("商品=618 的投诉", None, "商品=618 的投诉"),  # a filter value is no named day
    ("本季新品的差评", None, "本季新品的差评"),  # 本季 here is a season's products
    ("近3个月复购率", "近3个月", "复购率"),  # months
    ("满意度 2026-11-01 ~ 2026-11-07 渠道=淘宝", "2026-11-01 ~ 2026-11-07", "满意度 渠道=淘宝"),  # spaced range
    ("上上周的首响", "上上周", "首响"),  # longest keyword wins over 上周
    ("", None, ""),  # empty
]


@pytest.mark.parametrize(("text", "phrase", "rest"), EXTRACT, ids=[e[0] or "empty" for e in EXTRACT])
def test_extract_period(text: str, phrase: str | None, rest: str) -> None:
    assert extract_period(text) == (phrase, rest)
    if phrase is not None:
        resolve_window(phrase, WED)  # whatever is extracted also resolves


# (window phrase, granularity, expected bucket starts)
BUCKETS = [
    ("本周", "day", [T(2026, 11, 23), T(2026, 11, 24), T(2026, 11, 25)]),  # one per day incl. today
    ("上月", "week", [T(2026, 9, 28), T(2026, 10, 5), T(2026, 10, 12), T(2026, 10, 19), T(2026, 10, 26)]),  # Mondays
    ("今年", "month", [T(2026, m, 1) for m in range(1, 12)]),  # Jan..Nov
    ("近24小时", "day", [T(2026, 11, 24), T(2026, 11, 25)]),  # the first bucket starts before the window
    ("今天", "hour", [T(2026, 11, 25, h) for h in range(15)]),  # 00:00..14:00
]


@pytest.mark.parametrize(("phrase", "granularity", "expected"), BUCKETS, ids=[f"{b[0]}-{b[1]}" for b in BUCKETS])
def test_bucket_starts(phrase: str, granularity: str, expected: list[datetime]) -> None:
    assert bucket_starts(resolve_window(phrase, WED), granularity) == expected


def test_bucket_starts_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="granularity"):
        bucket_starts(resolve_window("本周", WED), "fortnight")
    with pytest.raises(PeriodError, match="时间范围太长"):
        bucket_starts(resolve_window("全部", WED), "hour")
    assert len(bucket_starts(resolve_window("全部", WED), "month")) == (2026 - 2000) * 12 + 11


def test_all_time() -> None:
    w = resolve_window("历史", WED)
    assert (w.start, w.end, w.phrase) == (T(2000, 1, 1), WED, "全部")
    assert w.prev_end == T(2000, 1, 1)  # nothing before: the comparison reports too little data


def test_today_is_a_date_not_a_weekday_count() -> None:
    # 近N天 independent of the code: N calendar days ending today, for many N
    for n in (1, 2, 7, 30, 90, 365, 3660):
        w = resolve_window(f"近{n}天", WED)
        assert w.start.date() == date(2026, 11, 25) - timedelta(days=n - 1)
