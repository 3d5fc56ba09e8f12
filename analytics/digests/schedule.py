"""When a digest is due: schedule phrases (每天 / 工作日 / 周一 …) and the pure fire-time decisions.

A schedule is a set of days plus a local time of day. Every decision here takes ``now`` (aware) and
the zone, never reads a clock, so the scheduler (``bot.jobs``) and the tests share one answer:

- :func:`last_fire` — the latest fire time at or before ``now`` (what a tick may still have to send);
- :func:`next_fire` — the first fire time after ``now`` (when the scheduler should wake next);
- :func:`due` — coalescing and the misfire grace: of all fire times missed while the bot was down only
  the latest counts, and it is sent if it is at most ``grace`` old, else recorded as skipped.

工作日 is the Chinese statutory calendar (``chinese-calendar``): 国庆 and other holidays are off and the
调休 make-up Saturdays/Sundays are working days. For a year the installed ``chinese-calendar`` does
not know yet, 工作日 falls back to Monday–Friday and logs a warning once per year (upgrade the
package when the State Council publishes the next year's calendar, usually in November).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

KINDS = ("日报", "周报")
WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
EVERY_DAY = "每天"
WORKDAYS = "工作日"
_WEEKDAY_ALIASES = {**{n: i for i, n in enumerate(WEEKDAY_NAMES)}, "周天": 6, "星期日": 6, "星期天": 6,
                    **{f"星期{c}": i for i, c in enumerate("一二三四五六")}}
_DAY_ALIASES = {"每天": EVERY_DAY, "每日": EVERY_DAY, "天天": EVERY_DAY, "工作日": WORKDAYS}
_TIME_RE = re.compile(r"^(\d{1,2})(?:[:：](\d{2})|点(半|(\d{1,2})分?)?)$")
#: How far back/forward a fire time is looked for (国庆 plus its weekends is at most ~10 days off).
_SEARCH_DAYS = 21
_warned_years: set[int] = set()


class ScheduleError(ValueError):
    """A schedule phrase that cannot be read; the message is Chinese, for the chat."""


@dataclass(frozen=True)
class Schedule:
    """``days`` is 每天, 工作日 or weekday names joined by 、 (canonical form); ``at`` the local time."""

    days: str
    at: time

    @property
    def label(self) -> str:
        return f"{self.days} {self.at:%H:%M}"


def parse_time(text: str) -> time:
    """``9:00``, ``09:30``, ``9点``, ``9点半``, ``8点15分`` → a time of day."""
    m = _TIME_RE.match(text.strip())
    if not m:
        raise ScheduleError(f"看不懂时间「{text}」，请写成 9:00 或 8:30。")
    hour = int(m.group(1))
    minute = int(m.group(2) or m.group(4) or (30 if m.group(3) == "半" else 0))
    if hour > 23 or minute > 59:
        raise ScheduleError(f"时间「{text}」不存在，请写成 00:00 到 23:59 之间的时间。")
    return time(hour, minute)


def parse_days(text: str) -> str:
    """``每天`` / ``工作日`` / ``周一`` / ``每周一`` / ``周一,周四`` → the canonical days string."""
    word = text.strip()
    if word in _DAY_ALIASES:
        return _DAY_ALIASES[word]
    picked: set[int] = set()
    for part in re.split(r"[,，、/和]", word.removeprefix("每")):
        part = part.strip().removeprefix("每")
        if part not in _WEEKDAY_ALIASES:
            raise ScheduleError(f"看不懂「{text}」，请写 每天、工作日，或 周一、周一,周四 这样的星期。")
        picked.add(_WEEKDAY_ALIASES[part])
    return "、".join(WEEKDAY_NAMES[i] for i in sorted(picked))


def is_days_word(text: str) -> bool:
    """Whether ``text`` reads as a days phrase (lets the chat command take words in any order)."""
    try:
        parse_days(text)
    except ScheduleError:
        return False
    return True


def parse_schedule(days: str, at: str) -> Schedule:
    return Schedule(parse_days(days), parse_time(at))


def parse_config_schedule(text: str, kind: str, default_time: str) -> Schedule:
    """A config ``schedule`` such as ``"工作日 08:30"`` or ``"周一 09:30"``; days default by kind."""
    words = text.split()
    days = next((w for w in words if is_days_word(w)), "周一" if kind == "周报" else EVERY_DAY)
    at = next((w for w in words if not is_days_word(w)), default_time)
    return parse_schedule(days, at)


def is_statutory_workday(day: date) -> bool:
    """Chinese statutory working day (调休 included); Monday–Friday for a year the package does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("chinese-calendar %s has no holiday data for %d: 工作日 falls back to Monday-Friday "
                        "(upgrade chinesecalendar once the year's calendar is published)",
                        getattr(chinese_calendar, "__version__", "?"), day.year)
        return day.weekday() < 5


def fires_on(days: str, day: date) -> bool:
    """Whether a schedule with these canonical ``days`` fires on ``day``."""
    if days == EVERY_DAY:
        return True
    if days == WORKDAYS:
        return is_statutory_workday(day)
    return WEEKDAY_NAMES[day.weekday()] in days.split("、")


def _fire_at(schedule: Schedule, day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, schedule.at, tzinfo=tz)


def last_fire(schedule: Schedule, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The latest fire time ``<= now`` within the last three weeks, or None."""
    today = now.astimezone(tz).date()
    for back in range(_SEARCH_DAYS + 1):
        day = today - timedelta(days=back)
        if fires_on(schedule.days, day):
            at = _fire_at(schedule, day, tz)
            if at <= now:
                return at
    return None


def next_fire(schedule: Schedule, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The first fire time ``> now`` within the next three weeks, or None."""
    today = now.astimezone(tz).date()
    for ahead in range(_SEARCH_DAYS + 1):
        day = today + timedelta(days=ahead)
        if fires_on(schedule.days, day):
            at = _fire_at(schedule, day, tz)
            if at > now:
                return at
    return None


@dataclass(frozen=True)
class Due:
    """A fire time a tick has to act on: ``send`` it, or record it as skipped (missed beyond the grace)."""

    fire_at: datetime
    send: bool

    @property
    def day(self) -> date:
        return self.fire_at.date()


def due(schedule: Schedule, now: datetime, tz: ZoneInfo, grace: timedelta, *,
        not_before: datetime | None = None) -> Due | None:
    """The fire time to act on at ``now``, or None when there is none.

    Coalescing: only the latest fire time counts, however many were missed. It is sent when ``now`` is
    at most ``grace`` past it, otherwise skipped. ``not_before`` (e.g. when the subscription was made)
    hides fire times before it, so a new 9:00 subscription made at 9:05 does not fire at once.
    """
    fire = last_fire(schedule, now, tz)
    if fire is None or (not_before is not None and fire < not_before):
        return None
    return Due(fire, send=now - fire <= grace)


def covered_day(kind: str, fire_day: date) -> date:
    """The ``day`` a digest fired on ``fire_day`` covers: yesterday (日报) or last week's Monday (周报)."""
    if kind == "周报":
        return fire_day - timedelta(days=fire_day.weekday() + 7)
    return fire_day - timedelta(days=1)
