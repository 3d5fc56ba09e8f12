"""The digest reply shared by /日报, /周报, ``csbot digest`` and the scheduled digests (bot.jobs).

:func:`digest_reply` builds the numbers in a thread (``analytics.digests.build``), lays out the text
(``handlers.digest_text``) and renders the composite chart in the chart pool. It returns a whole
digest or raises: :class:`CommandError` for bad input, :class:`DigestUnavailable` when the database
cannot be read (the job retries), anything else as a bug — never half a digest.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta

from analytics import charts, digests
from analytics.digests import DAILY, KINDS, WEEKLY, Digest, DigestError, DigestUnavailable
from analytics.metrics import FILTER_ALIASES, FILTER_KEYS, METRICS
from analytics.periods import Window
from handlers import digest_text, knowledge
from handlers.base import Chart, CommandContext, CommandError, Reply, Services
from handlers.staffing import staffing_section

__all__ = ["DigestUnavailable", "digest_reply", "handle_command", "normalize_filters"]

#: 类别 is a complaint's own column: every other KPI of a digest (and its empty-check) would be left out,
#: and its 投诉上升 block already lists the categories — a digest refuses it instead.
_ALLOWED = {col for k in digests.KPI_KEYS for col in METRICS[k].filters} - {"category"}
_ALLOWED_CN = "、".join(cn for cn, col in FILTER_KEYS.items() if col in _ALLOWED)


def normalize_filters(filters: dict[str, str] | None) -> dict[str, str]:
    """``{"渠道": "淘宝"}`` or ``{"channel": "淘宝"}`` → canonical columns; CommandError for an unknown key."""
    out = {}
    for key, value in (filters or {}).items():
        cn = FILTER_ALIASES.get(key, key)
        col = FILTER_KEYS.get(cn, key)
        if col == "category":
            raise CommandError(f"日报/周报不支持按「{key}」筛选：类别只属于投诉，其他指标无法按类别计算（可用：{_ALLOWED_CN}）。"
                               "各类别的投诉见摘要的「投诉上升」，或发送 /投诉 昨天 类别=物流。")
        if col not in _ALLOWED:
            raise CommandError(f"日报/周报不支持按「{key}」筛选（可用：{_ALLOWED_CN}）。")
        out[col] = str(value)
    return out


def _period(kind: str, now: datetime, day: date | None, services: Services) -> digests.Period:
    tz = services.tz
    today = now.astimezone(tz).date()
    day = day or digests.default_day(kind, now, tz)
    if kind == DAILY:
        if day >= today:
            raise CommandError("日报只能看已经结束的一天（默认昨天）；今天的数据请用 /概览 今天。")
        return digests.daily_period(day, tz)
    period = digests.weekly_period(day, tz)
    if period.first + timedelta(days=7) > today:
        raise CommandError("这一周还没结束，周报默认看上周；本周至今的数据请用 /概览 本周。")
    return period


async def digest_reply(services: Services, kind: str, *, now: datetime, day: date | None = None,
                       filters: dict[str, str] | None = None, sections: list[str] | None = None,
                       show_agents: bool = False) -> Reply:
    """A whole 日报 or 周报 as a Reply with its chart (one line and no chart when the period has no data).

    ``day``: the 日报's day (default yesterday, local) or any day of the 周报's week (default last week).
    ``filters``: e.g. ``{"渠道": "淘宝"}``; ``sections``: names from ``analytics.digests.SECTIONS`` (default
    all); ``show_agents``: the target chat may see per-agent figures (``[access] sensitive_chats``)."""
    if kind not in KINDS:
        raise CommandError(f"没有「{kind}」这种摘要，可选：日报、周报。")
    try:
        chosen = digests.parse_sections(sections)
    except DigestError as exc:
        raise CommandError(str(exc)) from None
    period = _period(kind, now, day, services)
    flt = normalize_filters(filters)
    digest = await asyncio.to_thread(digests.build, services.engine, period, services.tz, filters=flt,
                                     sections=chosen, show_agents=show_agents, min_agent_n=services.min_agent_n)
    if digest.empty:
        yesterday = period.first == digests.default_day(kind, now, services.tz)
        return Reply(digest_text.empty_text(digest, yesterday), title=digest_text.title(digest))
    body = digest_text.text(digest)
    if kind == WEEKLY and digests.STAFFING in chosen:  # opt-in: the coming week's staffing plan
        body += "".join(f"\n{line}" for line in await staffing_section(services, now, period.first + timedelta(days=7)))
    if kind == WEEKLY:  # [faq] weekly_push: the questions that became suggestions this week
        body += "".join(f"\n{line}" for line in await knowledge.weekly_section(services, now))
    return Reply(body, title=digest_text.title(digest), charts=[await _chart(services, digest)])


async def _chart(services: Services, digest: Digest) -> Chart:
    services.chart_dir.mkdir(parents=True, exist_ok=True)
    stem = "daily" if digest.kind == DAILY else "weekly"
    path = services.chart_dir / f"digest-{stem}-{uuid.uuid4().hex[:12]}.png"
    title = digest_text.title(digest)
    path = await charts.render(charts.digest_chart, digest_text.tiles(digest), title=title, path=path,
                               subtitle=digest_text.subtitle(digest), blocks=digest_text.blocks(digest))
    return Chart(path, title)


def _day_of(kind: str, window: Window) -> date:
    """The day a /日报 or /周报 phrase names: one whole day (日报), or a day of the week (周报)."""
    days = window.duration.total_seconds() / 86400
    whole = window.kind != "to_date" and window.start.hour == window.start.minute == 0
    if kind == DAILY:
        if window.kind == "to_date" and days <= 1:
            raise CommandError("今天还没结束，日报默认看昨天；今天的数据请用 /概览 今天。")
        if not whole or abs(days - 1) > 0.05:
            raise CommandError("日报按天看：/日报、/日报 前天、/日报 2026-12-01。")
        return window.start.date()
    if window.kind == "to_date":
        raise CommandError("这一周还没结束，周报默认看上周；本周至今的数据请用 /概览 本周。")
    first, last = window.start.date(), (window.end - timedelta(seconds=1)).date()
    if not whole or first - timedelta(days=first.weekday()) != last - timedelta(days=last.weekday()):
        raise CommandError("周报按周看（周一到周日）：/周报、/周报 上上周、/周报 2026-11-20（所在的那一周）。")
    return first


async def handle_command(ctx: CommandContext, kind: str) -> Reply:
    """/日报 [日期] and /周报 [时间]: the digest now, for this chat's filters; the league only where
    per-agent figures may be shown (a 1:1 chat, or a chat the bot says may see them)."""
    visible = ctx.services.extra.get("agents_visible")
    show_agents = bool(visible(ctx)) if callable(visible) else ctx.is_private
    return await digest_reply(ctx.services, kind, now=ctx.now, day=_day_of(kind, ctx.window), filters=ctx.filters,
                              show_agents=show_agents and kind == WEEKLY)
