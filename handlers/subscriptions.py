"""Digest subscriptions from the chat: the logic behind /订阅, /订阅列表, /暂停, /恢复, /退订.

Syntax (words in any order after the command; admins only, the access policy refuses others)::

    /订阅 日报 每天 9:00                       a new subscription, delivered to this chat
    /订阅 周报 周一 9:30
    /订阅 日报 工作日 8:30 渠道=淘宝 板块=满意度,投诉
    /订阅 修改 N 10:00                          change the time of #N …
    /订阅 修改 N 工作日 渠道=京东               … or its days, filters (筛选=无 clears them), 板块
    /订阅列表   /暂停 N   /恢复 N   /退订 N

A subscription belongs to the chat it was made in: it is listed and changed only there. Digests from
the config file (``[digests]``, ``[[digests.subscriptions]]``) are listed as 配置文件 and cannot be
changed from chat. Each change and its audit row are written in one transaction
(:mod:`analytics.digests.subscriptions`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Any

from analytics.digests import DigestError, parse_sections
from analytics.digests import subscriptions as store
from analytics.digests.schedule import (
    EVERY_DAY,
    KINDS,
    WEEKDAY_NAMES,
    Schedule,
    ScheduleError,
    is_days_word,
    next_fire,
    parse_config_schedule,
    parse_days,
    parse_time,
)
from analytics.store.audit import AuditEntry
from analytics.store.digests import DigestSubscription
from handlers.base import CommandContext, CommandError, Reply
from handlers.digest import normalize_filters
from handlers.format import fmt_filters

SECTIONS_KEYS = ("板块", "内容")
NO_FILTER_WORDS = ("筛选=无", "不筛选", "渠道=全部")
HOW = "用法：/订阅 日报 每天 9:00、/订阅 周报 周一 9:30、/订阅 日报 工作日 8:30 渠道=淘宝"


def _number(ctx: CommandContext, verb: str) -> int:
    digits = [a.lstrip("#＃") for a in ctx.args if a.lstrip("#＃").isdigit()]
    if len(digits) != 1:
        raise CommandError(f"请写上订阅编号，例如 /{verb} 3（编号见 /订阅列表）。")
    return int(digits[0])


def _sections(words: list[str]) -> tuple[list[str] | None, list[str]]:
    """``板块=满意度,投诉`` → the section names (validated), and the words left."""
    picked: list[str] | None = None
    rest = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key in SECTIONS_KEYS:
            names = [n for n in value.replace("，", ",").replace("、", ",").split(",") if n]
            try:
                picked = list(parse_sections(names))
            except DigestError as exc:
                raise CommandError(str(exc)) from None
        else:
            rest.append(word)
    return picked, rest


def _schedule_words(words: list[str]) -> tuple[str | None, str | None, list[str]]:
    days = at = None
    rest = []
    for word in words:
        if days is None and is_days_word(word):
            days = parse_days(word)
        elif at is None and word[:1].isdigit():
            at = f"{parse_time(word):%H:%M}"
        else:
            rest.append(word)
    return days, at, rest


def _audit(ctx: CommandContext) -> AuditEntry:
    return AuditEntry(at=ctx.now.astimezone(UTC), platform=ctx.platform[:16], chat_id=ctx.chat_id[:256],
                      user_id=ctx.user_id[:256], user_name=ctx.user_name[:128], is_private=ctx.is_private,
                      command=ctx.spec.name[:64], text=ctx.raw_text[:500], result="")


def describe(sub: DigestSubscription) -> str:
    parts = [sub.kind, f"{sub.days} {sub.at}"]
    if sub.filters:
        parts.append(fmt_filters(sub.filters))
    if sub.sections:
        parts.append("板块=" + "、".join(sub.sections))
    return " · ".join(parts)


def _next_line(sub: DigestSubscription, ctx: CommandContext) -> str:
    if sub.paused:
        return "已暂停"
    at = next_fire(Schedule(sub.days, parse_time(sub.at)), ctx.now, ctx.services.tz)
    return f"下次 {at:%m-%d} {WEEKDAY_NAMES[at.weekday()]} {at:%H:%M}" if at else "三周内没有要发的日子"


async def subscribe(ctx: CommandContext) -> Reply:
    """/订阅 …: a new subscription for this chat, or ``修改 N …``."""
    if ctx.args and ctx.args[0] in ("修改", "改", "更改"):
        return await _edit(ctx, ctx.args[1:])
    if not ctx.reply_to:
        raise CommandError("这里没法接收推送（请在群聊或单聊里订阅）。")
    try:
        sections, words = _sections(list(ctx.args))
        kinds = [w for w in words if w in KINDS]
        days, at, rest = _schedule_words([w for w in words if w not in KINDS])
    except ScheduleError as exc:
        raise CommandError(str(exc)) from None
    if len(kinds) != 1:
        raise CommandError(f"要订阅日报还是周报？{HOW}")
    if rest:
        raise CommandError(f"看不懂「{' '.join(rest)}」。{HOW}")
    kind = kinds[0]
    configured = ctx.services.extra.get("digest_config") or {}
    days = days or ("周一" if kind == "周报" else EVERY_DAY)
    at = at or str(configured.get("time") or "09:00")
    filters = normalize_filters(ctx.filters)
    now = ctx.now.astimezone(UTC)
    dest = ctx.reply_to
    sub = DigestSubscription(kind=kind, days=days, at=at, filters=filters or None, sections=sections,
                             platform=dest["platform"], dest_kind=dest["kind"], target=dest["target"],
                             extra=dest.get("extra") or None, chat_id=ctx.chat_id, paused=False,
                             created_by=ctx.user_name or ctx.user_id, created_at=now, updated_at=now)
    sub = await asyncio.to_thread(store.create, ctx.services.engine, sub, _audit(ctx),
                                  lambda s: f"新订阅 #{s.id}：{describe(s)}")
    return Reply(f"已订阅 #{sub.id}：{describe(sub)}\n发送到本{'聊天' if ctx.is_private else '群'}，"
                 f"{_next_line(sub, ctx)}。\n暂停 /暂停 {sub.id} · 修改 /订阅 修改 {sub.id} 10:00 · "
                 f"退订 /退订 {sub.id}", title="订阅")


async def _edit(ctx: CommandContext, words: list[str]) -> Reply:
    digits = [w for w in words if w.lstrip("#＃").isdigit()]
    if not digits:
        raise CommandError("请写上要修改的订阅编号，例如 /订阅 修改 3 10:00（编号见 /订阅列表）。")
    sub_id = int(digits[0].lstrip("#＃"))
    words = [w for w in words if w != digits[0]]
    clear = any(w in NO_FILTER_WORDS for w in words)
    words = [w for w in words if w not in NO_FILTER_WORDS]
    try:
        sections, words = _sections(words)
        days, at, rest = _schedule_words(words)
    except ScheduleError as exc:
        raise CommandError(str(exc)) from None
    if rest:
        raise CommandError(f"看不懂「{' '.join(rest)}」。例如 /订阅 修改 {sub_id} 10:00、/订阅 修改 {sub_id} 工作日、"
                           f"/订阅 修改 {sub_id} 渠道=淘宝、/订阅 修改 {sub_id} 筛选=无")
    values: dict[str, Any] = {}
    if days:
        values["days"] = days
    if at:
        values["at"] = at
    if clear:
        values["filters"] = None
    elif ctx.filters:
        values["filters"] = normalize_filters(ctx.filters)
    if sections is not None:
        values["sections"] = sections
    if not values:
        raise CommandError(f"要改什么？例如 /订阅 修改 {sub_id} 10:00、/订阅 修改 {sub_id} 周一、"
                           f"/订阅 修改 {sub_id} 渠道=淘宝")
    sub = await asyncio.to_thread(store.change, ctx.services.engine, sub_id, ctx.platform, ctx.chat_id, values,
                                  _audit(ctx), lambda b, a: f"修改 #{sub_id}：{describe(b)} → {describe(a)}", ctx.now)
    if sub is None:
        raise CommandError(_not_here(sub_id))
    return Reply(f"已修改 #{sub.id}：{describe(sub)}，{_next_line(sub, ctx)}。", title="订阅")


def _not_here(sub_id: int) -> str:
    return f"本群没有编号 {sub_id} 的订阅。发送 /订阅列表 查看本群的订阅（配置文件里的摘要不能在聊天里修改）。"


async def set_paused(ctx: CommandContext, paused: bool) -> Reply:
    """/暂停 N and /恢复 N."""
    sub_id = _number(ctx, ctx.spec.name)
    verb = "暂停" if paused else "恢复"
    sub = await asyncio.to_thread(store.change, ctx.services.engine, sub_id, ctx.platform, ctx.chat_id,
                                  {"paused": paused}, _audit(ctx), lambda b, a: f"{verb} #{sub_id}：{describe(a)}",
                                  ctx.now)
    if sub is None:
        raise CommandError(_not_here(sub_id))
    tail = f"恢复请发 /恢复 {sub_id}" if paused else _next_line(sub, ctx)
    return Reply(f"已{verb} #{sub_id}：{describe(sub)}。{tail}。", title="订阅")


async def unsubscribe(ctx: CommandContext) -> Reply:
    """/退订 N."""
    sub_id = _number(ctx, "退订")
    gone = await asyncio.to_thread(store.remove, ctx.services.engine, sub_id, ctx.platform, ctx.chat_id,
                                   _audit(ctx), lambda s: f"退订 #{sub_id}：{describe(s)}")
    if gone is None:
        raise CommandError(_not_here(sub_id))
    return Reply(f"已退订 #{sub_id}：{describe(gone)}。", title="订阅")


def configured_lines(config: dict[str, Any]) -> list[str]:
    """The config file's digests, one line each (plain data from ``services.extra["digest_config"]``)."""
    if not config or not config.get("enabled", True):
        return []
    default_time = str(config.get("time") or "09:00")
    lines = []
    if config.get("targets"):
        lines.append(f"· 日报 · 每天 {default_time} → {'、'.join(config['targets'])}（配置文件）")
    for extra in config.get("subscriptions") or []:
        try:
            schedule = parse_config_schedule(extra.get("schedule") or "", extra.get("kind", "日报"), default_time)
            when = schedule.label
        except ScheduleError:
            when = f"{extra.get('schedule')}（时间写法有误）"
        parts = [extra.get("kind", "日报"), when]
        if extra.get("filters"):
            parts.append(" · ".join(f"{k}={v}" for k, v in extra["filters"].items()))
        if extra.get("sections"):
            parts.append("板块=" + "、".join(extra["sections"]))
        lines.append(f"· {' · '.join(parts)} → {'、'.join(extra.get('targets') or []) or '（无目标）'}（配置文件）")
    return lines


async def listing(ctx: CommandContext) -> Reply:
    """/订阅列表: this chat's subscriptions, then the config file's digests."""
    subs = await asyncio.to_thread(store.for_chat, ctx.services.engine, ctx.platform, ctx.chat_id)
    lines = ["**本群的订阅**" if not ctx.is_private else "**本聊天的订阅**"]
    lines += [f"#{s.id} {describe(s)} · {_next_line(s, ctx)}" for s in subs] or ["（还没有。例如 /订阅 日报 每天 9:00）"]
    config = ctx.services.extra.get("digest_config") or {}
    conf = configured_lines(config)
    if conf:
        lines += ["**配置文件里的摘要**（只能在 config.toml 里修改）", *conf]
    elif config and not config.get("enabled", True):
        lines.append("（定时摘要已在配置文件里关闭：[digests] enabled = false）")
    if subs:
        lines.append("管理：/暂停 N · /恢复 N · /退订 N · /订阅 修改 N 10:00")
    return Reply("\n".join(lines), title="订阅列表")
