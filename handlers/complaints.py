"""/投诉: 投诉数、投诉率（每千会话）、主要类别和商品"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="投诉",
    aliases=("complaints", "complaint", "投诉量", "投诉率"),
    usage="/投诉 [时间] [筛选]",
    help="投诉数、投诉率（每千会话）、主要类别和商品",
    default_period="今天",
    filters=metric_filters("complaints"),
    examples=("/投诉 今天", "/投诉 近7天 商品=羽绒服", "/投诉 今天 类别=物流", "昨天淘宝的投诉"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "complaints")
