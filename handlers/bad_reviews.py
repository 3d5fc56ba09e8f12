"""/差评: 评分 ≤2 的评价占比，附差评最多的商品"""

from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric

SPEC = CommandSpec(
    name="差评",
    aliases=("bad_reviews", "reviews", "差评率"),
    usage="/差评 [时间] [筛选]",
    help="评分 ≤2 的评价占比，附差评最多的商品",
    default_period="本周",
    examples=("/差评 本周", "/差评 上月 商品=羽绒服"),
)


async def handle(ctx: CommandContext) -> Reply:
    return await answer_metric(ctx, "bad_reviews")
