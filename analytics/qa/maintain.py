"""Keep the 质检 tables equal to the rules run over the stored conversations, at every import batch.

:func:`after_batch` runs inside an import batch's transaction (``analytics.ingest``): the conversations
the batch touched are checked again from their stored rows and messages, and the same customers'
neighbouring conversations get their ``repeat_contact`` re-decided (a later conversation arriving in a
later import flags the earlier one). What a rewritten conversation contributed to ``qa_sums`` is
subtracted and its new contribution added, so the sums stay exact without rescanning. The same reading
keeps each conversation's question and reply for /质检 话术 (``qa_scripts``, :func:`analytics.qa.scripts.store`).
:func:`rebuild` recomputes everything (``csbot rebuild qa``) through the same code.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, select

from analytics.qa import impolite as impolite_mod
from analytics.qa import rules
from analytics.qa import scripts as scripts_mod
from analytics.qa.model import Conversation, Finding, Line, QAParams, score
from analytics.store.models import Conversation as ConvRow
from analytics.store.models import Message as MsgRow
from analytics.store.qa import QAConversation, QAFinding, QAScript, QASum

log = logging.getLogger(__name__)

CONV, MSG = ConvRow.__table__, MsgRow.__table__
QA_CONV, QA_FIND, QA_SUM, QA_SCRIPT = QAConversation.__table__, QAFinding.__table__, QASum.__table__, QAScript.__table__
_CHUNK = 500
#: A predecessor whose next conversation changed lies at most this far before it (conversations are
#: assumed to last under this long minus the repeat window).
_NEIGHBOUR_DAYS = 7

_params = QAParams()


def configure(params: QAParams) -> None:
    """Set the ``[qa]`` parameters used at import and rebuild (the bot calls this once at start)."""
    global _params
    _params = params


def current_params() -> QAParams:
    return _params


@dataclass(frozen=True)
class Checked:
    """One conversation's stored 质检 state (a ``qa_conversations`` row plus its findings)."""

    conversation_id: str
    started_at: datetime
    agent: str
    customer_id: str | None
    last_at: datetime
    resolved: bool | None
    last_customer_message: str | None
    findings: tuple[tuple[str, tuple[str, ...], str], ...]  # (rule, message ids, detail)

    @property
    def rule_ids(self) -> list[str]:
        return [f[0] for f in self.findings]

    @property
    def score(self) -> int:
        return score(self.rule_ids)


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- reading --------------------------------------------------------------------------------------

def _load_conversations(conn: Connection, ids: list[str]) -> list[Conversation]:
    """The rules' view of these conversations (those stored), with their messages in time order."""
    heads: dict[str, dict[str, Any]] = {}
    lines: dict[str, list[Line]] = {}
    for chunk in _chunks(ids):
        for row in conn.execute(select(CONV).where(CONV.c.conversation_id.in_(chunk))).mappings():
            heads[row["conversation_id"]] = dict(row)
        stmt = (select(MSG.c.conversation_id, MSG.c.message_id, MSG.c.sent_at, MSG.c.sender, MSG.c.text,
                       MSG.c.sentiment_label)
                .where(MSG.c.conversation_id.in_(chunk)).order_by(MSG.c.conversation_id, MSG.c.sent_at, MSG.c.message_id))
        for cid, mid, at, sender, text, label in conn.execute(stmt):
            own = lines.setdefault(cid, [])
            own.append(Line(len(own), mid, _utc(at), sender, text or "", label))
    out = []
    for cid, h in heads.items():
        out.append(Conversation(
            conversation_id=cid, agent=h["agent"], started_at=_utc(h["started_at"]), lines=tuple(lines.get(cid, ())),
            customer_id=h["customer_id"] or None, ended_at=_utc(h["ended_at"]) if h["ended_at"] else None,
            first_response_seconds=h["first_response_seconds"], resolved=h["resolved"],
            transferred=h["transferred"], rating=h["rating"]))
    return out


