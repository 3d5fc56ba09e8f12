"""The text of an alert, its reminder and its 已恢复, as the chat shows them.

An alert says what is high (observed vs expected, ×ratio, in which window), since when, what is behind
it (top categories, products, channels and keywords of the complaints since the first breach, with
their share; a keyword's share is of the complaints using it),
three example complaints with personal data masked (:func:`analytics.textmodel.pii.mask_pii`) and what to
type next. The numbers come from the alert state; the breakdown and examples from the complaint rows
since the first breach — at most a few hours of rows by the time index, like the detector's raw edge.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Connection, select

from analytics.alerts.lifecycle import AlertState
from analytics.alerts.model import COMPLAINTS, DIM_WORDS, Breach, Rule
from analytics.store.models import Complaint, Message
from analytics.textmodel.pii import mask_pii

COMPLAINT = Complaint.__table__
MESSAGE = Message.__table__
_MAX_ROWS = 5000  # a spike's complaints since it began; more only makes the shares no better


def _breach_line(b: Breach) -> str:
    ratio = f"×{b.ratio:.1f}" if b.expected > 0 else "平时几乎为零"
    unit = "件" if b.series.family == COMPLAINTS else "条负面消息"
    return f"近 {b.window_minutes} 分钟 {b.observed:g} {unit}，预期 {b.expected:.1f}（{ratio}）"


def lasted_text(seconds: float) -> str:
    """``23分钟``, ``1小时50分``: how long an alert lasted, as its messages say it."""
    minutes = int(seconds // 60)
    return f"{minutes // 60}小时{minutes % 60}分" if minutes >= 60 else f"{minutes}分钟"


def behind(conn: Connection, state: AlertState, now: datetime) -> tuple[dict[str, list[tuple[str, float]]], list[str]]:
    """Top values with their share per dimension, and 3 masked example texts of the lead series, over the
    complaints since the first breach's window began."""
    since = state.started_at - timedelta(minutes=state.lead.window_minutes)
    if state.lead.series.family != COMPLAINTS:
        return _negative_behind(conn, since, now)
    rows = conn.execute(select(COMPLAINT.c.created_at, COMPLAINT.c.text, COMPLAINT.c.category, COMPLAINT.c.product,
                               COMPLAINT.c.channel)
                        .where(COMPLAINT.c.created_at >= since, COMPLAINT.c.created_at < now)
                        .order_by(COMPLAINT.c.created_at.desc()).limit(_MAX_ROWS)).all()
    lead = state.lead.series
    if not lead.overall:
        index = {"category": 2, "product": 3, "channel": 4}[lead.dim]
        rows = [r for r in rows if r[index] == lead.key]
    tops: dict[str, list[tuple[str, float]]] = {}
    for dim, index in (("category", 2), ("product", 3), ("channel", 4)):
        counts = Counter(r[index] for r in rows if r[index])
        total = sum(counts.values())
        tops[dim] = [(k, n / total) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]] if total else []
    examples = [mask_pii(r[1]).strip()[:60] for r in rows if r[1] and r[1].strip()][:3]
    tops["keyword"] = _keywords(rows, {name for found in tops.values() for name, _ in found})
    return tops, examples


def _negative_behind(conn: Connection, since: datetime, now: datetime) -> tuple[dict, list[str]]:
    """A negative-share spike: the words its negative customer messages share, and three of them (masked)."""
    rows = conn.execute(select(MESSAGE.c.sent_at, MESSAGE.c.text).where(
        MESSAGE.c.sent_at >= since, MESSAGE.c.sent_at < now, MESSAGE.c.sender == "customer",
        MESSAGE.c.sentiment_label == "neg").order_by(MESSAGE.c.sent_at.desc()).limit(_MAX_ROWS)).all()
    examples = [mask_pii(r[1]).strip()[:60] for r in rows if r[1] and r[1].strip()][:3]
    return {"keyword": _keywords(rows, set())}, examples


_SAID = frozenset({"投诉", "我要投诉", "强烈投诉", "客服"})


def _keywords(rows: list, shown: set[str]) -> list[tuple[str, float]]:
    """The words most of the spike's complaints use (share of complaints containing each), leaving out
    the category / product / channel names already listed."""
    from analytics.keywords import document_keywords

    shown = shown | _SAID  # every complaint says 投诉: not news
    docs = Counter()
    for row in rows[:1000]:
        docs.update(document_keywords(row[1]) - shown)
    total = min(len(rows), 1000)
    ranked = sorted(((t, n) for t, n in docs.items() if n >= 2), key=lambda kv: (-kv[1], kv[0]))[:3]
    return [(t, n / total) for t, n in ranked] if total else []


def _next_command(state: AlertState) -> str:
    lead = state.lead.series
    if lead.family != COMPLAINTS:
        return "/情感 今天"
    if lead.dim == "product":
        return f"/投诉 今天 商品={lead.key}"
    if lead.dim == "channel":
        return f"/投诉 今天 渠道={lead.key}"
    if lead.dim == "category":
        return f"/投诉 今天 类别={lead.key}"
    for part in state.parts:  # an overall spike: point at what drives it
        if part.series.dim == "category":
            return f"/投诉 今天 类别={part.series.key}"
    return "/投诉 今天"


