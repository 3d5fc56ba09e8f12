"""/质检: the team's top 质检 problems, one agent's profile (客服=…), or the 话术 that work (话术).

Everything is read from the findings kept at import (analytics.qa), so a year answers as fast as a day.
One agent's profile names an agent, so it is shown where /客服 may be used — a 1:1 chat or a chat in
``[access] sensitive_chats`` (``services.extra["agents_visible"]``, set by the bot); the team view
never names agents unless the chat may see them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from analytics import metrics
from analytics.qa import RULE_NAMES, RULES, TRAINING, current_params, read
from analytics.qa.read import AgentQA
from analytics.text import mask_pii
from handlers.base import CommandContext, CommandError, CommandSpec, Reply
from handlers.format import fmt_int, fmt_pct, unknown_value, window_line
from handlers.quality_scripts import scripts_reply

SPEC = CommandSpec(
    name="质检",
    aliases=("qa", "quality", "会话质检", "质检报告"),
    usage="/质检 [时间] | /质检 客服=小王 [时间] | /质检 话术 [时间]",
    help="会话质检：团队主要问题（次数、占比、变化、例子、专题培训建议）；客服=… 看个人；话术 看哪些回复带来好评",
    group="质检",
    default_period="本周",
    filters=("客服",),
    free_args=True,
    examples=("/质检 本周", "/质检 客服=小王 本月", "/质检 话术 近30天"),
)

MIN_COMPARE = 20  # conversations the previous period needs before a rate is compared with it
MIN_ACTIVE = 5  # conversations an agent needs in the period to count as active for 专题培训
TOP = 5
SNIPPET_CHARS = 36
_SENDER = {"customer": "客户", "agent": "客服", "bot": "机器人"}
NOTHING_CHECKED = "这段时间没有已质检的会话（质检上线前导入的数据，请管理员运行一次 csbot rebuild qa）。"


def _pts(now: float | None, before: float | None) -> str:
    """A rate change in percentage points, as the two printed rates differ."""
    if now is None or before is None:
        return ""
    d = round(now * 100, 1) - round(before * 100, 1)
    if abs(d) < 0.05:
        return "→ 持平"
    return f"{'↑' if d > 0 else '↓'} {abs(d):.1f} 点"


def _clip(text: str) -> str:
    text = mask_pii(" ".join(text.split()))
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…"


def snippet(example: read.Example) -> str:
    """A finding's lines, masked and clipped: 客户：「…」→ 客服：「…」（首响 312 秒）."""
    body = " → ".join(f"{_SENDER.get(sender, sender)}：「{_clip(text)}」" for sender, text in example.lines[:2])
    detail = example.detail if example.detail and not example.detail.startswith(("lexicon", "model")) else ""
    if example.lines and detail and not detail[:1].isascii():
        return f"{body}（{detail}）"
    return body or f"（会话 {example.conversation_id}）"


def _visible(ctx: CommandContext) -> bool:
    check = ctx.services.extra.get("agents_visible")
    return True if check is None else bool(check(ctx))


@dataclass
class Problem:
    rule: str
    count: int
    rate: float
    prev_rate: float | None
    agents: list[str]  # agents with this problem (≥ 2 findings and above half the team's rate)


def problems(rows: dict[str, AgentQA], prev: dict[str, AgentQA]) -> list[Problem]:
    """The rules that fired in the window, most frequent first, with the agents who share each."""
    total, before = read.team(rows), read.team(prev)
    out = []
    for rule in RULES:
        n = total.flags[rule]
        if not n:
            continue
        rate = total.rate(rule) or 0.0
        agents = sorted(a for a, r in rows.items()
                        if r.conversations >= MIN_ACTIVE and r.flags[rule] >= 2 and (r.rate(rule) or 0) >= rate / 2)
        prev_rate = before.rate(rule) if before.conversations >= MIN_COMPARE else None
        out.append(Problem(rule, n, rate, prev_rate, agents))
    return sorted(out, key=lambda p: (-p.count, RULES.index(p.rule)))


def training(problem: Problem, active: int) -> bool:
    """A problem common to many agents: worth one 专题培训 rather than coaching one by one."""
    p = current_params()
    return len(problem.agents) >= p.training_min_agents and len(problem.agents) >= p.training_agent_share * active


async def _examples(engine, start, end, rules: list[str], agent: str | None = None) -> dict[str, list[read.Example]]:  # noqa: ANN001
    """Each rule's examples in its own worker thread, side by side: each is a bounded indexed query (the latest
    findings of the rule) plus its lines, so on PostgreSQL the answer waits for one round trip set, not five."""
    found = await asyncio.gather(*(asyncio.to_thread(read.examples, engine, start, end, r, agent) for r in rules))
    return dict(zip(rules, found, strict=True))