def _fill_missing_labels(convs: list[Conversation]) -> list[Conversation]:
    """Customer lines imported without enrichment get their sentiment label from the model here."""
    missing = [(i, line) for i, c in enumerate(convs) for line in c.lines
               if line.sender == "customer" and line.sentiment_label is None and line.text]
    if not missing:
        return convs
    from analytics.text import sentiment_label

    labels = sentiment_label([line.text for _, line in missing])
    fixed: dict[tuple[int, int], str] = {(i, line.index): lab for (i, line), lab in zip(missing, labels, strict=True)}
    out = []
    for i, c in enumerate(convs):
        if any((i, line.index) in fixed for line in c.lines):
            c = replace(c, lines=tuple(replace(line, sentiment_label=fixed.get((i, line.index), line.sentiment_label))
                                       for line in c.lines))
        out.append(c)
    return out


def _stored(conn: Connection, where: Any) -> dict[str, Checked]:
    heads = {r["conversation_id"]: r for r in conn.execute(select(QA_CONV).where(where)).mappings()}
    found: dict[str, list[tuple[str, tuple[str, ...], str]]] = {}
    for chunk in _chunks(list(heads)):
        for cid, rule, mids, detail in conn.execute(
                select(QA_FIND.c.conversation_id, QA_FIND.c.rule, QA_FIND.c.message_ids, QA_FIND.c.detail)
                .where(QA_FIND.c.conversation_id.in_(chunk))):
            found.setdefault(cid, []).append((rule, tuple(mids or ()), detail))
    return {cid: Checked(cid, _utc(h["started_at"]), h["agent"], h["customer_id"], _utc(h["last_at"]), h["resolved"],
                         h["last_customer_message"], tuple(sorted(found.get(cid, ()))))
            for cid, h in heads.items()}


def _stored_by_ids(conn: Connection, ids: list[str]) -> dict[str, Checked]:
    out: dict[str, Checked] = {}
    for chunk in _chunks(ids):
        out.update(_stored(conn, QA_CONV.c.conversation_id.in_(chunk)))
    return out


def _stored_neighbours(conn: Connection, spans: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Checked]:
    """Stored conversations of these customers within a week of the given time spans: one indexed query
    per chunk of customers over the chunk's whole time range, each customer's own span applied after."""
    out: dict[str, Checked] = {}
    pad = timedelta(days=_NEIGHBOUR_DAYS)
    items = sorted(spans.items())
    for chunk in _chunks(items):
        lo = min(span[0] for _, span in chunk) - pad
        hi = max(span[1] for _, span in chunk) + pad
        found = _stored(conn, and_(QA_CONV.c.customer_id.in_([cust for cust, _ in chunk]),
                                   QA_CONV.c.started_at >= lo, QA_CONV.c.started_at <= hi))
        own = dict(chunk)
        out.update({cid: c for cid, c in found.items()
                    if own[c.customer_id][0] - pad <= c.started_at <= own[c.customer_id][1] + pad})
    return out


# -- deciding ---------------------------------------------------------------------------------------

def _check(convs: list[Conversation], params: QAParams) -> dict[str, Checked]:
    """The per-conversation rules over ``convs`` (the impolite model runs once over all their agent lines)."""
    convs = _fill_missing_labels(convs)
    agent_lines = [line.text for c in convs for line in c.by("agent")]
    verdicts = impolite_mod.judge(agent_lines, extra=params.extra_impolite_words) if agent_lines else []
    out: dict[str, Checked] = {}
    at = 0
    for c in convs:
        n = len(c.by("agent"))
        found = rules.check(c, params, verdicts[at:at + n])
        at += n
        last_customer = next((line.message_id for line in reversed(c.lines) if line.sender == "customer"), None)
        out[c.conversation_id] = Checked(
            c.conversation_id, c.started_at, c.agent, c.customer_id, c.last_time, c.resolved, last_customer,
            tuple(sorted((f.rule, tuple(f.message_ids(c)), f.detail) for f in found)))
    return out


def _with_repeat(checked: Checked, finding: Finding | None) -> Checked:
    kept = tuple(f for f in checked.findings if f[0] != "repeat_contact")
    if finding is not None:
        mids = (checked.last_customer_message,) if checked.last_customer_message else ()
        kept = tuple(sorted((*kept, ("repeat_contact", mids, finding.detail))))
    return replace(checked, findings=kept)


