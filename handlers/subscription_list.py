"""/订阅列表: this chat's digest subscriptions, and the config file's digests (marked 配置文件)."""

from __future__ import annotations

from handlers import subscriptions
from handlers.base import CommandContext, CommandSpec, Reply

SPEC = CommandSpec(
    name="订阅列表",
    aliases=("subscriptions",),
    usage="/订阅列表",
    help="本群的日报/周报订阅和配置文件里的定时摘要（仅管理员）",
    group="摘要",
    takes_period=False,
    admin_only=True,
    slash_only=True,
    examples=("/订阅列表",),
)


async def handle(ctx: CommandContext) -> Reply:
    return await subscriptions.listing(ctx)
