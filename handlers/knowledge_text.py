"""/知识库 as chat text: the list, one suggestion in full, the 周报's 新知识库建议 lines. Numbers from the stored run."""

from __future__ import annotations

from datetime import datetime

from analytics.faq import answers
from analytics.faq.ledger import Run, regrown
from analytics.faq.suggest import tidy
from analytics.store.faq import ACCEPTED, DISMISSED, FaqSuggestion
from handlers.format import fmt_int, fmt_pct

HOW_ADMIN = "管理员：/知识库 采纳 N [改过的答案]、/知识库 忽略 N"


def growth_text(stats: dict) -> str:
    """``↑25%`` / ``↓8%`` / ``持平`` against the period before; ``新出现`` when it had none."""
    growth = stats.get("growth")
    if growth is None:
        return "新出现" if stats.get("questions") else "—"
    if abs(growth) < 0.005:
        return "持平"
    return f"{'↑' if growth > 0 else '↓'}{abs(growth) * 100:.0f}%"


def _days(run: Run) -> str:
    label = run.window.get("label", "")
    return label.split(" ", 1)[0] or "本期"


def list_line(row: FaqSuggestion) -> str:
    s = row.stats or {}
    again = "（曾忽略，又增长了）" if row.status == DISMISSED else ""
    return (f"#{row.id} {tidy(row.question)} · {fmt_int(s.get('questions', row.count))} 次 · "
            f"{fmt_int(s.get('customers'))} 位顾客 · {growth_text(s)} · {row.kind}{again}")


def as_of(computed_at: datetime, refresh_minutes: int | None) -> str:
    """``（截至 12-03 11:00 的统计，每 60 分钟更新）``: the list is the stored run's, not the minute's."""
    every = f"，每 {refresh_minutes} 分钟更新" if refresh_minutes else ""
    return f"（截至 {computed_at:%m-%d %H:%M} 的统计{every}）"


def listing(rows: list[FaqSuggestion], run: Run, top_n: int, computed_at: datetime,
            refresh_minutes: int | None = None) -> str:
    lines = [f"**知识库建议** · {run.window.get('label', '')}（较前一期同样天数）"]
    if not rows:
        lines.append(f"{_days(run)}没有需要加入知识库的重复问题（提问 {fmt_int(run.current_questions)} 次，"
                     f"已被知识库覆盖的 {run.covered} 类不再建议）。")
        lines.append(as_of(computed_at, refresh_minutes))
        return "\n".join(lines)
    shown = rows[:top_n]
    lines.append(f"顾客提问 {fmt_int(run.current_questions)} 次，待处理的建议 {len(rows)} 条，"
                 f"按提问次数列出前 {len(shown)} 条：")
    lines += [list_line(r) for r in shown]
    if run.covered:
        lines.append(f"另有 {run.covered} 类问题已被知识库覆盖，不再建议。")
    first = shown[0].id
    lines.append(f"详情：/知识库 {first}　{HOW_ADMIN.replace('N', str(first))}　导出已采纳的：/知识库 导出")
    lines.append(as_of(computed_at, refresh_minutes))
    return "\n".join(lines)


def _status(row: FaqSuggestion, regrow_factor: float, tz) -> str:  # noqa: ANN001 - a tzinfo
    when = f"{row.decided_at.astimezone(tz):%m-%d %H:%M}" if row.decided_at else ""
    if row.status == ACCEPTED:
        return f"已采纳（{row.decided_by or '—'} {when}，知识库 {row.kb_id}）"
    if row.status == DISMISSED:
        if regrown(row, regrow_factor):
            return f"曾于 {when} 忽略（当时 {fmt_int(row.count_at_decision)} 次），现 {fmt_int(row.count)} 次，超过 {regrow_factor:g} 倍，重新建议"
        return f"已忽略（{row.decided_by or '—'} {when}，当时 {fmt_int(row.count_at_decision)} 次）"
    return "待处理"


def _why(row: FaqSuggestion, s: dict, quick_similarity: float, quick_max_chars: int) -> str:
    consistency, chars = s.get("consistency"), s.get("median_chars")
    measured = (f"客服回复平均相似度 {consistency:.2f}、中位 {chars:.0f} 字" if consistency is not None and chars is not None
                else "没有可比较的客服回复")
    if row.kind == answers.QUICK_REPLY:
        return f"为什么是快捷回复：{measured}（相似度 ≥ {quick_similarity:g} 且 ≤ {quick_max_chars} 字：客服答得一致又简短）"
    if row.kind == answers.REVIEW:
        return (f"为什么要复查：已有知识库条目 {row.kb_id} 覆盖这类问题，但 {fmt_pct(s.get('bad_share'))} 的会话"
                f"未解决或差评；候选答案是好评会话里客服的说法，可用来替换")
    return f"为什么是知识库文章：{measured}（回答因情况而异或较长，适合写成一篇说明）"


def detail(row: FaqSuggestion, regrow_factor: float, tz, quick_similarity: float, quick_max_chars: int) -> str:  # noqa: ANN001
    s = row.stats or {}
    window = (s.get("window") or {}).get("label", "")
    days = window.split(" ", 1)[0] or "本期"
    lines = [f"**知识库建议 #{row.id} · {row.kind}**（{_status(row, regrow_factor, tz)}）",
             f"问题：{tidy(row.question)}　分类：{row.category or '其他'}",
             f"{days}提问 {fmt_int(s.get('questions'))} 次，{fmt_int(s.get('customers'))} 位顾客；"
             f"前一期 {fmt_int(s.get('previous'))} 次（{growth_text(s)}）"]
    if s.get("conversations"):
        lines.append(f"这些会话中 {fmt_pct(s.get('bad_share'))} 未解决或差评（已知结果的会话 {fmt_int(s['conversations'])} 个）")
    if row.phrasings:
        lines.append("常见问法：")
        lines += [f"· {p}" for p in row.phrasings]
    if row.edited_answer:
        lines.append("采纳的答案（管理员修改过）：")
        lines.append(row.edited_answer)
    if row.answer:
        lines.append(f"候选答案（{s.get('answer_basis', '')}中最有代表性的一条，个人信息已隐去）：")
        lines.append(row.answer)
    else:
        lines.append("候选答案：没有已解决的会话里的客服回复，采纳时请写上答案。")
    lines.append(_why(row, s, quick_similarity, quick_max_chars))
    if window:
        lines.append(f"统计窗口：{window}")
    lines.append(HOW_ADMIN.replace("N", str(row.id)))
    return "\n".join(lines)


def weekly_lines(rows: list[FaqSuggestion], limit: int = 5) -> list[str]:
    """The 周报's block: suggestions first seen this week (already ranked)."""
    if not rows:
        return []
    lines = [f"**新知识库建议**（本周新出现 {len(rows)} 条）"]
    lines += [f"· {list_line(r)}" for r in rows[:limit]]
    lines.append(f"详情：/知识库 {rows[0].id}；采纳：/知识库 采纳 {rows[0].id}")
    return lines
