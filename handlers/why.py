"""/为什么: why a metric changed — the total change, then up to three drivers with the command to drill in.

The decomposition is analytics.explain (symmetric Kitagawa per dimension, noise tests, one story told
once); this module words it and draws the waterfall. Per-agent drivers appear only where per-agent
figures may be shown — a 1:1 chat or a chat in ``[access] sensitive_chats``, the rule of /客服
(``services.extra["agents_visible"]``, set by the bot). Elsewhere the command still answers, with the agent dimension left out of the
decomposition (not merely hidden, so a channel is never dropped in favour of an agent nobody sees), and
says so in one line.
"""

from __future__ import annotations

import asyncio

from analytics import charts, explain, metrics
from analytics.explain import Explanation, Part, WhyMetric
from handlers.base import Chart, CommandContext, CommandError, CommandSpec, Reply
from handlers.charting import chart_path
from handlers.format import prev_label

SPEC = CommandSpec(
    name="为什么",
    aliases=("why", "为啥", "为何"),
    usage="/为什么 <指标> [时间]",
    help="解释指标为什么变了：哪个渠道/店铺/客服/商品/类别带来的，是占比变化还是自身变化",
    default_period="本周",
    filters=(),
    free_args=True,
    examples=("/为什么 满意度 本周", "为什么满意度下降了", "/why 首响 本月", "/为什么 投诉 上周"),
)

_DIM_CN = {"channel": "渠道", "shop": "店铺", "agent": "客服", "product": "商品", "category": "类别"}
_FILTER_CN = {"channel": "渠道", "shop": "店铺", "agent": "客服", "product": "商品", "category": "类别"}
_NAMES = "满意度、解决率、首响、30秒应答率、投诉率、投诉、退货率、差评率、会话量、情感、复购率"
MINUS = "−"


def level(metric: WhyMetric, x: float | None) -> str:
    """A value of the metric (or of a segment) in its unit."""
    if x is None:
        return "—"
    if metric.unit == "%":
        return f"{x * 100:.1f}%"
    if metric.unit == "‰":
        return f"{x:.2f}‰"
    if metric.unit == "秒":
        return f"{x:.1f} 秒"
    if metric.unit == "分":
        return f"{x:.3f}"
    return f"{x:,.0f}"


def delta(metric: WhyMetric, x: float) -> str:
    """A change in the metric's unit, signed: −3.1 点, +22 秒, +0.40‰, +600 件."""
    if metric.unit == "%":
        text = f"{x * 100:+.1f} 点"
    elif metric.unit == "‰":
        text = f"{x:+.2f}‰"
    elif metric.unit == "秒":
        text = f"{x:+.0f} 秒" if abs(x) >= 10 else f"{x:+.1f} 秒"
    elif metric.unit == "分":
        text = f"{x:+.3f}"
    else:
        text = f"{x:+,.0f} {metric.unit}"
    return text.replace("-", MINUS)


def shown_delta(metric: WhyMetric, before: float, after: float) -> str:
    """``after − before`` as the difference of the two values as :func:`level` prints them, with their
    digits: 82.0% → 84.7% is +2.7 点 even when the unrounded values differ by 2.66."""
    def printed(x: float) -> float:
        return float(level(metric, x).rstrip("%‰ 秒").replace(",", ""))

    d = printed(after) - printed(before)
    if metric.unit == "%":
        text = f"{d:+.1f} 点"
    elif metric.unit == "‰":
        text = f"{d:+.2f}‰"
    elif metric.unit == "秒":
        text = f"{d:+.1f} 秒"
    elif metric.unit == "分":
        text = f"{d:+.3f}"
    else:
        text = f"{d:+,.0f} {metric.unit}"
    return text.replace("-", MINUS)


def segment(p: Part) -> str:
    return f"{p.value or '（未填）'} {_DIM_CN[p.dimension]}"


