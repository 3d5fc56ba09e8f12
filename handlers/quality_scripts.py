"""/质检 话术: for the most asked question clusters, the agent replies followed by a good rating and a
resolution against those that are not, with counts — material for a trainer (陪练). Computed in a worker
thread (clustering is CPU work). See analytics.qa.scripts for the definitions."""

from __future__ import annotations

import asyncio

from analytics.qa import scripts as qa_scripts
from analytics.qa.scripts import ClusterScripts, ReplyStats
from handlers.base import CommandContext, Reply
from handlers.format import fmt_int, fmt_pct, window_line

MIN_JUDGED = 5  # a reply needs this many rated/resolved outcomes to be called better or worse
CLIP = 48
GROUPING = "问题按意思归类（与知识库建议同一套聚类）"


def _clip(text: str) -> str:
    return text if len(text) <= CLIP else text[:CLIP] + "…"


def _reply_line(mark: str, r: ReplyStats) -> str:
    return (f"   {mark}「{_clip(r.text)}」用了 {fmt_int(r.uses)} 次，有结果 {fmt_int(r.judged)} 次，"
            f"好评且解决 {fmt_int(r.good)} 次（{fmt_pct(r.good_rate, 0)}）")


def cluster_lines(i: int, c: ClusterScripts) -> list[str]:
    lines = [f"{i}. 「{_clip(c.question)}」 {fmt_int(c.conversations)} 个会话 · 好评且解决 {fmt_pct(c.good_rate, 0)}"
             f"（有结果 {fmt_int(c.judged)} 个）"]
    judged = [r for r in c.replies if r.judged >= MIN_JUDGED]
    if len(judged) < 2:
        lines.append(f"   回复太分散，没有两种回复各有 {MIN_JUDGED} 次以上结果，暂不比较。")
        return lines
    ranked = sorted(judged, key=lambda r: (-(r.good_rate or 0), -r.judged, r.text))
    worst = ranked[-1]
    best = [r for r in ranked[:2] if (r.good_rate or 0) > (worst.good_rate or 0)]
    if not best:
        lines.append(f"   常用回复的结果没有差别（都是 {fmt_pct(worst.good_rate, 0)}）。")
        return lines
    lines += [_reply_line("✓ ", r) for r in best]
    lines.append(_reply_line("✗ ", worst))
    return lines


async def scripts_reply(ctx: CommandContext) -> Reply:
    engine, w = ctx.services.engine, ctx.window
    read, found = await asyncio.to_thread(qa_scripts.scripts, engine, w.start, w.end)
    lines = [f"**有效话术 · {w.phrase}**", window_line(w, {}),
             f"读取 {fmt_int(read)} 个有提问和回复的会话（最多最近 {fmt_int(qa_scripts.MAX_CONVERSATIONS)} 个）；"
             f"{GROUPING}；好评且解决 = 评分 4–5 且未标注未解决。"]
    if not found:
        return Reply("\n".join(lines + ["这段时间没有可分析的提问和回复。"]), title="有效话术")
    for i, c in enumerate(found, 1):
        lines += cluster_lines(i, c)
    lines.append("✓ 结果最好的回复，✗ 结果最差的回复；把 ✓ 的说法整理进快捷短语和陪练题库。")
    return Reply("\n".join(lines), title=f"有效话术 · {w.phrase}")