def _repeat(group: Iterable[Checked], params: QAParams) -> dict[str, Finding]:
    convs = [Conversation(c.conversation_id, c.agent, c.started_at, customer_id=c.customer_id, ended_at=c.last_at,
                          resolved=c.resolved) for c in group]
    return rules.repeat_contact(convs, params)


# -- writing ----------------------------------------------------------------------------------------

def _buckets(at: datetime) -> list[tuple[str, datetime]]:
    """The UTC hour, day and month a conversation counts in (a year's /质检 reads ~12 month rows per agent
    and rule, then the edge days and hours)."""
    hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [("hour", hour), ("day", hour.replace(hour=0)), ("month", hour.replace(day=1, hour=0))]


def _contribution(c: Checked, sign: int, out: Counter[tuple[str, datetime, str, str, str]]) -> None:
    for grain, bucket in _buckets(c.started_at):
        out[(grain, bucket, c.agent, "", "n")] += sign
        out[(grain, bucket, c.agent, "", "s")] += sign * c.score
        for rule in c.rule_ids:
            out[(grain, bucket, c.agent, rule, "n")] += sign


def _apply_sums(conn: Connection, delta: Counter[tuple[str, datetime, str, str, str]]) -> None:
    rows: dict[tuple[str, datetime, str, str], dict[str, Any]] = {}
    for (grain, bucket, agent, rule, what), v in delta.items():
        row = rows.setdefault((grain, bucket, agent, rule),
                              {"grain": grain, "bucket": bucket, "agent": agent, "rule": rule, "n": 0, "score_sum": 0})
        row["n" if what == "n" else "score_sum"] += v
    changes = [r for r in rows.values() if r["n"] or r["score_sum"]]
    if not changes:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(QA_SUM)
    stmt = stmt.on_conflict_do_update(index_elements=["grain", "bucket", "agent", "rule"],
                                      set_={"n": QA_SUM.c.n + stmt.excluded.n,
                                            "score_sum": QA_SUM.c.score_sum + stmt.excluded.score_sum})
    for chunk in _chunks(changes, 2000):
        conn.execute(stmt, chunk)
    buckets = [r["bucket"] for r in changes]  # every grain's: a month bucket is earlier than its days and hours
    conn.execute(delete(QA_SUM).where(QA_SUM.c.n <= 0, QA_SUM.c.bucket >= min(buckets),
                                      QA_SUM.c.bucket <= max(buckets)))


def _write(conn: Connection, old: Mapping[str, Checked], new: Mapping[str, Checked]) -> None:
    """Replace the stored rows of ``new``'s conversations (``old``: what was stored for them)."""
    ids = list(new)
    for chunk in _chunks(ids):
        conn.execute(delete(QA_FIND).where(QA_FIND.c.conversation_id.in_(chunk)))
        conn.execute(delete(QA_CONV).where(QA_CONV.c.conversation_id.in_(chunk)))
    heads = [{"conversation_id": c.conversation_id, "started_at": c.started_at, "agent": c.agent,
              "customer_id": c.customer_id, "last_at": c.last_at, "resolved": c.resolved,
              "last_customer_message": c.last_customer_message, "score": c.score, "rules": ",".join(c.rule_ids)}
             for c in new.values()]
    finds = [{"conversation_id": c.conversation_id, "rule": rule, "started_at": c.started_at, "agent": c.agent,
              "message_ids": list(mids), "detail": detail[:256]}
             for c in new.values() for rule, mids, detail in c.findings]
    for chunk in _chunks(heads, 2000):
        conn.execute(insert(QA_CONV), chunk)
    for chunk in _chunks(finds, 2000):
        conn.execute(insert(QA_FIND), chunk)
    delta: Counter[tuple[str, datetime, str, str, str]] = Counter()
    for c in old.values():
        _contribution(c, -1, delta)
    for c in new.values():
        _contribution(c, +1, delta)
    _apply_sums(conn, delta)


