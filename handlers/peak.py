"""/高峰: when customers come — conversations by weekday × hour, as a heatmap."""

from __future__ import annotations

import asyncio

from analytics import breakdown, charts
from analytics.charts import WEEKDAYS
from handlers.base import Chart, CommandContext, CommandSpec, Reply
from handlers.charting import chart_path, subtitle
from handlers.format import fmt_int, fmt_pct, window_line

SPEC = CommandSpec(
    name="高峰",
    aliases=("peak", "heatmap", "忙时", "高峰时段", "热力图"),
    usage="/高峰 [时间] [筛选]",
    help="会话量按星期×小时的热力图，找出忙时（默认近4周）",
    default_period="近4周",
    filters=("渠道", "客服", "店铺"),
    examples=("/高峰", "/高峰 上月 渠道=淘宝"),
)


async def handle(ctx: CommandContext) -> Reply:
    w = ctx.window
    matrix = await asyncio.to_thread(breakdown.weekday_hour_counts, ctx.services.engine, w.start, w.end,
                                     ctx.filters, ctx.services.tz)
    total = sum(map(sum, matrix))
    if total == 0:
        return Reply(f"{window_line(w, ctx.filters)}\n这段时间没有会话。", title="高峰")
    by_hour = [sum(matrix[d][h] for d in range(7)) for h in range(24)]
    by_day = [sum(row) for row in matrix]
    top_hours = sorted(range(24), key=lambda h: -by_hour[h])[:3]
    cells = sorted(((matrix[d][h], d, h) for d in range(7) for h in range(24)), reverse=True)[:3]
    lines = [f"**高峰时段：{'、'.join(f'{h}:00' for h in sorted(top_hours))}**",
             window_line(w, ctx.filters),
             f"这三个小时占全部会话 {fmt_pct(sum(by_hour[h] for h in top_hours) / total)}（共 {fmt_int(total)} 个会话）",
             f"最忙的一天：{WEEKDAYS[by_day.index(max(by_day))]}（{fmt_int(max(by_day))}），"
             f"最闲：{WEEKDAYS[by_day.index(min(by_day))]}（{fmt_int(min(by_day))}）",
             "最忙的格子：" + "，".join(f"{WEEKDAYS[d]} {h}:00（{n}）" for n, d, h in cells)]
    path = await charts.render(charts.heatmap, matrix, title="会话量 · 星期×小时", path=chart_path(ctx, "peak"),
                               subtitle=subtitle(ctx))
    return Reply("\n".join(lines), title="高峰", charts=[Chart(path, f"会话热力图 {w.phrase}")])
