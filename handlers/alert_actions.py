"""What /告警, /认领, /静默 and /取消静默 share: alert ids, silence durations, and the lines of an alert.

Syntax::

    /告警                        open alerts with their ids, who handles them, active silences
    /认领 N                      I handle alert N (shown in its reminders)
    /静默 投诉 2小时              no messages for alerts whose series starts with 投诉, for 2 hours
    /静默 投诉 类别=物流 30分钟    … only 投诉 类别=物流
    /静默 N 到 18:00             alert N, until 18:00 (tomorrow's 18:00 if that has passed)
    /取消静默 N                   end the silences matching alert N   (/取消静默 投诉: those made for 投诉)

Silencing is admin-only and audited (the silence and its audit row in one transaction, see
:mod:`analytics.store.alerts`); claiming is open to everyone in an allowed chat and audited too.
A silence only mutes messages: the alert still moves through its lifecycle (docs/alerts.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from analytics.alerts.lifecycle import state_from_json
from analytics.alerts.model import DIM_WORDS, FAMILY_NAMES
from analytics.store.alerts import AlertRecord, aware
from analytics.store.audit import AuditEntry
from handlers.base import CommandContext, CommandError

MAX_SILENCE = timedelta(days=7)
#: The filters /静默 and /取消静默 take: the dimensions an alert's series are named by.
SILENCE_FILTERS = ("类别", "渠道", "商品")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(分钟|分|min|m|小时|时|h|个小时|天|d)$", re.I)
_UNTIL = re.compile(r"^(?:到|至|until)?(\d{1,2})[:：点](\d{2})?分?$")
_UNITS = {"分钟": 60, "分": 60, "min": 60, "m": 60, "小时": 3600, "时": 3600, "h": 3600, "个小时": 3600, "天": 86400,
          "d": 86400}
#: Family words a /静默 may name (what the alert text calls the series), and their aliases.
FAMILY_WORDS = {**{v: v for v in FAMILY_NAMES.values()}, "负面": FAMILY_NAMES["negative"],
                "负面消息": FAMILY_NAMES["negative"], "情感": FAMILY_NAMES["negative"]}
_COLUMN_WORD = {**DIM_WORDS, "channel": "渠道", "product": "商品"}


def audit(ctx: CommandContext) -> AuditEntry:
    return AuditEntry(at=ctx.now.astimezone(UTC), platform=ctx.platform[:16], chat_id=ctx.chat_id[:256],
                      user_id=ctx.user_id[:256], user_name=ctx.user_name[:128], is_private=ctx.is_private,
                      command=ctx.spec.name[:64], text=ctx.raw_text[:500], result="")


def who(ctx: CommandContext) -> str:
    return ctx.user_name or ctx.user_id


def alert_number(word: str) -> int | None:
    token = word.lstrip("#＃")
    return int(token) if token.isdigit() else None


def parse_until(words: list[str], now: datetime) -> tuple[datetime, list[str]]:
    """The end of a silence from ``2小时`` / ``30分钟`` / ``到 18:00`` / ``到18点`` among ``words``; the
    words left. Raises CommandError (Chinese) when there is none or it is beyond 7 days."""
    until: datetime | None = None
    rest: list[str] = []
    joined = " ".join(words).replace("到 ", "到").replace("至 ", "至")
    for word in joined.split():
        m = _DURATION.match(word)
        if m and until is None:
            until = now + timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])
            continue
        m = _UNTIL.match(word)
        if m and until is None and (word[0] in "到至" or ":" in word or "：" in word or "点" in word):
            hour, minute = int(m.group(1)), int(m.group(2) or 0)
            if hour > 23 or minute > 59:
                raise CommandError(f"时间「{word}」不对，例如 到 18:00。")
            local = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            until = local if local > now else local + timedelta(days=1)
            continue
        rest.append(word)
    if until is None:
        raise CommandError("请写上静默多久，例如 /静默 投诉 2小时、/静默 3 到 18:00。")
    if until - now > MAX_SILENCE:
        raise CommandError("静默最长 7 天。")
    return until, rest


def matcher_of(ctx: CommandContext, words: list[str]) -> str:
    """``投诉`` + the command's filters (类别=物流) → the series label prefix a silence matches."""
    rules = list((ctx.services.extra.get("alert_config") or {}).get("rules") or [])
    name = " ".join(words).strip()
    family = FAMILY_WORDS.get(name)
    if family is None:
        if name in rules:
            if ctx.filters:
                raise CommandError(f"规则告警「{name}」不能再加筛选。")
            return name
        options = "、".join([*dict.fromkeys(FAMILY_WORDS.values()), *rules])
        raise CommandError(f"不认识「{name or '（空）'}」。可静默：{options}，或告警编号（见 /告警）。")
    if len(ctx.filters) > 1:
        raise CommandError("一次只能按一个维度静默，例如 /静默 投诉 类别=物流 2小时。")
    for column, value in ctx.filters.items():
        return f"{family} {_COLUMN_WORD.get(column, column)}={value}"
    return family


def labels_of(record: AlertRecord) -> list[str]:
    """The labels an alert goes by: its row's, and its lead series' (they differ while it is pending)."""
    found = [record.label]
    if record.state:
        found.append(state_from_json(record.state).lead.series.label())
    return list(dict.fromkeys(found))


def since_text(record: AlertRecord, ctx: CommandContext) -> str:
    started = aware(record.started_at)
    assert started is not None
    return f"{started.astimezone(ctx.services.tz):%m-%d %H:%M}"
