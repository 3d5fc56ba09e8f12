"""/复购率: 下单客户中下单 ≥2 次的占比"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="复购率",
    aliases=("repurchase", "repeat", "复购", "回购率"),
    usage="/复购率 [时间] [筛选]",
    help="下单客户中下单 ≥2 次的占比",
    default_period="本周",
    filters=metric_filters("repurchase"),
    examples=("/复购率 本月", "/复购率 今年 渠道=抖音"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "repurchase")
