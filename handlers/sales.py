"""/销售: 订单数、销售额、客单价"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric

SPEC = CommandSpec(
    name="销售",
    aliases=("sales", "gmv", "销售额", "成交"),
    usage="/销售 [时间] [筛选]",
    help="订单数、销售额、客单价",
    default_period="本周",
    examples=("/销售 本月", "/销售 昨天 渠道=淘宝"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "sales")