def driver_line(metric: WhyMetric, p: Part) -> str:
    """E.g. ``抖音 渠道：自身变化 −12.5 点（88.0% → 75.5%），贡献 −3.1 点``."""
    if p.kind == "mix":
        what = f"占比变化 {(p.before or 0) * 100:.1f}% → {(p.after or 0) * 100:.1f}%"
    elif metric.form == "count":
        what = f"自身变化 {level(metric, p.before)} → {level(metric, p.after)} {metric.unit}"
    else:
        own = shown_delta(metric, p.before, p.after) if None not in (p.before, p.after) else "—"
        what = f"自身变化 {own}（{level(metric, p.before)} → {level(metric, p.after)}）"
    return f"{segment(p)}：{what}，贡献 {delta(metric, p.contribution)}"


def drill(metric: WhyMetric, p: Part, phrase: str) -> str | None:
    """The command that shows the driver's segment (`/满意度 本周 渠道=抖音`)."""
    if not p.value:
        return None  # an empty value cannot be typed as a filter
    return f"/{metric.command} {phrase} {_FILTER_CN[p.dimension]}={p.value}"


def answer_lines(ctx: CommandContext, metric: WhyMetric, ex: Explanation, agents: bool) -> list[str]:
    w = ctx.window
    phrase = ctx.period_phrase or w.phrase
    lines = [f"本期 {w.describe()}，对比{prev_label(w)} {w.prev_describe().split(' ', 1)[-1]}"]
    change = ex.change
    if change is None:
        lines.append(ex.reason or f"两段时间里至少有一段没有{metric.name}的数据，无法比较。")
        return lines
    total = (shown_delta(metric, ex.before, ex.after) if None not in (ex.before, ex.after)
             else delta(metric, change))
    lines.append(f"{metric.name} {level(metric, ex.before)} → {level(metric, ex.after)}，变化 {total}"
                 f"（{_n_text(metric, ex)}）")
    if ex.reason:
        lines.append(ex.reason)
        return lines
    if ex.noise:
        lines.append(f"在正常波动范围内（z = {_z(ex.z)}，|z| < 1.96），没有突出的原因。")
    elif not ex.drivers:
        lines.append(f"变化超出了正常波动（z = {_z(ex.z)}），但分散在各个"
                     + "、".join(_DIM_CN[d] for d in ex.parts) + "之间，没有单个突出的原因。")
    else:
        lines.append("主要原因：")
        for i, p in enumerate(ex.drivers, 1):
            lines.append(f"{i}. {driver_line(metric, p)}")
            command = drill(metric, p, phrase)
            if command:
                lines.append(f"   细看：{command}")
        told = sum(p.contribution for p in ex.drivers)
        if abs(change - told) >= 0.5 * abs(change):  # the drivers leave most of it unexplained: say so
            lines.append(f"其余约 {delta(metric, change - told)} 没有单个突出的原因（普遍变化，或分散在许多小的部分里）。")
    if "agent" in metric.dims and not agents:
        lines.append("按客服的原因只在单聊或指定的群里显示。")
    lines.append("口径：每个维度把变化精确拆成 占比变化 + 自身变化（对称 Kitagawa 分解，无交互项），各部分相加等于总变化。")
    return lines


def _z(z: float) -> str:
    return f"{z:.2f}".replace("-", MINUS)


def _n_text(metric: WhyMetric, ex: Explanation) -> str:
    if metric.form == "count":
        return f"z = {_z(ex.z)}"
    label = {"csat": "参评", "resolution": "已标注", "frt": "有首响", "frt_30s": "有首响", "complaint_rate": "会话",
             "return_rate": "订单", "bad_reviews": "评价", "sentiment": "消息", "repurchase": "下单客户"}.get(metric.key, "n")
    return f"{label} {ex.n_before:,.0f} → {ex.n_after:,.0f}"


def waterfall_steps(metric: WhyMetric, ex: Explanation, limit: int = 5) -> tuple[str, list[tuple[str, float]]]:
    """The leading driver's dimension as waterfall steps: its largest parts, the rest as 其他 (exact sum)."""
    dim = ex.drivers[0].dimension
    parts = []
    for s in ex.parts[dim]:
        name = s.value or "未填"
        if abs(s.rate) > 1e-12:
            parts.append((name if metric.form == "count" else f"{name}·自身", s.rate))
        if abs(s.mix) > 1e-12:
            parts.append((f"{name}·占比", s.mix))
    parts.sort(key=lambda item: -abs(item[1]))
    shown, rest = parts[:limit], parts[limit:]
    if rest:
        shown.append(("其他", sum(v for _, v in rest)))
    return dim, shown


