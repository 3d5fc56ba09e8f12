"""/恢复 N: 恢复已暂停的订阅 N."""

from __future__ import annotations

from handlers import subscriptions
from handlers.base import CommandContext, CommandSpec, Reply

SPEC = CommandSpec(
    name="恢复",
    aliases=("resume",),
    usage="/恢复 N",
    help="恢复已暂停的订阅 N（仅管理员）",
    group="摘要",
    takes_period=False,
    admin_only=True,
    slash_only=True,
    examples=("/恢复 3",),
)


async def handle(ctx: CommandContext) -> Reply:
    return await subscriptions.set_paused(ctx, paused=False)
