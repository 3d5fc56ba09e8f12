"""/客服: the agent league table, or one agent's profile against the team."""

from __future__ import annotations

import asyncio

from analytics import breakdown, charts, metrics
from analytics.breakdown import AgentRow
from analytics.coverage import DataRange
from analytics.metrics import METRICS, MetricError
from handlers import data_notes
from handlers.base import Chart, CommandContext, CommandError, CommandSpec, Reply
from handlers.charting import chart_path, subtitle
from handlers.format import (
    fmt_change,
    fmt_int,
    fmt_pct,
    fmt_seconds,
    fmt_value,
    prev_label,
    shown_change,
    unknown_value,
    window_line,
)

SPEC = CommandSpec(
    name="客服",
    aliases=("agents", "agent", "坐席", "客服排行", "排行"),
    usage="/客服 [姓名] [时间] [渠道=… 店铺=…]",
    help="客服排行（按满意度，样本太少不排名）；带姓名看个人与团队对比",
    default_period="本周",
    filters=("渠道", "店铺", "客服"),  # 客服=小王 is the name, like /客服 小王
    sensitive=True,
    free_args=True,
    examples=("/客服 本周", "/客服 小王 本月", "/客服 上周 渠道=淘宝"),
)


def _line(rank: str, r: AgentRow) -> str:
    return (f"{rank}{r.agent} 满意度 {fmt_pct(r.csat)}（n={r.rated}）· 首响 {fmt_seconds(r.frt_mean)}"
            f" · 解决率 {fmt_pct(r.resolution, 0)}（n={r.known}）· 会话 {fmt_int(r.conversations)} 个"
            f" · 投诉 {fmt_int(r.complaints)} 件")


def _team(rows: list[AgentRow]) -> AgentRow:
    return AgentRow("团队", *(sum(getattr(r, f) for r in rows) for f in
                              ("conversations", "rated", "good", "frt_n", "frt_sum", "known", "resolved", "complaints")))


async def _league(ctx: CommandContext, rows: list[AgentRow], rng: DataRange) -> Reply:
    min_n = ctx.services.min_agent_n
    ranked = sorted((r for r in rows if r.rated >= min_n), key=lambda r: (-(r.csat or 0), -r.rated, r.agent))
    thin = sorted((r for r in rows if r.rated < min_n), key=lambda r: -r.rated)
    lines = [f"**客服排行 · {ctx.window.phrase}**（按满意度；参评 ≥ {min_n} 才排名）",
             window_line(ctx.window, ctx.filters), *data_notes.card_lines(ctx.window, rng, ctx.now)]
    lines += [_line(f"{i}. ", r) for i, r in enumerate(ranked, 1)]
    if thin:
        lines.append("样本不足不排名：" + "、".join(f"{r.agent}（参评 {r.rated}）" for r in thin))
    team = _team(rows)
    lines.append(f"团队：满意度 {fmt_pct(team.csat)}（n={team.rated}）· 首响 {fmt_seconds(team.frt_mean)}"
                 f" · 解决率 {fmt_pct(team.resolution, 0)} · 会话 {fmt_int(team.conversations)} 个")
    chart_list: list[Chart] = []
    if ranked:
        path = await charts.render(
            charts.bar_chart, [r.agent for r in ranked], [r.csat * 100 for r in ranked], title="客服满意度排行",
            unit="%", path=chart_path(ctx, "agents"), counts=[r.rated for r in ranked], subtitle=subtitle(ctx))
        chart_list.append(Chart(path, f"客服满意度排行 {ctx.window.phrase}"))
    return Reply("\n".join(lines), title=f"客服排行 · {ctx.window.phrase}", charts=chart_list)


#: How an agent compares with the team, by the metric's good direction: (better, worse).
_VS_WORDS = {"csat": ("优于团队", "不如团队"), "frt": ("快于团队", "慢于团队"), "resolution": ("优于团队", "不如团队")}


