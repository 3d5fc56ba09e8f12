"""/周报 [时间]: the weekly digest now — last week (or the week of a given day) vs the week before."""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.digest import handle_command

SPEC = CommandSpec(
    name="周报",
    aliases=("weekly", "每周简报", "上周简报"),
    usage="/周报 [时间] [渠道=… 客服=… 店铺=… 商品=…]",
    help="上周（周一到周日）的关键指标较前一周，异常、趋势、投诉上升原因，单聊或指定群里含客服排行",
    group="摘要",
    default_period="上周",
    examples=("/周报", "/周报 上上周", "/周报 2026-11-20 渠道=抖音"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await handle_command(ctx, "周报")
