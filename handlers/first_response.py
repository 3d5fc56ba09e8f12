"""/首响: 首响时间均值、中位数、P90 与 30 秒应答率"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="首响",
    aliases=("frt", "first_response", "首次响应", "首响时间", "响应时间"),
    usage="/首响 [时间] [筛选]",
    help="首响时间均值、中位数、P90 与 30 秒应答率",
    default_period="本周",
    filters=metric_filters("frt"),
    examples=("/首响 昨天 渠道=淘宝", "/首响 本月 客服=小王"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "frt")