def _vs(key: str, value: float | None, team: float | None, n: str = "") -> str:
    """``81.3 秒（团队 50.1 秒，慢于团队）``: the word follows the metric's direction (首响: lower is
    better), judged on the numbers as printed, so two equal prints read 与团队持平. ``n`` (参评 34 个)
    goes inside the same parentheses, so a line never carries two in a row."""
    metric = METRICS[key]
    tail = f"；{n}" if n else ""
    if value is None or team is None:
        return fmt_value(metric, value) + (f"（{n}）" if n else "")
    team_text, me_text, _p, delta, _size = shown_change(metric, value, team)
    if delta == 0:
        word = "与团队持平"
    else:
        better, worse = _VS_WORDS[key]
        word = better if (delta > 0) == metric.higher_is_better else worse
    return f"{me_text}（团队 {team_text}，{word}{tail}）"


def _profile(ctx: CommandContext, name: str, rows: list[AgentRow], prev_rows: list[AgentRow],
             rng: DataRange) -> Reply:
    me = next(r for r in rows if r.agent == name)
    team = _team(rows)
    prev = next((r for r in prev_rows if r.agent == name), None)
    filters = {**ctx.filters, "agent": name}
    min_n, label = ctx.services.min_agent_n, prev_label(ctx.window)
    lines = [f"**{name} · {ctx.window.phrase}**", window_line(ctx.window, filters),
             *data_notes.card_lines(ctx.window, rng, ctx.now),
             f"满意度 {_vs('csat', me.csat, team.csat, f'参评 {fmt_int(me.rated)} 个')}",
             f"首响均值 {_vs('frt', me.frt_mean, team.frt_mean)}",
             f"解决率 {_vs('resolution', me.resolution, team.resolution, f'已标注 {fmt_int(me.known)} 个')}",
             f"会话 {fmt_int(me.conversations)} 个（占团队 "
             f"{fmt_pct(me.conversations / team.conversations if team.conversations else None)}）"
             f" · 关联投诉 {fmt_int(me.complaints)} 件"]
    if me.rated < min_n:
        lines.append(f"注意：参评 {me.rated} 个，不足 {min_n} 个，满意度波动大，仅供参考。")
    prev_rated = prev.rated if prev else 0
    if me.csat is not None and (prev is None or prev.csat is None or prev_rated < min_n):
        lines.append(f"{label}参评 {prev_rated} 个，不足 {min_n} 个（客服排名的最少参评数），满意度不作比较。")
    elif me.csat is not None:
        lines.append(f"满意度较{label} {fmt_change(METRICS['csat'], me.csat, prev.csat)}")
    return Reply("\n".join(lines), title=f"客服 {name}")


async def handle(ctx: CommandContext) -> Reply:
    engine, w = ctx.services.engine, ctx.window
    name = ctx.filters.pop("agent", None) or (ctx.args[0] if ctx.args else None)
    try:
        rows, prev_rows, rng = await asyncio.to_thread(
            lambda: (breakdown.by_agent(engine, w.start, w.end, ctx.filters),
                     breakdown.by_agent(engine, w.prev_start, w.prev_end, ctx.filters),
                     data_notes.read_range(engine, "conversations")))
    except MetricError:
        raise CommandError("/客服 只支持 渠道= 和 店铺= 筛选。") from None
    if name is None:
        if not rows:
            return Reply(f"{window_line(w, ctx.filters)}\n这段时间没有会话。", title="客服排行")
        return await _league(ctx, rows, rng)
    if name not in {r.agent for r in rows}:
        known = await asyncio.to_thread(metrics.distinct_values, engine, "agent")
        if name in known:
            return Reply(f"{window_line(w, {**ctx.filters, 'agent': name})}\n{name} 这段时间没有会话。", title=f"客服 {name}")
        raise CommandError(unknown_value("agent", name, known))
    return _profile(ctx, name, rows, prev_rows, rng)
