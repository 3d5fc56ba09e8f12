"""The answer shared by the metric commands: number, change vs the previous period, window, n."""

from __future__ import annotations

import asyncio

from analytics import metrics
from analytics.metrics import FILTER_KEYS, METRICS, Metric, MetricError, MetricResult
from handlers import charting
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
    window_line,
)

_COLUMN_TO_CN = {v: k for k, v in FILTER_KEYS.items()}


def _detail_lines(metric: Metric, r: MetricResult) -> list[str]:
    p = r.parts
    if metric.key == "csat":
        return [f"参评 {fmt_int(p['rated'])} / 会话 {fmt_int(p['conversations'])}（参评率 {fmt_pct(p['participation'])}）"]
    if metric.key == "frt":
        return [f"中位数 {fmt_seconds(p['median'])} · P90 {fmt_seconds(p['p90'])}",
                f"30秒应答率 {fmt_pct(p['within_30s'])}（n={fmt_int(r.n)} 个有首响的会话）"]
    if metric.key == "resolution":
        return [f"已解决 {fmt_int(p['resolved'])} / 已标注 {fmt_int(p['known'])}（会话 {fmt_int(p['conversations'])}）"]
    if metric.key == "complaints":
        lines = []
        if p.get("per_mille") is not None:
            lines.append(f"投诉率 {p['per_mille']:.1f}‰（同期会话 {fmt_int(p['conversations'])}）")
        lines += _top_lines(r)
        return lines
    if metric.key == "return_rate":
        return [f"退货 {fmt_int(p['returns'])} / 订单 {fmt_int(p['orders'])}", *_top_lines(r)]
    if metric.key == "repurchase":
        return [f"复购客户 {fmt_int(p['repeat_customers'])} / 下单客户 {fmt_int(p['customers'])}"]
    if metric.key == "bad_reviews":
        return [f"差评 {fmt_int(p['bad'])} / 评价 {fmt_int(p['reviews'])}", *_top_lines(r)]
    if metric.key == "sales":
        return [f"订单 {fmt_int(p['orders'])} · 客单价 {fmt_money(p['aov'])}"]
    if metric.key == "sentiment":
        return [f"负面消息占比 {fmt_pct(p['negative_share'])}（{fmt_int(p['negative'])} / {fmt_int(p['messages'])} 条客户消息）"]
    return [f"n={fmt_int(r.n)}"]


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
    label = prev_label(ctx.window)
    if prev.n < metric.min_compare_n or prev.value is None:
        return f"{label}数据不足（n={fmt_int(prev.n)}），不作比较"
    return f"较{label} {fmt_change(metric, cur.value, prev.value)}"


def _explain(metric: Metric, ctx: CommandContext, cur: MetricResult, prev: MetricResult) -> Reply:
    w = ctx.window
    lines = [f"**{metric.name}（{metric.key}）怎么算**", metric.definition,
             f"时间窗：{w.describe()}（左闭右开，按本地时区）",
             f"筛选：{fmt_filters(ctx.filters)}",
             "本期：" + _parts_text(cur), f"对比期（{prev_label(w)}）：{w.prev_describe()}",
             "对比期：" + _parts_text(prev),
             "规则：进行中的周期（今天/本周/本月/今年）与上一周期的同一时段比较；完整周期与上一个等长周期比较。"]
    return Reply("\n".join(lines), title=f"{metric.name} 说明")


def _parts_text(r: MetricResult) -> str:
    items = [f"n={fmt_int(r.n)}"]
    for k, v in r.parts.items():
        if isinstance(v, float):
            items.append(f"{k}={v:.4g}")
        else:
            items.append(f"{k}={'—' if v is None else v}")
    return ", ".join(items)


async def answer_metric(ctx: CommandContext, key: str) -> Reply:
    """Compute metric ``key`` for the context's window and filters, with the comparison."""
    metric = METRICS[key]
    window = ctx.window
    engine = ctx.services.engine
    try:
        cur, prev = await asyncio.to_thread(_both, engine, key, window, ctx.filters)
    except MetricError as exc:
        cn = _COLUMN_TO_CN.get(str(exc), str(exc))
        allowed = "、".join(_COLUMN_TO_CN[f] for f in metric.filters) or "无"
        raise CommandError(f"{metric.name}不支持按「{cn}」筛选（可用筛选：{allowed}）。") from None
    if ctx.explain:
        return _explain(metric, ctx, cur, prev)
    if cur.n == 0 and metric.key not in ("complaints", "conversations", "sales"):
        return Reply(f"{window_line(window, ctx.filters)}\n{_empty_text(metric)}，{metric.name}无法计算。",
                     title=metric.name)
    lines = [_headline(metric, cur), window_line(window, ctx.filters), *_detail_lines(metric, cur),
             _compare_line(metric, ctx, cur, prev)]
    chart = await charting.trend(ctx, metric)
    return Reply("\n".join(lines), title=f"{metric.name} · {window.phrase}", charts=[chart] if chart else [])


def _both(engine, key: str, window, filters: dict[str, str]) -> tuple[MetricResult, MetricResult]:  # noqa: ANN001
    cur = metrics.compute(engine, key, window.start, window.end, filters)
    prev = metrics.compute(engine, key, window.prev_start, window.prev_end, filters)
    return cur, prev
