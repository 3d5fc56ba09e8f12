"""/情感: 客户消息的平均情感分与负面占比"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="情感",
    aliases=("sentiment", "情绪"),
    usage="/情感 [时间] [筛选]",
    help="客户消息的平均情感分与负面占比",
    default_period="本周",
    filters=metric_filters("sentiment"),
    examples=("/情感 本周", "/情感 昨天 客服=小王"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "sentiment")
