"""/退订 N: delete this chat's subscription N."""

from __future__ import annotations

from handlers import subscriptions
from handlers.base import CommandContext, CommandSpec, Reply

SPEC = CommandSpec(
    name="退订",
    aliases=("unsubscribe",),
    usage="/退订 N",
    help="删除本群的订阅 N（仅管理员）",
    group="摘要",
    takes_period=False,
    admin_only=True,
    slash_only=True,
    examples=("/退订 3",),
)


async def handle(ctx: CommandContext) -> Reply:
    return await subscriptions.unsubscribe(ctx)
