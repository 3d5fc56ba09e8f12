"""Cell parsers: plain functions that turn one raw value into its stored form or raise ``BadValue``.

They accept both text (CSV cells) and native values (JSON numbers, XLSX datetimes, records from the
event API), because every source funnels through the same validation. Messages are Chinese because
they end up in the rejected-rows file a team lead opens in Excel.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any


class BadValue(ValueError):
    """A cell that cannot be converted; ``str(exc)`` is the Chinese reason without the row prefix."""


# Tried in order after the ISO fast path. strptime accepts non-padded numbers ("2026/1/3 9:05").
DATETIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H时%M分%S秒",
    "%Y年%m月%d日%H时%M分",
    "%Y年%m月%d日",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d%H%M%S",
)
_EPOCH = re.compile(r"^\d{10}(\d{3})?(\.\d+)?$")
YEAR_MIN, YEAR_MAX = 1990, 2100


def parse_datetime(value: Any, tz: tzinfo, formats: tuple[str, ...] = ()) -> datetime:
    """An aware UTC datetime. Naive input is local time in ``tz``; an explicit offset wins."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        dt = _from_epoch(float(value), str(value))
    else:
        dt = _parse_datetime_text(str(value).strip(), formats)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    if not YEAR_MIN <= dt.year <= YEAR_MAX:
        raise BadValue(f"年份超出范围: {value!r}")
    return dt.astimezone(UTC)


def _parse_datetime_text(text: str, formats: tuple[str, ...]) -> datetime:
    for fmt in formats:  # the mapping file's own format first: it is what the source system writes
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text)  # fast path: "2026-11-03 14:05:00", ISO 8601 with offset / Z
    except ValueError:
        pass
    if _EPOCH.match(text):
        return _from_epoch(float(text), text)
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise BadValue(f"不是有效时间: {text!r}")


def _from_epoch(number: float, raw: str) -> datetime:
    if number >= 1e11:  # 13 digits: milliseconds
        number /= 1000.0
    if not 6e8 <= number <= 4.2e9:  # 1989 .. 2103: anything else is not a timestamp from a CS system
        raise BadValue(f"不是有效时间: {raw!r}")
    return datetime.fromtimestamp(number, UTC)


_TRUE = {"true", "t", "1", "1.0", "yes", "y", "是", "对", "已解决", "已转接"}
_FALSE = {"false", "f", "0", "0.0", "no", "n", "否", "不是", "未解决", "未转接"}


_BOOL_EXACT = {"true": True, "false": False, "1": True, "0": False, "TRUE": True, "FALSE": False,
               "True": True, "False": False}


def parse_bool(value: Any) -> bool:
    exact = _BOOL_EXACT.get(value) if value.__class__ is str else None
    if exact is not None:
        return exact
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue(f"不是有效的是/否值 (可用 true/false/1/0/是/否/Y/N): {value!r}")


def parse_int(value: Any, lo: int | None = None, hi: int | None = None) -> int:
    if value.__class__ is str and value.isdigit() and value.isascii():
        number: Decimal | int = int(value)
    else:
        number = _number(value)
    if number.__class__ is Decimal and number != number.to_integral_value():  # type: ignore[union-attr]
        raise BadValue(f"应为整数: {value!r}")
    result = int(number)
    if (lo is not None and result < lo) or (hi is not None and result > hi):
        raise BadValue(f"超出范围 {_range_text(lo, hi)}: {value!r}")
    return result


def parse_rating(value: Any) -> int:
    if value.__class__ is str and len(value) == 1 and "1" <= value <= "5":
        return int(value)
    if isinstance(value, str):
        value = value.strip().removesuffix("星").removesuffix("分").strip()
    try:
        return parse_int(value, 1, 5)
    except BadValue:
        raise BadValue(f"评分应为 1–5 的整数: {value!r}") from None


def parse_float(value: Any, lo: float | None = None) -> float:
    result = float(_number(value))
    if lo is not None and result < lo:
        raise BadValue(f"不能小于 {lo:g}: {value!r}")
    return result


