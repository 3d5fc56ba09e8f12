"""/满意度: 满意度：有评分会话中评分≥4 的占比，含参评率与对比"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="满意度",
    aliases=("csat", "satisfaction", "满意率", "好评率"),
    usage="/满意度 [时间] [筛选]",
    help="满意度：有评分会话中评分≥4 的占比，含参评率与对比",
    default_period="本周",
    filters=metric_filters("csat"),
    examples=("/满意度 本周", "/满意度 昨天 渠道=淘宝", "本周满意度多少"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "csat")
