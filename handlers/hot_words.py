"""/热词: what customers talk about now, weighted against the whole history, and what is rising."""

from __future__ import annotations

import asyncio

from analytics import charts, keywords
from handlers.base import Chart, CommandContext, CommandSpec, Reply
from handlers.charting import chart_path, subtitle
from handlers.format import fmt_int, fmt_pct, window_line

SPEC = CommandSpec(
    name="热词",
    aliases=("keywords", "hotwords", "关键词", "高频词"),
    usage="/热词 [时间]",
    help="客户消息里的高频关键词（按全部历史加权，常用词不会霸榜），标出上升最快的词",
    default_period="本周",
    filters=(),
    examples=("/热词", "/热词 昨天", "/热词 近7天"),
)


def term_lines(scores: list[keywords.TermScore]) -> list[str]:
    lines = []
    for i, s in enumerate(scores, 1):
        mark = "  ↑上升" if s.rising else ""
        lines.append(f"{i}. {s.term} {fmt_pct(s.share)}（{fmt_int(s.docs)} 条）{mark}")
    return lines


async def handle(ctx: CommandContext) -> Reply:
    w = ctx.window  # filters=(): the router refuses 渠道=… in words instead of answering for 全部
    n, scores = await asyncio.to_thread(keywords.top_terms, ctx.services.engine, "message", w.start, w.end,
                                        w.prev_start, w.prev_end, 10)
    if not n:
        return Reply(f"{window_line(w, {})}\n这段时间没有客户消息。", title="热词")
    lines = [f"**热词 · {w.phrase}**（{fmt_int(n)} 条客户消息，占比 = 含该词的消息比例，按占比排列）", window_line(w, {}),
             *term_lines(scores)]
    rising = [s for s in scores if s.rising]
    if rising:
        lines.append("上升：" + "、".join(f"{s.term}（{fmt_pct(s.prev_share)} → {fmt_pct(s.share)}）" for s in rising[:3]))
    path = await charts.render(charts.bar_chart, [s.term for s in scores], [s.share * 100 for s in scores],
                               title="热词 · 含该词的客户消息占比", unit="%", path=chart_path(ctx, "keywords"),
                               counts=[s.docs for s in scores], subtitle=subtitle(ctx),
                               highlight=rising[0].term if rising else None)
    return Reply("\n".join(lines), title=f"热词 · {w.phrase}", charts=[Chart(path, f"热词 {w.phrase}")])
