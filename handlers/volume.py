"""/会话量: 会话数（按开始时间）"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="会话量",
    aliases=("volume", "conversations", "会话", "咨询量", "接待量"),
    usage="/会话量 [时间] [筛选]",
    help="会话数（按开始时间）",
    default_period="今天",
    filters=metric_filters("conversations"),
    examples=("/会话量 今天", "/会话量 上周 渠道=京东"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "conversations")
