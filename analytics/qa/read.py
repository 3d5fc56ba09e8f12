"""Reading the stored 质检 results for a window: counts per agent and rule, flagged conversations, examples.

Counts come from ``qa_sums``: the whole UTC months inside the window, then the whole UTC days left, then the
whole hours left, then the partial edge hours from ``qa_conversations`` / ``qa_findings`` (indexed by time), so a year costs a few
dozen sum rows per agent and rule and the answer equals counting the findings one by one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select

from analytics.store.models import Message
from analytics.store.qa import QAConversation, QAFinding, QASum

QA_CONV, QA_FIND, QA_SUM, MSG = QAConversation.__table__, QAFinding.__table__, QASum.__table__, Message.__table__
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class AgentQA:
    """One agent's (or the team's) checked conversations in a window and how often each rule fired."""

    agent: str
    conversations: int = 0
    score_sum: int = 0
    flags: Counter[str] = field(default_factory=Counter)

    @property
    def score(self) -> float | None:
        return self.score_sum / self.conversations if self.conversations else None

    def rate(self, rule: str) -> float | None:
        return self.flags[rule] / self.conversations if self.conversations else None

    def add(self, other: AgentQA) -> None:
        self.conversations += other.conversations
        self.score_sum += other.score_sum
        self.flags.update(other.flags)


def _ceil(t: datetime, unit: timedelta) -> datetime:
    f = _floor(t, unit)
    return f if f == t else f + unit


def _floor(t: datetime, unit: timedelta) -> datetime:
    t = t.astimezone(UTC)
    return t.replace(minute=0, second=0, microsecond=0) if unit == HOUR else t.replace(hour=0, minute=0, second=0,
                                                                                       microsecond=0)


def cover(start: datetime, end: datetime) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]],
                                                   list[tuple[datetime, datetime]]]:
    """[start, end) as (whole UTC day spans, whole hour spans, raw edge spans), disjoint and in order."""
    days: list[tuple[datetime, datetime]] = []
    hours: list[tuple[datetime, datetime]] = []
    raw: list[tuple[datetime, datetime]] = []
    if end <= start:
        return days, hours, raw
    h0, h1 = _ceil(start, HOUR), _floor(end, HOUR)
    if h0 >= h1:
        return days, hours, [(start, end)]
    if start < h0:
        raw.append((start, h0))
    if h1 < end:
        raw.append((h1, end))
    d0, d1 = _ceil(h0, DAY), _floor(h1, DAY)
    if d0 < d1:
        days.append((d0, d1))
        for lo, hi in ((h0, d0), (d1, h1)):
            if lo < hi:
                hours.append((lo, hi))
    else:
        hours.append((h0, h1))
    return days, hours, raw


def _next_month(t: datetime) -> datetime:
    return t.replace(year=t.year + 1, month=1) if t.month == 12 else t.replace(month=t.month + 1)


def months(days: list[tuple[datetime, datetime]]) -> tuple[list[tuple[datetime, datetime]], list[tuple[datetime, datetime]]]:
    """Whole-day spans (UTC midnights) as (whole UTC month spans, the day spans left), disjoint and in order."""
    whole: list[tuple[datetime, datetime]] = []
    rest: list[tuple[datetime, datetime]] = []
    for lo, hi in days:
        m0 = lo if lo.day == 1 else _next_month(lo.replace(day=1))
        m1 = hi.replace(day=1)
        if m0 < m1:
            whole.append((m0, m1))
            rest += [(a, b) for a, b in ((lo, m0), (m1, hi)) if a < b]
        else:
            rest.append((lo, hi))
    return whole, rest


def _spans(column, spans: list[tuple[datetime, datetime]]):  # noqa: ANN001, ANN202
    return or_(*[and_(column >= lo, column < hi) for lo, hi in spans])


def counts(engine: Engine, start: datetime, end: datetime, agent: str | None = None) -> dict[str, AgentQA]:
    """Per agent: checked conversations, score sum and rule counts of conversations started in [start, end)."""
    days, hours, raw = cover(start, end)
    whole_months, days = months(days)
    out: dict[str, AgentQA] = {}

    def row(name: str) -> AgentQA:
        return out.setdefault(name, AgentQA(name))

    with engine.connect() as conn:
        for grain, spans in (("month", whole_months), ("day", days), ("hour", hours)):
            if not spans:
                continue
            stmt = (select(QA_SUM.c.agent, QA_SUM.c.rule, func.sum(QA_SUM.c.n), func.sum(QA_SUM.c.score_sum))
                    .where(QA_SUM.c.grain == grain, _spans(QA_SUM.c.bucket, spans))
                    .group_by(QA_SUM.c.agent, QA_SUM.c.rule))
            if agent is not None:
                stmt = stmt.where(QA_SUM.c.agent == agent)
            for name, rule, n, s in conn.execute(stmt):
                _add(row(name), rule, int(n or 0), int(s or 0))
        if raw:
            conv = (select(QA_CONV.c.agent, func.count(), func.sum(QA_CONV.c.score))
                    .where(_spans(QA_CONV.c.started_at, raw)).group_by(QA_CONV.c.agent))
            find = (select(QA_FIND.c.agent, QA_FIND.c.rule, func.count())
                    .where(_spans(QA_FIND.c.started_at, raw)).group_by(QA_FIND.c.agent, QA_FIND.c.rule))
            if agent is not None:
                conv, find = conv.where(QA_CONV.c.agent == agent), find.where(QA_FIND.c.agent == agent)
            for name, n, s in conn.execute(conv):
                _add(row(name), "", int(n), int(s or 0))
            for name, rule, n in conn.execute(find):
                _add(row(name), rule, int(n), 0)
    return {k: v for k, v in out.items() if v.conversations or v.flags}


def _add(target: AgentQA, rule: str, n: int, score_sum: int) -> None:
    if rule == "":
        target.conversations += n
        target.score_sum += score_sum
    elif n:
        target.flags[rule] += n


def team(rows: dict[str, AgentQA]) -> AgentQA:
    total = AgentQA("团队")
    for r in rows.values():
        total.add(r)
    return total


def flagged(engine: Engine, start: datetime, end: datetime, agent: str | None = None) -> Iterator[tuple[str, str, list[str]]]:
    """(conversation id, agent, rule ids) of every conversation in [start, end) with a finding, by start time."""
    stmt = (select(QA_CONV.c.conversation_id, QA_CONV.c.agent, QA_CONV.c.rules)
            .where(QA_CONV.c.started_at >= start, QA_CONV.c.started_at < end, QA_CONV.c.rules != "")
            .order_by(QA_CONV.c.started_at, QA_CONV.c.conversation_id))
    if agent is not None:
        stmt = stmt.where(QA_CONV.c.agent == agent)
    with engine.connect() as conn:
        for cid, name, rules in conn.execution_options(yield_per=5000).execute(stmt):
            yield cid, name, rules.split(",")


@dataclass(frozen=True)
class Example:
    conversation_id: str
    agent: str
    detail: str
    lines: tuple[tuple[str, str], ...]  # (sender, text) of the lines that made the rule fire, unmasked


def examples(engine: Engine, start: datetime, end: datetime, rule: str, agent: str | None = None,
             limit: int = 2) -> list[Example]:
    """The latest ``limit`` findings of ``rule`` in [start, end) with their triggering lines (texts as stored:
    callers mask them with ``analytics.text.mask_pii`` before they reach a chat)."""
    stmt = (select(QA_FIND.c.conversation_id, QA_FIND.c.agent, QA_FIND.c.detail, QA_FIND.c.message_ids)
            .where(QA_FIND.c.rule == rule, QA_FIND.c.started_at >= start, QA_FIND.c.started_at < end)
            .order_by(QA_FIND.c.started_at.desc()).limit(limit * 5))
    if agent is not None:
        stmt = stmt.where(QA_FIND.c.agent == agent)
    out: list[Example] = []
    with engine.connect() as conn:
        for cid, name, detail, mids in conn.execute(stmt):
            ids = list(mids or [])
            texts = {m: (s, t) for m, s, t in conn.execute(
                select(MSG.c.message_id, MSG.c.sender, MSG.c.text).where(MSG.c.message_id.in_(ids)))} if ids else {}
            lines = tuple(texts[m] for m in ids if m in texts)
            if (ids and not lines) or any(e.lines == lines for e in out):
                continue  # a message gone, or the same words as an example already chosen
            out.append(Example(cid, name, detail, lines))
            if len(out) >= limit:
                break
    return out
