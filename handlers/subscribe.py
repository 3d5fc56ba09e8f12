"""/订阅: subscribe this chat to a 日报 or 周报 on a schedule, or change subscription N (``/订阅 修改 N …``)."""

from __future__ import annotations

from handlers import subscriptions
from handlers.base import CommandContext, CommandSpec, Reply

SPEC = CommandSpec(
    name="订阅",
    aliases=("subscribe",),
    usage="/订阅 日报|周报 [每天|工作日|周一…] [9:00] [筛选] [板块=…]；/订阅 修改 N [时间] [日子] [筛选|筛选=无]",
    help="定时把日报/周报发到本群（工作日按法定节假日和调休）；修改订阅 N 的时间、日子或筛选（仅管理员）",
    group="摘要",
    takes_period=False,
    admin_only=True,
    slash_only=True,
    examples=("/订阅 日报 每天 9:00", "/订阅 周报 周一 9:30", "/订阅 日报 工作日 8:30 渠道=淘宝", "/订阅 修改 3 10:00"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await subscriptions.subscribe(ctx)
