"""/差评: 评分 ≤2 的评价占比，附差评最多的商品"""

import asyncio

from analytics import keywords
from handlers.base import CommandContext, CommandSpec, Reply
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="差评",
    aliases=("bad_reviews", "reviews", "差评率"),
    usage="/差评 [时间] [筛选]",
    help="评分 ≤2 的评价占比，附差评最多的商品和差评关键词",
    default_period="本周",
    filters=metric_filters("bad_reviews"),
    examples=("/差评 本周", "/差评 上月 商品=羽绒服"),
)


async def handle(ctx: CommandContext) -> Reply:
    reply = await answer_metric(ctx, "bad_reviews")
    if not reply.ok or ctx.explain or ctx.filters:
        return reply
    w = ctx.window
    _n, scores = await asyncio.to_thread(keywords.top_terms, ctx.services.engine, "bad_review", w.start, w.end,
                                         w.prev_start, w.prev_end, 8)
    if scores:
        # Listed by the count shown (keywords.top_terms), so the line reads in order.
        reply.text += "\n差评关键词（含该词的差评条数）：" + " · ".join(f"{s.term} {s.docs}" for s in scores)
    return reply