async def _chart(ctx: CommandContext, metric: WhyMetric, ex: Explanation) -> Chart | None:
    if ex.noise or not ex.drivers or ex.before is None or ex.after is None:
        return None
    dim, steps = waterfall_steps(metric, ex)
    scale = 100.0 if metric.unit == "%" else 1.0
    unit = {"%": "点", "件": ""}.get(metric.unit, metric.unit)
    title = f"{metric.name}变化分解（按{_DIM_CN[dim]}）"
    w = ctx.window
    value_format = {"%": "{:.1f}", "‰": "{:.2f}", "分": "{:.3f}", "件": "{:,.0f}"}.get(metric.unit, "{:.1f}")
    step_format = {"%": "{:+.1f}", "‰": "{:+.2f}", "分": "{:+.3f}", "件": "{:+,.0f}"}.get(metric.unit, "{:+.1f}")
    path = await charts.render(
        charts.waterfall_chart, (prev_label(w), ex.before * scale), [(k, v * scale) for k, v in steps],
        (w.phrase, ex.after * scale), title=title, unit="%" if metric.unit == "%" else unit,
        path=chart_path(ctx, f"why-{metric.key}"), subtitle=f"{w.describe()} 对比 {prev_label(w)}",
        higher_is_better=metric.higher_is_better, value_format=value_format,
        step_format=step_format, step_unit=" 点" if metric.unit == "%" else None)
    return Chart(path, title)


def agents_visible(ctx: CommandContext) -> bool:
    """Per-agent figures may be shown in this chat: the bot's rule (``services.extra["agents_visible"]``, where
    /客服 may be used — 1:1 chats, ``[access] sensitive_chats``, no access policy), else 1:1 chats only."""
    rule = ctx.services.extra.get("agents_visible")
    return bool(rule(ctx)) if callable(rule) else ctx.is_private


def _pick_metric(ctx: CommandContext) -> WhyMetric:
    for text in (" ".join(ctx.args), ctx.raw_text):
        found = explain.find_why_metric(text) if text.strip() else None
        if found is not None:
            return found
    raise CommandError(f"想知道哪个指标为什么变了？例如 /为什么 满意度 本周。可选：{_NAMES}。")


async def handle(ctx: CommandContext) -> Reply:
    metric = _pick_metric(ctx)
    if ctx.filters:
        raise CommandError("/为什么 先看整体的变化，暂不支持筛选；想看某个渠道或客服内部，发 "
                           f"/{metric.command} {ctx.period_phrase or ''} 渠道=…".replace("  ", " "))
    agents = agents_visible(ctx)
    w = ctx.window
    ex = await asyncio.to_thread(explain.explain, ctx.services.engine, metric.key, w, agents=agents)
    if metric.form == "none":  # not decomposable: still say how much it moved
        cur, prev = await asyncio.to_thread(
            lambda: (metrics.compute(ctx.services.engine, metric.key, w.start, w.end),
                     metrics.compute(ctx.services.engine, metric.key, w.prev_start, w.prev_end)))
        ex.before, ex.after = prev.value, cur.value
        ex.n_before, ex.n_after = prev.n, cur.n
    lines = [f"**{metric.name}为什么{_verb(metric, ex)} · {w.phrase}**", *answer_lines(ctx, metric, ex, agents)]
    chart = await _chart(ctx, metric, ex)
    return Reply("\n".join(lines), title=f"为什么 · {metric.name}", charts=[chart] if chart else [])


def _verb(metric: WhyMetric, ex: Explanation) -> str:
    change = ex.change
    if change is None or abs(change) < 1e-12:
        return "没变" if change is not None else "变了"
    return "上升" if change > 0 else "下降"
