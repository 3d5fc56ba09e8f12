"""The answer shared by the metric commands: number, change vs the previous period, window, n."""

from __future__ import annotations

import asyncio

from analytics import metrics
from analytics.metrics import FILTER_KEYS, METRICS, Metric, MetricError, MetricResult
from handlers import charting, data_notes
from handlers.base import CommandContext, CommandError, Reply
from handlers.format import (
    fmt_change,
    fmt_filters,
    fmt_int,
    fmt_money,
    fmt_pct,
    fmt_seconds,
    fmt_value,
    prev_label,
    too_few_to_compare,
    unsupported_filter,
    window_line,
)

_COLUMN_TO_CN = {v: k for k, v in FILTER_KEYS.items()}


def metric_filters(key: str) -> tuple[str, ...]:
    """A metric command's ``CommandSpec.filters``: exactly the filters the metric can apply, so the
    router refuses the others in words and help lists no filter the answer would not honour."""
    return tuple(_COLUMN_TO_CN[c] for c in METRICS[key].filters)


def _detail_lines(metric: Metric, r: MetricResult, filters: dict[str, str]) -> list[str]:
    """The counts behind the headline, each with its measure word (个 会话, 单 订单, 条 评价, 位 客户)."""
    p = r.parts
    if metric.key == "csat":
        return [f"参评 {fmt_int(p['rated'])} 个 / 会话 {fmt_int(p['conversations'])} 个"
                f"（参评率 {fmt_pct(p['participation'])}）"]
    if metric.key == "frt":
        return [f"中位数 {fmt_seconds(p['median'])} · P90 {fmt_seconds(p['p90'])}",
                f"30秒应答率 {fmt_pct(p['within_30s'])}（有首响的会话 {fmt_int(r.n)} 个）"]
    if metric.key == "resolution":
        return [f"已解决 {fmt_int(p['resolved'])} 个 / 已标注 {fmt_int(p['known'])} 个"
                f"（会话 {fmt_int(p['conversations'])} 个）"]
    if metric.key == "complaints":
        return [_per_mille_line(p, filters), *_top_lines(r)]
    if metric.key == "return_rate":
        return [f"退货 {fmt_int(p['returns'])} 单 / 订单 {fmt_int(p['orders'])} 单", *_top_lines(r)]
    if metric.key == "repurchase":
        return [f"复购客户 {fmt_int(p['repeat_customers'])} 位 / 下单客户 {fmt_int(p['customers'])} 位"]
    if metric.key == "bad_reviews":
        return [f"差评 {fmt_int(p['bad'])} 条 / 评价 {fmt_int(p['reviews'])} 条", *_top_lines(r)]
    if metric.key == "sales":
        return [f"订单 {fmt_int(p['orders'])} 单 · 客单价 {fmt_money(p['aov'])}"]
    if metric.key == "sentiment":
        return [f"负面消息占比 {fmt_pct(p['negative_share'])}"
                f"（负面 {fmt_int(p['negative'])} 条 / 客户消息 {fmt_int(p['messages'])} 条）"]
    return []


def _per_mille_line(p: dict, filters: dict[str, str]) -> str:
    """投诉率, or why there is none: it is never dropped without a word."""
    if p.get("per_mille") is not None:
        return f"投诉率 {p['per_mille']:.1f}‰（同期会话 {fmt_int(p['conversations'])} 个）"
    if p.get("conversations") is None:  # filtered by 商品 or 类别: conversations carry neither
        by = "、".join(cn for cn, col in (("商品", "product"), ("类别", "category")) if col in filters) or "商品"
        return f"投诉率：按{by}筛选时不计算（会话不区分{by}，没有同口径的会话数作分母）"
    return "投诉率：同期没有会话，无法计算"


_TOP_NAMES = {"category": "主要类别", "product": "主要商品", "reason": "主要原因"}


def _top_lines(r: MetricResult) -> list[str]:
    lines = []
    for key, items in r.top.items():
        if items:
            lines.append(f"{_TOP_NAMES.get(key, key)}：" + " · ".join(f"{k} {v}" for k, v in items[:5]))
    return lines


def _headline(metric: Metric, r: MetricResult) -> str:
    if metric.key == "frt":
        return f"**首响均值 {fmt_seconds(r.value)}**"
    if metric.key == "sales":
        return f"**销售额 {fmt_money(r.value)}**"
    if metric.key == "sentiment":
        return f"**情感均分 {fmt_value(metric, r.value)}**"
    return f"**{metric.name} {fmt_value(metric, r.value)}**"


def _empty_text(metric: Metric) -> str:
    return {
        "csat": "没有有评分的会话", "frt": "没有有首响时间的会话", "resolution": "没有标注是否解决的会话",
        "return_rate": "没有订单", "repurchase": "没有下单客户", "bad_reviews": "没有评价", "sentiment": "没有已打分的客户消息",
    }.get(metric.key, "没有数据")


def _compare_line(metric: Metric, ctx: CommandContext, cur: MetricResult, prev: MetricResult) -> str:
    """The change vs the comparison window. Counts and sums compare with any previous value, zero
    included; a rate or mean is not compared when the previous n is below the metric's minimum, and
    the line says so with the rule."""
    label = prev_label(ctx.window)
    if prev.value is None or prev.n < metric.min_compare_n:
        return too_few_to_compare(metric, label, prev.n)
    if cur.value is None:
        return f"本期没有数据，不与{label}比较"
    return f"较{label} {fmt_change(metric, cur.value, prev.value)}"