async def _team_reply(ctx: CommandContext) -> Reply:
    engine, w = ctx.services.engine, ctx.window
    rows, prev = await asyncio.gather(asyncio.to_thread(read.counts, engine, w.start, w.end),
                                      asyncio.to_thread(read.counts, engine, w.prev_start, w.prev_end))
    total = read.team(rows)
    head = [f"**质检 · {w.phrase}**", window_line(w, ctx.filters)]
    if not total.conversations:
        return Reply("\n".join(head + [NOTHING_CHECKED]), title="质检")
    before = read.team(prev)
    found = problems(rows, prev)[:TOP]
    examples = await _examples(engine, w.start, w.end, [p.rule for p in found])
    active = sum(1 for r in rows.values() if r.conversations >= MIN_ACTIVE)
    score_line = f"会话 {fmt_int(total.conversations)} 个 · 质检平均分 {total.score:.1f}"
    if before.conversations >= MIN_COMPARE:
        score_line += f"（{w.prev_phrase} {before.score:.1f}）"
    else:
        score_line += f"（{w.prev_phrase}会话 {before.conversations} 个，不足 {MIN_COMPARE} 个，不作比较）"
    lines = head + [score_line, "主要问题（会话数 · 占比 · 较上期）："]
    courses, coaching = [], []
    visible = _visible(ctx)
    for i, p in enumerate(found, 1):
        change = f"（{w.prev_phrase} {fmt_pct(p.prev_rate)}，{_pts(p.rate, p.prev_rate)}）" if p.prev_rate is not None else ""
        lines.append(f"{i}. {RULE_NAMES[p.rule]} {fmt_int(p.count)} 个 · {fmt_pct(p.rate)}{change}"
                     f" · 涉及 {len(p.agents)}/{active} 位客服")
        lines += [f"   例：{snippet(e)}" for e in examples[p.rule]]
        if training(p, active):
            courses.append(p)
        elif p.agents:
            coaching.append(p)
    if courses:
        lines.append("建议专题培训（多数客服都有的问题）：")
        lines += [f"· {RULE_NAMES[p.rule]}：{TRAINING[p.rule]}" for p in courses]
    if coaching:
        who = (lambda p: "、".join(p.agents)) if visible else (lambda p: f"{len(p.agents)} 位客服")
        lines.append("个别客服的问题，建议一对一辅导：" + "；".join(f"{RULE_NAMES[p.rule]}（{who(p)}）" for p in coaching))
    lines.append("看个人：/质检 客服=姓名" + ("" if visible else "（仅限私聊或指定群）") + "；看有效话术：/质检 话术")
    return Reply("\n".join(lines), title=f"质检 · {w.phrase}")


def coach_topics(me: AgentQA, team: AgentQA) -> list[str]:
    """Rules where the agent is clearly worse than the team (rate ≥ 1.5 × the team's and ≥ 2 findings),
    largest excess first."""
    picked = []
    for rule in RULES:
        mine, theirs = me.rate(rule) or 0.0, team.rate(rule) or 0.0
        if me.flags[rule] >= 2 and mine >= 1.5 * theirs and mine > theirs:
            picked.append((mine - theirs, rule))
    return [rule for _, rule in sorted(picked, key=lambda x: (-x[0], RULES.index(x[1])))]


def _ratio(mine: float | None, theirs: float | None) -> str:
    if not mine or not theirs:
        return ""
    return f"，×{mine / theirs:.1f}"


async def _agent_reply(ctx: CommandContext, name: str) -> Reply:
    if not _visible(ctx):
        raise CommandError("客服个人质检只能在私聊或指定的群里查看（[access] sensitive_chats）。群里可以发 /质检 看团队情况。")
    engine, w = ctx.services.engine, ctx.window
    rows, prev = await asyncio.gather(asyncio.to_thread(read.counts, engine, w.start, w.end),
                                      asyncio.to_thread(read.counts, engine, w.prev_start, w.prev_end, name))
    head = [f"**质检 · {name} · {w.phrase}**", window_line(w, {"agent": name})]
    if name not in rows:
        known = await asyncio.to_thread(metrics.distinct_values, engine, "agent")
        if name not in known:
            raise CommandError(unknown_value("agent", name, known))
        return Reply("\n".join(head + [f"{name} 这段时间没有已质检的会话。"]), title=f"质检 {name}")
    me, team = rows[name], read.team(rows)
    mine_prev = prev.get(name)
    line = (f"会话 {fmt_int(me.conversations)} 个 · 质检平均分 {me.score:.1f}（团队 {team.score:.1f}，"
            f"{'高于' if round(me.score, 1) > round(team.score, 1) else '低于' if round(me.score, 1) < round(team.score, 1) else '持平'}团队）")
    if mine_prev and mine_prev.conversations >= MIN_COMPARE:
        line += f" · {w.prev_phrase} {mine_prev.score:.1f}"
    lines = head + [line, "各项（本人 vs 团队）："]
    for rule in sorted((r for r in RULES if me.flags[r] or team.flags[r]), key=lambda r: (-me.flags[r], RULES.index(r))):
        lines.append(f"· {RULE_NAMES[rule]} {fmt_int(me.flags[rule])} 个 {fmt_pct(me.rate(rule))}"
                     f"（团队 {fmt_pct(team.rate(rule))}{_ratio(me.rate(rule), team.rate(rule))}）")
    topics = coach_topics(me, team)[:3]
    if not topics:
        lines.append("没有明显高于团队的问题。")
        return Reply("\n".join(lines), title=f"质检 {name}")
    lines.append("重点辅导：" + "；".join(f"{i}. {RULE_NAMES[r]} — {TRAINING[r]}" for i, r in enumerate(topics, 1)))
    examples = await _examples(engine, w.start, w.end, topics, name)
    lines.append("例子：")
    for rule in topics:
        lines += [f"· {RULE_NAMES[rule]}：{snippet(e)}" for e in examples[rule]]
    return Reply("\n".join(lines), title=f"质检 {name}")


async def handle(ctx: CommandContext) -> Reply:
    name = ctx.filters.pop("agent", None)
    args = [a for a in ctx.args if a]
    if args and args[0] in ("话术", "陪练"):
        return await scripts_reply(ctx)
    if len(args) > 1:
        raise CommandError(f"不认识「{' '.join(args)}」。用法：/质检 [时间]、/质检 客服=小王 [时间]、/质检 话术 [时间]")
    name = name or (args[0] if args else None)  # /质检 小王, like /客服 小王
    if name:
        return await _agent_reply(ctx, name)
    return await _team_reply(ctx)
