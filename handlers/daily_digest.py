"""/日报 [日期]: the daily digest now — yesterday (or the given day) with its comparisons and chart."""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.digest import handle_command

SPEC = CommandSpec(
    name="日报",
    aliases=("daily", "digest", "每日简报", "昨日简报"),
    usage="/日报 [日期] [渠道=… 客服=… 店铺=… 商品=…]",
    help="昨天（或指定日期）的关键指标，较前日和上周同日，异常标记、投诉上升原因，一张组合图",
    group="摘要",
    default_period="昨天",
    examples=("/日报", "/日报 前天", "/日报 2026-12-01 渠道=淘宝"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await handle_command(ctx, "日报")
