"""/暂停 N: 暂停订阅 N（不再发送，直到 /恢复 N）."""

from __future__ import annotations

from handlers import subscriptions
from handlers.base import CommandContext, CommandSpec, Reply

SPEC = CommandSpec(
    name="暂停",
    aliases=("pause",),
    usage="/暂停 N",
    help="暂停订阅 N（不再发送，直到 /恢复 N）（仅管理员）",
    group="摘要",
    takes_period=False,
    admin_only=True,
    slash_only=True,
    examples=("/暂停 3",),
)


async def handle(ctx: CommandContext) -> Reply:
    return await subscriptions.set_paused(ctx, paused=True)
