"""/销售: orders, amount and average order value, by channel and product — the product view."""

from __future__ import annotations

import asyncio

from analytics import breakdown, charts
from handlers.base import Chart, CommandContext, CommandSpec, Reply
from handlers.charting import chart_path, subtitle
from handlers.format import fmt_money, fmt_pct
from handlers.metric_reply import answer_metric, metric_filters

SPEC = CommandSpec(
    name="销售",
    aliases=("sales", "gmv", "销售额", "成交"),
    usage="/销售 [时间] [渠道=… 商品=…]",
    help="订单数、销售额、客单价，按渠道和商品拆分：哪些商品卖得好、退得多、差评多",
    default_period="本周",
    filters=metric_filters("sales"),
    examples=("/销售 本月", "/销售 昨天 渠道=淘宝", "/销售 本月 商品=羽绒服"),
)


def _product_lines(products: list[breakdown.ProductRow]) -> list[str]:
    lines = ["商品（销售额 · 单数 · 退货率 · 差评率 · 投诉）："]
    for p in products[:6]:
        lines.append(f"  {p.product} {fmt_money(p.amount)} · {p.orders} 单 · 退 {fmt_pct(p.return_rate)}"
                     f" · 差评 {fmt_pct(p.bad_rate)} · 投诉 {p.complaints}")
    worst = [p for p in products if p.orders >= 20 and p.return_rate is not None]
    if worst:
        top = max(worst, key=lambda p: p.return_rate)
        lines.append(f"退货率最高：{top.product} {fmt_pct(top.return_rate)}（退货 {top.returns} 单 / 订单 {top.orders} 单）")
    return lines


async def handle(ctx: CommandContext) -> Reply:
    reply = await answer_metric(ctx, "sales")
    if not reply.ok or ctx.explain:
        return reply
    engine, w = ctx.services.engine, ctx.window
    by_channel, products = await asyncio.to_thread(
        lambda: (breakdown.sales_by(engine, "channel", w.start, w.end, ctx.filters),
                 breakdown.product_view(engine, w.start, w.end, ctx.filters)))
    lines = [reply.text]
    if by_channel and "channel" not in ctx.filters:
        lines.append("渠道：" + " · ".join(f"{c} {fmt_money(a)}（{n} 单）" for c, n, a in by_channel))
    if products:
        lines += _product_lines(products)
    if products and "product" not in ctx.filters:
        top = [p for p in products if p.amount > 0][:8]
        if top:
            path = await charts.render(charts.bar_chart, [p.product for p in top], [p.amount for p in top],
                                       title="销售额 · 按商品", unit="¥", path=chart_path(ctx, "sales"),
                                       counts=[p.orders for p in top], subtitle=subtitle(ctx), value_format="{:,.0f}")
            reply.charts.insert(0, Chart(path, f"销售额按商品 {w.phrase}"))
    reply.text = "\n".join(lines)
    return reply