def _explain(metric: Metric, ctx: CommandContext, cur: MetricResult, prev: MetricResult) -> Reply:
    w = ctx.window
    label = prev_label(w)
    if metric.min_compare_n:
        rule = (f"{label}{metric.n_label}不足 {metric.min_compare_n} {metric.n_unit}时不作比较"
                "（样本太少，比率和均值会大起大落）。")
    else:
        rule = f"{metric.name}是计数或金额合计，{label}为 0 也照常比较（0 → 10 即增加 10）。"
    lines = [f"**{metric.name}怎么算**", metric.definition,
             f"时间窗：{w.describe()}（含开始、不含结束，按本地时区）",
             f"筛选：{fmt_filters(ctx.filters)}",
             "本期：" + parts_text(metric, cur),
             f"对比期：{w.prev_describe()}",
             f"{label}：" + parts_text(metric, prev),
             "对比规则：进行中的周期（今天/本周/本月/今年）与上一周期的同一时段比较；完整周期与上一个等长周期比较；"
             + rule]
    return Reply("\n".join(lines), title=f"{metric.name} 说明")


#: Every part a metric reports, as it is called in Chinese and the unit it is printed in.
PART_NAMES: dict[str, tuple[str, str]] = {
    "conversations": ("会话", "个"), "rated": ("参评", "个"), "good": ("好评（≥4 分）", "个"),
    "participation": ("参评率", "%"), "median": ("中位数", "秒"), "p90": ("P90", "秒"),
    "within_30s": ("30秒应答率", "%"), "known": ("已标注", "个"), "resolved": ("已解决", "个"),
    "per_mille": ("投诉率", "‰"), "returns": ("退货", "单"), "orders": ("订单", "单"),
    "customers": ("下单客户", "位"), "repeat_customers": ("复购客户（≥2 单）", "位"),
    "reviews": ("评价", "条"), "bad": ("差评（≤2 分）", "条"), "amount": ("销售额", "¥"), "aov": ("客单价", "¥"),
    "messages": ("客户消息", "条"), "negative": ("负面消息", "条"), "negative_share": ("负面占比", "%"),
}


def _part(name: str, unit: str, value: float | int | None) -> str:
    if value is None:
        return f"{name} —"
    if unit == "%":
        return f"{name} {fmt_pct(value)}"
    if unit == "秒":
        return f"{name} {fmt_seconds(value)}"
    if unit == "¥":
        return f"{name} {fmt_money(value)}"
    if unit == "‰":
        return f"{name} {value:.1f}‰"
    return f"{name} {fmt_int(value)} {unit}"


def parts_text(metric: Metric, r: MetricResult) -> str:
    """One window's numbers in words: ``满意度 84.1% · 参评 1,165 个 · 好评（≥4 分）980 个 · …``."""
    head = _headline(metric, r).strip("*")
    items = [head]
    shown = {head.split(" ")[0]}  # 销售额 is the headline and a part
    if metric.key not in ("conversations", "complaints"):  # their n is the headline
        items.append(f"{metric.n_label} {fmt_int(r.n)} {metric.n_unit}")
        shown.add(metric.n_label)  # 参评 is n and a part
    for key, value in r.parts.items():
        name, unit = PART_NAMES.get(key, (key, ""))
        if name in shown:
            continue
        shown.add(name)
        items.append(_part(name, unit, value))
    return " · ".join(items)


async def answer_metric(ctx: CommandContext, key: str) -> Reply:
    """Compute metric ``key`` for the context's window and filters, with the comparison."""
    metric = METRICS[key]
    window = ctx.window
    engine = ctx.services.engine
    try:
        cur, prev, rng = await asyncio.to_thread(_both, engine, key, window, ctx.filters)
    except MetricError as exc:
        allowed = [_COLUMN_TO_CN[f] for f in metric.filters]
        raise CommandError(unsupported_filter(metric.name, str(exc), allowed)) from None
    if ctx.explain:
        return _explain(metric, ctx, cur, prev)
    notes = data_notes.for_window(metric, window, rng, ctx.now)
    if notes.no_data:  # before the first row or after the last: no data, not a zero
        return Reply(f"{window_line(window, ctx.filters)}\n{notes.no_data}", title=metric.name)
    if cur.n == 0 and metric.key not in ("complaints", "conversations", "sales"):
        return Reply(f"{window_line(window, ctx.filters)}\n{_empty_text(metric)}，{metric.name}无法计算。",
                     title=metric.name)
    lines = [_headline(metric, cur), window_line(window, ctx.filters), *notes.window,
             *_detail_lines(metric, cur, ctx.filters), notes.compare or _compare_line(metric, ctx, cur, prev),
             *notes.compare_extra]
    chart, why_not = await charting.trend(ctx, metric, rng)
    if why_not:  # a chart is never dropped or changed without a word
        lines.append(why_not)
    return Reply("\n".join(lines), title=f"{metric.name} · {window.phrase}", charts=[chart] if chart else [])


def _both(engine, key: str, window, filters: dict[str, str]):  # noqa: ANN001, ANN202
    """The window's and the comparison window's results, and the metric's data range."""
    cur = metrics.compute(engine, key, window.start, window.end, filters)
    prev = metrics.compute(engine, key, window.prev_start, window.prev_end, filters)
    return cur, prev, data_notes.read_range(engine, key)
