"""A staffing plan: forecast every hour of the coming days, size each hour with Erlang C, set the roster
beside it. :func:`build` is the one entry point (``/排班``, ``csbot staffing``, the 周报's section)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import Engine

from analytics.staffing import data, days
from analytics.staffing.erlang import staffing
from analytics.staffing.forecast import fit
from analytics.staffing.model import MIN_HISTORY_DAYS, HourPlan, Measured, Params, Plan, StaffingError


def measured(engine: Engine, now: datetime, params: Params) -> Measured:
    """Handle time and concurrency: configured values win, the rest measured from the last week."""
    if params.handle_seconds is not None and params.concurrency is not None:
        return Measured(params.handle_seconds, params.concurrency, "configured", "configured", 0)
    with engine.connect() as conn:
        seen = data.measure(conn, now)
    handle = params.handle_seconds if params.handle_seconds is not None else seen.handle_seconds
    if handle is None:
        raise StaffingError(f"最近 7 天有结束时间（ended_at）的会话只有 {seen.sample} 个，量不出平均处理时长；"
                            "请在配置 [staffing] handle_seconds 里填写（秒），或导入带 ended_at 的会话。")
    concurrency = params.concurrency if params.concurrency is not None else max(1.0, seen.concurrency or 1.0)
    return Measured(handle, concurrency, "configured" if params.handle_seconds is not None else "measured",
                    "configured" if params.concurrency is not None else "measured", seen.sample)


def build(engine: Engine, now: datetime, first_day: date, n_days: int, params: Params, tz: tzinfo) -> Plan:
    """The plan for ``n_days`` local days from ``first_day``, forecast from the history before ``now``."""
    with engine.connect() as conn:
        hist = data.history(conn, now, params.history_weeks, tz)
        if hist is None:
            raise StaffingError("会话的小时汇总还没建好（刚导入？），稍后再试；或运行 csbot rollups rebuild。")
        span = (hist.end[0] - hist.first_day).days
        if span < MIN_HISTORY_DAYS:
            raise StaffingError(f"历史数据只有 {max(span, 0)} 天，至少需要 {MIN_HISTORY_DAYS} 天的会话才能按星期×小时预测。")
        start = datetime.combine(first_day, datetime.min.time(), tzinfo=tz)
        end = start + timedelta(days=n_days)
        roster = data.scheduled(conn, start.astimezone(UTC), end.astimezone(UTC), tz)
    model = fit(hist, params)
    data_end = datetime.combine(hist.end[0], datetime.min.time(), tzinfo=tz) + timedelta(hours=hist.end[1])
    sizes = measured(engine, min(now, data_end + timedelta(hours=1)), params)  # the week the data has
    hours = []
    for day in data.days_from(first_day, n_days):
        event = params.event_on(day)
        for hour in range(24):
            f = model.predict(day, hour)
            need = staffing(f, sizes.handle_seconds, target=params.service_level, answer_seconds=params.answer_seconds,
                            concurrency=sizes.concurrency).agents
            sched = None if roster is None else roster.get((day, hour))
            hours.append(HourPlan(datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(hours=hour),
                                  f, need, sched, event.name or "活动" if event else None))
    plan = Plan(start, n_days, hours, sizes, model.level, model.days_used, params, roster is not None)
    if now - data_end > timedelta(days=1):
        plan.notes.append(f"会话数据只到 {data_end:%m-%d %H}:00，预测按那之前的历史。")
    unknown = sorted({d.year for d in data.days_from(first_day, n_days) if params.holidays and not days.known(d)})
    if unknown:
        plan.notes.append(f"{'、'.join(map(str, unknown))} 年的法定节假日安排还不在日历里（chinese-calendar 只到 "
                          f"{days.last_known_year()} 年），这些天按星期几预测。")
    return plan


def to_json(plan: Plan) -> dict:
    """The plan as one JSON-ready document (``csbot staffing --json``)."""
    m = plan.measured
    return {
        "start": plan.start.isoformat(), "days": plan.days,
        "target": {"service_level": plan.params.service_level, "answer_seconds": plan.params.answer_seconds},
        "handle_seconds": round(m.handle_seconds, 1), "handle_source": m.handle_source,
        "concurrency": round(m.concurrency, 2), "concurrency_source": m.concurrency_source,
        "level": round(plan.level, 3), "has_roster": plan.has_roster, "notes": plan.notes,
        "hours": [{"start": h.start.isoformat(), "forecast": round(h.forecast, 1), "needed": h.needed,
                   "scheduled": None if h.scheduled is None else round(h.scheduled, 2),
                   "gap": None if h.gap is None else round(h.gap, 2), "event": h.event} for h in plan.hours],
    }


__all__ = ["StaffingError", "build", "measured", "to_json"]
