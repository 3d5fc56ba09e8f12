"""Phrase parsing: a Chinese time phrase at ``now`` → a :class:`Window` (``resolve_window``, ``resolve``).

See docs/periods.md for the phrase table, the year-inference rules and the previous-period
(comparison) rule.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from analytics.periods.numerals import CN_RUN as _CN_RUN
from analytics.periods.numerals import cn_to_int as _cn_to_int
from analytics.periods.window import (
    ALL_TIME_START,
    EXAMPLES,
    MAX_N,
    MAX_YEARS,
    TO_DATE_PREV,
    PeriodError,
    Step,
    Window,
    at_midnight,
    date_label,
    month_first,
    shift_back,
    to_utc,
)


@dataclass
class _Spec:
    """What a parser found: the nominal window (before clipping at now) and how to step back."""

    start: datetime
    end: datetime
    step: Step
    label: str | None = None
    rolling: bool = False
    calendar: bool = True  # a whole day/week/month/quarter/year: its to-date twin is "上月同期" etc.


# --------------------------------------------------------------------------- errors
def _show(raw: str) -> str:
    raw = raw.strip()
    return raw if len(raw) <= 24 else raw[:24] + "…"


def _unknown(raw: str) -> PeriodError:
    return PeriodError(f"看不懂时间「{_show(raw)}」。可以这样写：{EXAMPLES}。")


def _impossible_date(raw: str) -> PeriodError:
    return PeriodError(f"「{_show(raw)}」里的日期不存在。例如：11月1日、2026-11-03、11月1日-11月7日。")


def _mk(raw: str, y: int, m: int, d: int = 1) -> date:
    if not 1970 <= y <= 2999:
        raise PeriodError(f"「{_show(raw)}」的年份超出范围。例如：2026年11月、2026-11-01~2026-11-07。")
    try:
        return date(y, m, d)
    except ValueError:
        raise _impossible_date(raw) from None


# --------------------------------------------------------------------------- normalisation
def _normalize(raw: str) -> str:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).lower().strip("的")
    text = re.sub(r"(以来|至今|迄今|为止)$", "", text)
    text = _CN_RUN.sub(lambda m: str(_cn_to_int(m.group())), text)
    return re.sub(r"^(最近|近|过去)半年", r"\g<1>6个月", text)


# --------------------------------------------------------------------------- parsers
_KEYWORDS: dict[tuple[str, int], tuple[str, ...]] = {
    ("day", 0): ("今天", "今日"),
    ("day", -1): ("昨天", "昨日"),
    ("day", -2): ("前天", "前日"),
    ("day", -3): ("大前天",),
    ("week", 0): ("本周", "这周", "这1周", "本星期", "这星期", "这个星期", "本礼拜", "这礼拜", "这个礼拜"),
    ("week", -1): ("上周", "上1周", "上星期", "上个星期", "上礼拜", "上个礼拜"),
    ("week", -2): ("上上周",),
    ("month", 0): ("本月", "这个月", "这月", "当月", "本月份"),
    ("month", -1): ("上月", "上个月", "上1个月", "上月份"),
    ("month", -2): ("上上月", "上上个月"),
    ("quarter", 0): ("本季度", "本季", "这季度", "这个季度", "当季", "当季度"),
    ("quarter", -1): ("上季度", "上季", "上个季度", "上1季度", "上1个季度"),
    ("year", 0): ("今年", "本年", "今年度", "本年度"),
    ("year", -1): ("去年", "上1年", "上年", "去年全年"),
    ("year", -2): ("前年",),
}
KEYWORD_INDEX = {word: key for key, words in _KEYWORDS.items() for word in words}
_ALL_TIME = ("全部", "全部时间", "所有", "所有时间", "历史", "历史全部", "有史以来", "不限")
_UNIT_STEP: dict[str, Step] = {"day": ("days", 1), "week": ("days", 7), "month": ("months", 1),
                               "quarter": ("months", 3), "year": ("months", 12)}
_NAMED = {"双11": ("双十一", 11, 11), "双12": ("双十二", 12, 12), "618": ("618", 6, 18)}


def _keyword(text: str, now: datetime) -> _Spec | None:
    key = KEYWORD_INDEX.get(text)
    if key is None:
        return None
    unit, offset = key
    today, tz = now.date(), now.tzinfo
    if unit == "day":
        first = today + timedelta(days=offset)
        stop = first + timedelta(days=1)
    elif unit == "week":
        first = today - timedelta(days=today.weekday()) + timedelta(weeks=offset)
        stop = first + timedelta(days=7)
    else:
        size = int(_UNIT_STEP[unit][1])
        index = (today.year * 12 + today.month - 1) // size * size + offset * size
        first, stop = month_first(index), month_first(index + size)
    return _Spec(at_midnight(first, tz), at_midnight(stop, tz), _UNIT_STEP[unit], _KEYWORDS[key][0])


_ROLLING = re.compile(r"(?P<pre>最近|近|过去)?的?(?P<n>\d+)"
                      r"(?P<u>个?小时|个?钟头|天|日|个?星期|个?礼拜|周|个?月|年)(?:以内|内|来)?")


def _rolling(text: str, now: datetime, raw: str) -> _Spec | None:
    m = _ROLLING.fullmatch(text)
    if m is None or (m["pre"] is None and m["u"] in ("日", "月", "年", "星期", "礼拜")):
        return None  # a bare 3日 / 3月 / 2026年 is a calendar date, not a span
    n, u = int(m["n"]), m["u"].lstrip("个")
    limit = MAX_YEARS if u == "年" else MAX_N
    if not 1 <= n <= limit:
        raise PeriodError(f"「{_show(raw)}」中的数量需在 1 到 {limit} 之间。例如：近7天、近30天、近24小时、近4周。")
    tz, today = now.tzinfo, now.date()
    if u in ("小时", "钟头"):
        return _Spec(shift_back(now, ("seconds", 3600 * n)), now, ("seconds", 3600 * n), f"近{n}小时", True)
    if u in ("天", "日", "周", "星期", "礼拜"):
        days = n if u in ("天", "日") else 7 * n
        label = f"近{n}天" if u in ("天", "日") else f"近{n}周"
        return _Spec(at_midnight(today - timedelta(days=days - 1), tz), now, ("days", days), label, True)
    months = n if u == "月" else 12 * n
    index = today.year * 12 + today.month - 1 - months
    first = month_first(index)  # N calendar months ending today: same day N months ago, clamped, + 1 day
    back = first.replace(day=min(today.day, calendar.monthrange(first.year, first.month)[1]))
    label = f"近{n}个月" if u == "月" else f"近{n}年"
    return _Spec(at_midnight(back + timedelta(days=1), tz), now, ("months", months), label, True)


_QUARTER = re.compile(r"(?:(?P<y>\d{4})年?-?)?(?:第(?P<a>\d+)季度?|(?P<b>\d+)季度|q(?P<c>\d+))")
_YEAR = re.compile(r"(?P<y>\d{4})年(?:度|全年)?")


def _quarter_or_year(text: str, now: datetime, raw: str) -> _Spec | None:
    tz = now.tzinfo
    if m := _YEAR.fullmatch(text):
        y = int(m["y"])
        return _Spec(at_midnight(_mk(raw, y, 1), tz), at_midnight(_mk(raw, y + 1, 1), tz), ("months", 12))
    m = _QUARTER.fullmatch(text)
    if m is None:
        return None
    q = int(m["a"] or m["b"] or m["c"])
    if not 1 <= q <= 4:
        raise PeriodError(f"「{_show(raw)}」：季度只有第1到第4季度。例如：本季度、上季度、第3季度、2026年Q3。")
    y = int(m["y"]) if m["y"] else now.year
    if not m["y"] and _mk(raw, y, 3 * q - 2) > now.date():
        y -= 1  # a bare quarter still ahead of us means last year's
    first = _mk(raw, y, 3 * q - 2)
    return _Spec(at_midnight(first, tz), at_midnight(month_first(first.year * 12 + first.month - 1 + 3), tz), ("months", 3))


_ENDPOINTS = [  # (pattern, tag); tags: full date, numeric m-d (ranges only), day only (range ends), month
    (re.compile(r"(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})[日号]?"), "full"),
    (re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"), "full"),
    (re.compile(r"(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"), "full"),
    (re.compile(r"(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})[日号]?"), "md"),
    (re.compile(r"(?P<d>\d{1,2})[日号]?"), "day"),
    (re.compile(r"(?P<y>\d{4})(?:年|[-/.])(?P<m>\d{1,2})月?份?"), "month"),
    (re.compile(r"(?P<m>\d{1,2})月份?"), "month"),
]
_SEP = re.compile(r"~|〜|至|到|-|—|–")


def _endpoint(text: str) -> tuple[str, int | None, int | None, int | None] | None:
    for pattern, tag in _ENDPOINTS:
        if m := pattern.fullmatch(text):
            g = m.groupdict()
            return tag, *(int(g[k]) if g.get(k) else None for k in ("y", "m", "d"))
    return None


def _date_range(text: str, now: datetime, raw: str) -> _Spec | None:
    found = []
    for sep in _SEP.finditer(text):
        left, right = _endpoint(text[:sep.start()]), _endpoint(text[sep.end():])
        if left and right and (left[0] in ("full", "md") and right[0] in ("full", "md", "day")
                               or left[0] == right[0] == "month"):
            found.append((left, right))
    if len(found) > 1:
        raise PeriodError(f"「{_show(raw)}」有歧义。请写成 11月1日-11月7日 或 2026-11-01~2026-11-07。")
    if not found:
        return None
    (ltag, sy, sm, sd), (rtag, ey, em, ed) = found[0]
    if rtag == "day":
        ey, em = sy, sm
    months = ltag == "month"
    sd, ed = (1, 1) if months else (sd, ed)
    yearless = sy is None and ey is None
    sy = sy or ey or now.year
    ey = ey or sy
    first, last = _mk(raw, sy, sm, sd), _mk(raw, ey, em, ed)
    if last < first and em < sm:  # 12月25日-1月3日 crosses new year
        first = _mk(raw, sy - 1, sm, sd) if yearless else first
        last = last if yearless else _mk(raw, ey + 1, em, ed)
    if yearless and first > now.date():  # a year-less range still ahead of us means last year's
        first, last = _mk(raw, first.year - 1, sm, sd), _mk(raw, last.year - 1, em, ed)
    if last < first:
        raise PeriodError(f"「{_show(raw)}」的开始日期晚于结束日期。例如：11月1日-11月7日、2026-11-01~2026-11-07。")
    tz = now.tzinfo
    if months:
        count = (last.year - first.year) * 12 + last.month - first.month + 1
        stop = month_first(last.year * 12 + last.month)
        return _Spec(at_midnight(first, tz), at_midnight(stop, tz), ("months", count), calendar=count == 1)
    days = (last - first).days + 1
    return _Spec(at_midnight(first, tz), at_midnight(last + timedelta(days=1), tz), ("days", days), calendar=days == 1)


def _single(text: str, now: datetime, raw: str) -> _Spec | None:
    ep = _endpoint(text)
    today, tz = now.date(), now.tzinfo
    if ep is None or ep[0] == "md" or (ep[0] == "day" and not re.search(r"[日号]$", text)):
        return None
    tag, y, m, d = ep
    if tag == "day":  # 3号: this month's, or last month's if still ahead
        index = today.year * 12 + today.month - 1 - (d > today.day)
        y, m = month_first(index).year, month_first(index).month
    elif y is None:
        ahead = _mk(raw, today.year, m, d or 1) > today
        y = today.year - ahead  # a year-less date or month still ahead of us means last year's
    if tag == "month":
        first = _mk(raw, y, m)
        return _Spec(at_midnight(first, tz), at_midnight(month_first(y * 12 + m), tz), ("months", 1))
    day = _mk(raw, y, m, d)
    return _Spec(at_midnight(day, tz), at_midnight(day + timedelta(days=1), tz), ("days", 1))


# --------------------------------------------------------------------------- public API
def _parse(text: str, now: datetime, raw: str) -> _Spec:
    if text in _ALL_TIME:
        start = at_midnight(ALL_TIME_START, now.tzinfo)
        return _Spec(start, now, ("seconds", (to_utc(now) - to_utc(start)).total_seconds()), "全部", True)
    if spec := _keyword(text, now):
        return spec
    if text in _NAMED:
        name, m, d = _NAMED[text]
        spec = _single(f"{m}月{d}日", now, raw)
        spec.label = name
        return spec
    for parser in (_rolling, _quarter_or_year, _date_range, _single):
        if spec := parser(text, now, raw):
            return spec
    raise _unknown(raw)


def resolve_window(phrase: str, now: datetime) -> Window:
    """Resolve a Chinese time phrase at ``now`` (aware) into a Window in ``now``'s timezone."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if not isinstance(phrase, str) or not phrase.strip():
        raise PeriodError(f"没有给出时间。可以这样写：{EXAMPLES}。")
    text = _normalize(phrase)
    if len(text) > 40:
        raise _unknown(phrase)
    spec = _parse(text, now, phrase)
    if spec.start > now:
        raise PeriodError(f"「{_show(phrase)}」还没到，没有数据可查。例如：{EXAMPLES}。")
    if spec.rolling:
        kind, end = "rolling", now
    elif spec.end > now:
        kind, end = "to_date", now
    else:
        kind, end = "complete", spec.end
    today = now.date()
    label = spec.label or date_label(spec.start, spec.end, spec.step, today) or phrase.strip()
    prev_start, prev_end = shift_back(spec.start, spec.step), shift_back(end, spec.step)
    if kind == "to_date":
        prev_label = TO_DATE_PREV.get(spec.step, "上期同期") if spec.calendar else "上期同期"
    elif kind == "rolling":
        prev_label = "上一期" if label == "全部" else "上一个" + label
    else:
        prev_label = date_label(prev_start, prev_end, spec.step, today, relative=True) or "上一期"
    return Window(spec.start, end, label, kind, prev_start, prev_end, prev_label, spec.step, now)


def resolve(phrase: str, now: datetime) -> tuple[datetime, datetime]:
    """SPEC evaluation hook: the half-open window ``[start, end)`` a phrase means at ``now``."""
    window = resolve_window(phrase, now)
    return window.start, window.end

