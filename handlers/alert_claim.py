"""/认领 N: record who handles alert N (shown in /告警 and in its reminders)."""

from __future__ import annotations

import asyncio

from analytics.store import alerts as store
from handlers.alert_actions import alert_number, audit, who
from handlers.base import CommandContext, CommandError, CommandSpec, Reply

SPEC = CommandSpec(
    name="认领",
    aliases=("ack", "claim"),
    usage="/认领 N",
    help="认领告警 N：提醒里显示处理人（编号见 /告警）",
    group="告警",
    takes_period=False,
    filters=(),
    slash_only=True,
    examples=("/认领 3",),
)


async def handle(ctx: CommandContext) -> Reply:
    numbers = [n for a in ctx.args if (n := alert_number(a)) is not None]
    if len(numbers) != 1:
        raise CommandError("请写上告警编号，例如 /认领 3（编号见 /告警）。")
    alert_id = numbers[0]
    row = await asyncio.to_thread(store.claim_alert, ctx.services.engine, alert_id, who(ctx), ctx.now, audit(ctx))
    if row is None:
        raise CommandError(f"没有进行中的告警 #{alert_id}。发送 /告警 查看编号。")
    return Reply(f"已认领 #{alert_id}：{row.label}，处理人 {row.claimed_by}。恢复后会自动通知。", title="告警")