def firing_text(state: AlertState, tops: dict[str, list[tuple[str, float]]], examples: list[str], tz: tzinfo,
                *, alert_id: int | None = None, reminder: bool = False, claimed_by: str | None = None,
                now: datetime | None = None, current: Breach | None = None) -> str:
    """The alert (or, with ``reminder``, its reminder) as chat text; a reminder shows ``current`` (this
    check's breach) when it still breaches, else the numbers it fired with."""
    head = "⏰ 告警提醒" if reminder else "🔴 告警"
    ident = f" #{alert_id}" if alert_id is not None else ""
    since = state.started_at.astimezone(tz)
    lines = [f"{head}{ident}：{state.lead.series.label()} {'激增' if state.lead.series.family == COMPLAINTS else '偏高'}",
             f"{_breach_line(current if reminder and current else state.lead)}，自 {since:%m-%d %H:%M} 起"]
    if reminder and now is not None:
        lines.append(f"已持续 {lasted_text(state.lasted(now))}；峰值 {_breach_line(state.peak)}")
    if claimed_by:
        lines.append(f"处理人：{claimed_by}")
    parts = []
    for dim in ("category", "product", "channel", "keyword"):
        if tops.get(dim):
            parts.append(f"{DIM_WORDS.get(dim, '关键词')} " + "、".join(f"{k} {share:.0%}" for k, share in tops[dim]))
    if parts:
        lines.append("主要来自：" + "；".join(parts))
    also = [b.series.label() for b in state.parts if b.series != state.lead.series]
    if also:
        lines.append("同时偏高：" + "、".join(also[:4]))
    if examples:
        lines.append("例：")
        lines += [f"{i}. {text}" for i, text in enumerate(examples, 1)]
    lines.append(f"查看：{_next_command(state)}" + (f"；认领：/认领 {alert_id}" if alert_id is not None else ""))
    return "\n".join(lines)


def resolved_text(state: AlertState, now: datetime, tz: tzinfo, *, alert_id: int | None = None) -> str:
    """The 已恢复 message: how long it lasted and its peak."""
    ident = f" #{alert_id}" if alert_id is not None else ""
    start, end = state.started_at.astimezone(tz), (state.normal_since or now).astimezone(tz)
    return "\n".join([f"✅ 已恢复{ident}：{state.lead.series.label()}",
                      f"持续 {lasted_text(state.lasted(now))}（{start:%m-%d %H:%M}–{end:%H:%M}），"
                      f"峰值 {_breach_line(state.peak)}（{state.peak_at.astimezone(tz):%H:%M}）",
                      f"已连续 {int((now - (state.normal_since or now)).total_seconds() // 60)} 分钟回到正常水平。"])


_BELOW = {"<": "低于", "<=": "不高于", ">": "高于", ">=": "不低于"}


def _rule_value(value: float, share: bool) -> str:
    return f"{value:.1f}%" if share else f"{value:g}"


def rule_firing_text(state: AlertState, rule: Rule, share: bool, tz: tzinfo, *, alert_id: int | None = None,
                     reminder: bool = False, claimed_by: str | None = None, now: datetime | None = None) -> str:
    """A threshold rule's alert: the metric's value in its window against the rule's value."""
    head = "⏰ 告警提醒" if reminder else "🔴 告警"
    ident = f" #{alert_id}" if alert_id is not None else ""
    since = state.started_at.astimezone(tz)
    lines = [f"{head}{ident}：{rule.name}",
             f"{rule.metric} {rule.window} {_rule_value(state.lead.observed, share)}，"
             f"{_BELOW.get(rule.comparison, rule.comparison)} {_rule_value(rule.value, share)}，自 {since:%m-%d %H:%M} 起"]
    if reminder and now is not None:
        lines.append(f"已持续 {lasted_text(state.lasted(now))}；最差 {_rule_value(state.peak.observed, share)}")
    if claimed_by:
        lines.append(f"处理人：{claimed_by}")
    filters = " ".join(f"{k}={v}" for k, v in rule.filters.items())
    lines.append(f"查看：/{rule.metric} {rule.window}{(' ' + filters) if filters else ''}"
                 + (f"；认领：/认领 {alert_id}" if alert_id is not None else ""))
    return "\n".join(lines)


def rule_resolved_text(state: AlertState, rule: Rule, share: bool, now: datetime, tz: tzinfo, *,
                       alert_id: int | None = None) -> str:
    ident = f" #{alert_id}" if alert_id is not None else ""
    start, end = state.started_at.astimezone(tz), (state.normal_since or now).astimezone(tz)
    return "\n".join([f"✅ 已恢复{ident}：{rule.name}",
                      f"持续 {lasted_text(state.lasted(now))}（{start:%m-%d %H:%M}–{end:%H:%M}），"
                      f"最差 {rule.metric} {_rule_value(state.peak.observed, share)}"
                      f"（{state.peak_at.astimezone(tz):%H:%M}）",
                      f"已连续 {int((now - (state.normal_since or now)).total_seconds() // 60)} 分钟回到正常水平。"])
