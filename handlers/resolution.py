"""/解决率: 已解决会话占已标注会话的比例"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="解决率",
    aliases=("resolution", "resolved", "解决"),
    usage="/解决率 [时间] [筛选]",
    help="已解决会话占已标注会话的比例",
    default_period="本周",
    filters=metric_filters("resolution"),
    examples=("/解决率 上周", "/解决率 本月 渠道=京东"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "resolution")
