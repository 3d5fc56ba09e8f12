"""/静默: no alert messages for a series (``/静默 投诉 2小时``) or one alert (``/静默 N 到 18:00``)."""

from __future__ import annotations

import asyncio

from analytics.store import alerts as store
from handlers.alert_actions import SILENCE_FILTERS, alert_number, audit, matcher_of, parse_until, who
from handlers.base import CommandContext, CommandError, CommandSpec, Reply

SPEC = CommandSpec(
    name="静默",
    aliases=("silence", "mute"),
    usage="/静默 投诉 [类别=…|渠道=…|商品=…] 2小时；/静默 N 到 18:00",
    help="一段时间内不推送匹配的告警（告警仍会记录，静默结束仍在告警则补发）（仅管理员）",
    group="告警",
    takes_period=False,
    filters=SILENCE_FILTERS,
    admin_only=True,
    slash_only=True,
    examples=("/静默 投诉 2小时", "/静默 投诉 类别=物流 30分钟", "/静默 3 到 18:00"),
)


async def handle(ctx: CommandContext) -> Reply:
    tz = ctx.services.tz
    until, words = parse_until(ctx.args, ctx.now.astimezone(tz))
    numbers = [n for w in words if (n := alert_number(w)) is not None]
    engine = ctx.services.engine
    if numbers:
        if len(numbers) > 1 or len(words) > 1 or ctx.filters:
            raise CommandError("一次静默一个告警，例如 /静默 3 到 18:00。")
        row = await asyncio.to_thread(store.get_alert, engine, numbers[0])
        if row is None or row.status not in store.OPEN:
            raise CommandError(f"没有进行中的告警 #{numbers[0]}。发送 /告警 查看编号。")
        await asyncio.to_thread(store.add_silence, engine, until, who(ctx), ctx.now, audit(ctx), alert_id=row.id)
        what = f"#{row.id} {row.label}"
    else:
        what = matcher_of(ctx, words)
        await asyncio.to_thread(store.add_silence, engine, until, who(ctx), ctx.now, audit(ctx), matcher=what)
    return Reply(f"已静默 {what}，至 {until:%m-%d %H:%M}。期间不推送（仍会记录）；提前结束：/取消静默 "
                 f"{numbers[0] if numbers else what}", title="告警")