# -- entry points -----------------------------------------------------------------------------------

def recheck(conn: Connection, conversation_ids: Collection[str], params: QAParams | None = None) -> int:
    """Check these conversations again, re-decide ``repeat_contact`` for their customers' neighbouring
    conversations, and update findings and sums; returns how many conversations were rewritten."""
    params = params or _params
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0
    old = _stored_by_ids(conn, ids)
    loaded = _load_conversations(conn, ids)
    fresh = _check(loaded, params)
    pairs = {c.conversation_id: pair for c in loaded
             if (pair := scripts_mod.first_pair((line.sender, line.text) for line in c.lines)) is not None}
    scripts_mod.store(conn, ids, pairs)
    spans: dict[str, tuple[datetime, datetime]] = {}
    for c in (*old.values(), *fresh.values()):
        if c.customer_id:
            lo, hi = spans.get(c.customer_id, (c.started_at, c.started_at))
            spans[c.customer_id] = (min(lo, c.started_at), max(hi, c.started_at))
    neighbours = {cid: c for cid, c in _stored_neighbours(conn, spans).items() if cid not in fresh}
    groups: dict[str, list[Checked]] = {}
    for c in (*neighbours.values(), *fresh.values()):
        if c.customer_id:
            groups.setdefault(c.customer_id, []).append(c)
    repeats: dict[str, Finding] = {}
    for group in groups.values():
        repeats.update(_repeat(group, params))
    new = {cid: _with_repeat(c, repeats.get(cid)) for cid, c in fresh.items()}
    for cid, c in neighbours.items():
        updated = _with_repeat(c, repeats.get(cid))
        if updated.findings != c.findings:
            new[cid], old[cid] = updated, c
    _write(conn, {cid: old[cid] for cid in new if cid in old}, new)
    return len(new)


def after_batch(conn: Connection, kind: str, rows: list[Mapping[str, Any]], touched: Collection[str]) -> None:
    """Inside an import batch's transaction, after the upsert: re-check the conversations it touched."""
    if kind == "conversations":
        ids = {row["conversation_id"] for row in rows}
    elif kind == "messages":
        ids = {row["conversation_id"] for row in rows} | set(touched)
    else:
        return
    recheck(conn, ids)


def clear(engine: Engine) -> None:
    """Forget every stored 质检 result (after the raw rows were deleted: ``csbot demo --fresh``)."""
    with engine.begin() as conn:
        for table in (QA_SUM, QA_FIND, QA_CONV, QA_SCRIPT):
            conn.execute(delete(table))


def rebuild(engine: Engine, params: QAParams | None = None, batch: int = 5000) -> int:
    """Recompute every conversation's findings and the sums from scratch (``csbot rebuild qa``)."""
    clear(engine)
    with engine.connect() as conn:
        ids = list(conn.execute(select(CONV.c.conversation_id).order_by(CONV.c.started_at, CONV.c.conversation_id))
                   .scalars())
    for chunk in _chunks(ids, batch):
        with engine.begin() as conn:
            recheck(conn, chunk, params)
    log.info("qa rebuilt over %d conversations", len(ids))
    return len(ids)


def remove(conn: Connection, conversation_ids: Collection[str]) -> int:
    """Inside the transaction that deletes these conversations from the raw tables (``analytics.privacy``:
    forget, retention): drop their findings and 话术 rows and take their contribution out of ``qa_sums``."""
    ids = sorted(set(conversation_ids))
    old = _stored_by_ids(conn, ids)
    for chunk in _chunks(ids):
        conn.execute(delete(QA_FIND).where(QA_FIND.c.conversation_id.in_(chunk)))
        conn.execute(delete(QA_CONV).where(QA_CONV.c.conversation_id.in_(chunk)))
        conn.execute(delete(QA_SCRIPT).where(QA_SCRIPT.c.conversation_id.in_(chunk)))
    delta: Counter[tuple[str, datetime, str, str, str]] = Counter()
    for c in old.values():
        _contribution(c, -1, delta)
    _apply_sums(conn, delta)
    return len(old)
