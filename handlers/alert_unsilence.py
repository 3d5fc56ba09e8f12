"""/取消静默 N: end the silences that match alert N (or, ``/取消静默 投诉``, those made for 投诉)."""

from __future__ import annotations

import asyncio

from analytics.store import alerts as store
from handlers.alert_actions import SILENCE_FILTERS, alert_number, audit, labels_of, matcher_of
from handlers.base import CommandContext, CommandError, CommandSpec, Reply

SPEC = CommandSpec(
    name="取消静默",
    aliases=("unsilence", "unmute"),
    usage="/取消静默 N；/取消静默 投诉",
    help="结束匹配告警 N（或某类告警）的静默（仅管理员）",
    group="告警",
    takes_period=False,
    filters=SILENCE_FILTERS,
    admin_only=True,
    slash_only=True,
    examples=("/取消静默 3", "/取消静默 投诉"),
)


async def handle(ctx: CommandContext) -> Reply:
    engine = ctx.services.engine
    numbers = [n for a in ctx.args if (n := alert_number(a)) is not None]
    if numbers:
        if len(numbers) > 1:
            raise CommandError("一次取消一个告警的静默，例如 /取消静默 3。")
        row = await asyncio.to_thread(store.get_alert, engine, numbers[0])
        if row is None:
            raise CommandError(f"没有告警 #{numbers[0]}。发送 /告警 查看编号。")
        ended = await asyncio.to_thread(store.cancel_silences, engine, row.id, labels_of(row), ctx.now, audit(ctx))
        what = f"#{row.id} {row.label}"
    elif ctx.args:
        what = matcher_of(ctx, ctx.args)
        ended = await asyncio.to_thread(store.cancel_silences, engine, -1, [what], ctx.now, audit(ctx))
    else:
        raise CommandError("请写上告警编号，例如 /取消静默 3（编号见 /告警）。")
    if not ended:
        return Reply(f"{what} 没有生效中的静默。", title="告警")
    return Reply(f"已取消 {what} 的 {len(ended)} 条静默，之后的告警照常推送。", title="告警")
