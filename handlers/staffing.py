"""/排班 明天|下周: conversations forecast per hour, the agents each hour needs (Erlang C), the roster beside it.

The plan is :func:`analytics.staffing.build` (in a thread); this module words it — every hour for one day,
a line per day for a week — and draws the days × hours heatmap of agents needed in the chart pool.
Settings come from ``[staffing]`` as plain data (``services.extra["staffing_config"]``, set by the bot).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from analytics import charts, staffing
from analytics.charts import WEEKDAYS
from analytics.staffing import HourPlan, Params, Plan, StaffingError
from handlers.base import Chart, CommandContext, CommandError, CommandSpec, Reply, Services
from handlers.charting import chart_path
from handlers.format import fmt_int

SPEC = CommandSpec(
    name="排班",
    aliases=("staffing", "人力", "排班预测", "人手"),
    usage="/排班 明天|后天|下周|未来N天",
    help="预测接下来每小时的会话量，按服务水平（默认 80% 会话 30 秒内接起）算出需要几名客服，对照已导入的排班表",
    group="排班",
    takes_period=False,
    filters=(),
    examples=("/排班 明天", "/排班 下周", "/排班 未来3天"),
)

_SOURCE = {"measured": "最近7天实测", "configured": "配置"}


def params_of(ctx: CommandContext) -> Params:
    return Params.from_config(ctx.services.extra.get("staffing_config"))


async def handle(ctx: CommandContext) -> Reply:
    services = ctx.services
    params = params_of(ctx)
    try:
        first, n_days, label = staffing.horizon(" ".join(ctx.args), ctx.now, services.tz)
        plan = await asyncio.to_thread(staffing.build, services.engine, ctx.now, first, n_days, params, services.tz)
    except StaffingError as exc:
        raise CommandError(str(exc)) from None
    lines = plan_text(plan, label)
    matrix, rows, title = chart_data(plan)
    path = await charts.render(charts.heatmap, matrix, title=title, path=chart_path(ctx, "staffing"),
                               subtitle=f"{label} · {target_line(plan)}", row_labels=rows)
    return Reply("\n".join(lines), title="排班", charts=[Chart(path, f"排班热力图 {label}")])


def chart_data(plan: Plan) -> tuple[list[list[float]], list[str], str]:
    """Days × hours of agents needed; one day with a roster: the needed row over the scheduled row."""
    days = plan.day_rows()
    if len(days) == 1 and plan.has_roster:
        day = days[0]
        return ([[h.needed for h in day], [round(h.scheduled or 0, 1) for h in day]],
                [f"{day_label(day)} 需要", "已排班"], "需要 vs 已排班的客服人数 · 小时")
    return [[h.needed for h in day] for day in days], day_labels(plan), "需要的客服人数 · 日期×小时"


def day_label(day_hours: list[HourPlan]) -> str:
    start = day_hours[0].start
    return f"{start:%m-%d} {WEEKDAYS[start.weekday()]}"


def day_labels(plan: Plan) -> list[str]:
    return [day_label(day) for day in plan.day_rows()]


def target_line(plan: Plan) -> str:
    return f"{plan.params.service_level * 100:.0f}% 会话 {plan.params.answer_seconds:.0f} 秒内接起"


def _people(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def _gap(h: HourPlan) -> str:
    gap = h.gap
    if gap is None:
        return ""
    if gap < -0.05:
        return f" · 排班 {_people(h.scheduled or 0)} 人，**缺 {_people(-gap)} 人**"
    if gap > 0.05:
        return f" · 排班 {_people(h.scheduled or 0)} 人，多 {_people(gap)} 人"
    return f" · 排班 {_people(h.scheduled or 0)} 人，刚好"


def basis_lines(plan: Plan) -> list[str]:
    m = plan.measured
    lines = [f"目标：{target_line(plan)}；每个会话占用客服 {m.handle_seconds:.0f} 秒（{_SOURCE[m.handle_source]}），"
             f"每人同时接待 {m.concurrency:.1f} 个会话（{_SOURCE[m.concurrency_source]}）",
             f"预测：近 {plan.params.history_weeks} 周同星期同时段的会话量（去掉最高最低）× 近两周水平 "
             f"{plan.level:.2f}"]
    events = sorted({(h.start.date(), h.event) for h in plan.hours if h.event})
    for day, name in events:
        event = plan.params.event_on(day)
        lines.append(f"{day:%m-%d} {name}：按配置 ×{event.factor:g}" if event else f"{day:%m-%d} {name}")
    return lines + plan.notes


def _summary(day: list[HourPlan], roster: bool = False) -> str:
    peak = max(day, key=lambda h: (h.needed, h.forecast))
    total = sum(h.forecast for h in day)
    hours_needed = sum(h.needed for h in day)
    text = (f"{day_label(day)}：会话约 {fmt_int(total)} 个，高峰 {peak.start:%H}时 需 {peak.needed} 人，"
            f"共需 {hours_needed} 人·小时")
    if day[0].scheduled is not None:
        scheduled = sum(h.scheduled or 0 for h in day)
        short = sum(1 for h in day if (h.gap or 0) < -0.05)
        text += f"，排班 {_people(scheduled)} 人·小时" + (f"，{short} 个小时缺人" if short else "，每小时都够")
    elif roster:
        text += "，未导入当天的排班"
    return text + (f"（{day[0].event}）" if day[0].event else "")


def plan_text(plan: Plan, label: str) -> list[str]:
    days = plan.day_rows()
    peak = max(plan.hours, key=lambda h: (h.needed, h.forecast))
    head = (f"**排班 {label}：最多需要 {peak.needed} 名客服，会话高峰 {day_label_of(peak)} {peak.start:%H}时"
            f"（约 {fmt_int(peak.forecast)} 个）**")
    lines = [head, *basis_lines(plan)]
    if not plan.has_roster:
        lines.append("（没有导入这段时间的排班表，只列需要的人数；导入：csbot import roster 排班.csv）")
    if len(days) == 1:
        lines.append(_summary(days[0], plan.has_roster))
        lines += [f"{h.start:%H}时  预测 {fmt_int(h.forecast)} 个 · 需 {h.needed} 人{_gap(h)}"
                  for h in days[0] if h.forecast >= 0.5 or h.needed or (h.scheduled or 0) > 0]
    else:
        lines += [_summary(day, plan.has_roster) for day in days]
        short = sorted((h for h in plan.hours if (h.gap or 0) < -0.05), key=lambda h: h.gap or 0)[:5]
        if short:
            lines.append("缺人最多的时段：" + "，".join(f"{day_label_of(h)} {h.start:%H}时 缺 {_people(-(h.gap or 0))} 人"
                                                    for h in short))
    return lines


def day_label_of(h: HourPlan) -> str:
    return f"{h.start:%m-%d} {WEEKDAYS[h.start.weekday()]}"


async def staffing_section(services: Services, now: datetime, first: date) -> list[str]:
    """The 周报's opt-in 排班 block: one line per day of the week from ``first`` (from today when it has
    begun), or one line saying why there is none."""
    today = now.astimezone(services.tz).date()
    start = max(first, today)
    n_days = (first + timedelta(days=7) - start).days
    if n_days <= 0:
        return []  # that week is over: a plan for the past is no plan
    params = Params.from_config(services.extra.get("staffing_config"))
    try:
        plan = await asyncio.to_thread(staffing.build, services.engine, now, start, n_days, params, services.tz)
    except StaffingError as exc:
        return [f"排班：{exc}"]
    lines = [f"**排班 · {start:%m-%d} 起 {n_days} 天（{target_line(plan)}）**", *[_summary(d, plan.has_roster) for d in plan.day_rows()]]
    return lines + ([] if plan.has_roster else ["（未导入这几天的排班表；/排班 下周 查看每小时）"])
