"""Which days a staffing question means: 明天, 后天, 下周, 未来N天 — always whole local days ahead."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo

from analytics.periods.numerals import cn_to_int
from analytics.staffing.model import StaffingError

MAX_DAYS = 14
EXAMPLES = "/排班 明天、/排班 后天、/排班 下周、/排班 未来3天"
_AHEAD = re.compile(r"^(?:未来|接下来|之后|后面)([0-9一二两三四五六七八九十]+)天$")
_FOUND = re.compile(r"明天|明日|后天|下周|下星期|下礼拜|(?:未来|接下来)[0-9一二两三四五六七八九十]+天")


def horizon(phrase: str, now: datetime, tz: tzinfo) -> tuple[date, int, str]:
    """(first day, number of days, label) for ``phrase`` (empty = 明天); StaffingError otherwise."""
    today = now.astimezone(tz).date()
    text = "".join(phrase.split())
    if text in ("", "明天", "明日", "tomorrow"):
        return today + timedelta(days=1), 1, "明天"
    if text in ("后天",):
        return today + timedelta(days=2), 1, "后天"
    if text in ("下周", "下星期", "下礼拜", "nextweek"):
        return today + timedelta(days=7 - today.weekday()), 7, "下周"
    m = _AHEAD.match(text)
    if m:
        raw = m.group(1)
        n = int(raw) if raw.isdigit() else cn_to_int(raw)
        if 1 <= n <= MAX_DAYS:
            return today + timedelta(days=1), n, f"未来{n}天"
        raise StaffingError(f"排班最多看未来 {MAX_DAYS} 天。例如：{EXAMPLES}。")
    found = _FOUND.findall(text)  # free text: "明天人手够吗", "下周要排几个人"
    if len(set(found)) == 1 and found[0] != text:
        return horizon(found[0], now, tz)
    raise StaffingError(f"看不懂「{phrase}」：排班只看接下来的日子（从明天起）。例如：{EXAMPLES}。")


__all__ = ["EXAMPLES", "MAX_DAYS", "horizon"]