_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def parse_seconds(value: Any) -> float:
    """Seconds as a number, "35s"/"35秒", or a clock-style duration "01:05" / "0:01:05"."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, time):  # XLSX cells formatted as durations come back as times of day
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    if isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            pass
        else:
            if 0 <= seconds < math.inf:
                return seconds
        text = value.strip().lower().removesuffix("秒").removesuffix("s").strip()
        match = _DURATION.match(text)
        if match:
            hours, minutes, seconds = match.groups()
            return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        value = text
    try:
        return parse_float(value, 0.0)
    except BadValue:
        raise BadValue(f"不是有效的秒数 (≥ 0): {value!r}") from None


_MONEY_NOISE = re.compile(r"[¥￥,，\s]|元|rmb|cny", re.IGNORECASE)


_PLAIN_YUAN = re.compile(r"(\d{1,15})(?:\.(\d{1,2}))?")


def parse_amount_fen(value: Any) -> int:
    """Yuan ("¥1,299.00", "1299", 12.5) to integer fen, exactly (no float rounding)."""
    if isinstance(value, str):
        plain = _PLAIN_YUAN.fullmatch(value)
        if plain:  # the common "1299.00": integer arithmetic, no Decimal
            yuan, cents = plain.groups()
            return int(yuan) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
        value = _MONEY_NOISE.sub("", value)
    try:
        yuan = _number(value)
    except BadValue:
        raise BadValue(f"不是有效金额: {value!r}") from None
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise BadValue(f"金额最多两位小数: {value!r}")
    if fen < 0:
        raise BadValue(f"金额不能为负: {value!r}")
    return int(fen)


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise BadValue(f"应为数字: {value!r}")
    if isinstance(value, float):
        value = repr(value)  # Decimal(str) keeps 12.5 exact instead of its binary expansion
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadValue(f"应为数字: {value!r}") from None
    if not number.is_finite():
        raise BadValue(f"应为数字: {value!r}")
    return number


def _range_text(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"{lo}–{hi}"
    return f"≥ {lo}" if lo is not None else f"≤ {hi}"


SENDERS = {
    "customer": "customer", "客户": "customer", "顾客": "customer", "买家": "customer", "用户": "customer",
    "访客": "customer", "buyer": "customer", "user": "customer", "visitor": "customer",
    "agent": "agent", "客服": "agent", "坐席": "agent", "人工": "agent", "卖家": "agent", "商家": "agent",
    "staff": "agent", "seller": "agent",
    "bot": "bot", "机器人": "bot", "自动回复": "bot", "系统": "bot", "robot": "bot", "system": "bot",
}


def parse_sender(value: Any) -> str:
    sender = SENDERS.get(str(value).strip().lower())
    if sender is None:
        raise BadValue(f"发送方应为 customer/agent/bot (或 客户/客服/机器人): {value!r}")
    return sender


def parse_date(value: Any) -> date:
    """A calendar date (a roster's day): a date or datetime cell, or text in the datetime formats."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = _parse_datetime_text(text, ()).date()
    if not YEAR_MIN <= day.year <= YEAR_MAX:
        raise BadValue(f"年份超出范围: {value!r}")
    return day


_CLOCK = re.compile(r"^(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$")


def parse_clock(value: Any) -> int:
    """A time of day as minutes after midnight, 0–1440 (``24:00`` ends a shift at midnight): ``09:00``,
    ``9:30``, ``21:00:00``, a time or datetime cell, or an Excel day fraction (0.375 = 09:00)."""
    if isinstance(value, datetime | time):
        return value.hour * 60 + value.minute
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return round(float(value) * 1440)
    m = _CLOCK.match(str(value).strip())
    if m is None:
        raise BadValue(f"时间应为 HH:MM（如 09:00、21:30）: {value!r}")
    hour, minute = int(m.group(1)), int(m.group(2))
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise BadValue(f"时间超出范围: {value!r}")
    return hour * 60 + minute
