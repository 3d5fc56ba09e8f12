"""/退货率: 退货单数 / 订单数，附主要退货原因"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="退货率",
    aliases=("returns", "return_rate", "退货", "退款率"),
    usage="/退货率 [时间] [筛选]",
    help="退货单数 / 订单数，附主要退货原因",
    default_period="本周",
    filters=metric_filters("return_rate"),
    examples=("/退货率 上月", "/退货率 本月 商品=羽绒服"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "return_rate")
