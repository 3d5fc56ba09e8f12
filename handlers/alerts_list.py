"""/告警: open alerts with their ids, numbers, who handles them, and the active silences."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from analytics.alerts.lifecycle import state_from_json
from analytics.alerts.message import lasted_text
from analytics.store import alerts as store
from handlers.alert_actions import since_text
from handlers.base import CommandContext, CommandSpec, Reply

SPEC = CommandSpec(
    name="告警",
    aliases=("alerts", "报警"),
    usage="/告警",
    help="正在进行的告警（编号、数字、处理人、静默）；认领 /认领 N，静默 /静默 投诉 2小时",
    group="告警",
    takes_period=False,
    filters=(),
    slash_only=True,
    examples=("/告警",),
)


def _numbers(record: store.AlertRecord) -> str:
    if not record.state:
        return ""
    state = state_from_json(record.state)
    b = state.lead
    if b.window_minutes == 0:  # a threshold rule: its value against the rule's
        return f"{b.observed:.1f}（阈值 {b.expected:g}）"
    ratio = f"×{b.ratio:.1f}" if b.expected > 0 else "平时几乎为零"
    return f"近 {b.window_minutes} 分钟 {b.observed:g} 件，预期 {b.expected:.1f}（{ratio}）"


async def handle(ctx: CommandContext) -> Reply:
    engine, tz = ctx.services.engine, ctx.services.tz
    rows = await asyncio.to_thread(store.open_alerts, engine)
    recent = await asyncio.to_thread(store.recent_alerts, engine, ctx.now - timedelta(hours=24))
    silences = await asyncio.to_thread(store.active_silences, engine, ctx.now)
    config = ctx.services.extra.get("alert_config") or {}
    lines: list[str] = []
    firing = [r for r in rows if r.status == store.FIRING]
    pending = [r for r in rows if r.status == store.PENDING and r.state]
    if not firing and not pending:
        lines.append("当前没有告警。")
    for r in firing:
        muted = [s for s in silences if s.alert_id == r.id or (s.matcher and r.label.startswith(s.matcher))]
        parts = [f"#{r.id} 🔴 {r.label}", f"自 {since_text(r, ctx)}", _numbers(r)]
        parts.append(f"处理人 {r.claimed_by}" if r.claimed_by else f"未认领（/认领 {r.id}）")
        if muted:
            until = max(store.aware(s.until) for s in muted)
            parts.append(f"静默至 {until.astimezone(tz):%m-%d %H:%M}")
        lines.append(" · ".join(p for p in parts if p))
    for r in pending:
        lines.append(f"#{r.id} 🟡 观察中：{r.label} · 自 {since_text(r, ctx)} · {_numbers(r)}（持续偏高才会告警）")
    if recent:
        done = []
        for r in recent:
            ended = store.aware(r.resolved_at)
            lasted = f"，持续 {lasted_text(state_from_json(r.state).lasted(ended))}" if r.state and ended else ""
            done.append(f"#{r.id} {r.label}（{ended.astimezone(tz):%H:%M} 恢复{lasted}）" if ended else f"#{r.id}")
        lines.append("近 24 小时已恢复：" + "；".join(done))
    if silences:
        lines.append("静默中：" + "；".join(
            f"{('#' + str(s.alert_id)) if s.alert_id else s.matcher} 至 {store.aware(s.until).astimezone(tz):%m-%d %H:%M}"
            f"（{s.created_by}）" for s in silences))
    if not config.get("enabled", True):
        lines.append("告警检查未开启（[alerts] enabled = false）。")
    elif not config.get("targets"):
        lines.append("注意：未配置 [alerts] targets，告警只记录、不推送。")
    return Reply("\n".join(lines), title="告警")
