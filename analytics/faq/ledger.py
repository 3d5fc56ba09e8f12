"""The suggestions' lifecycle in the database: refresh from a run, list, decide (accept / dismiss), export.

- :func:`refresh` runs :func:`analytics.faq.suggest.suggest` with the kept cluster state and writes, in one
  transaction, the new state and one ``faq_suggestions`` row per qualifying cluster. A cluster finds its row
  again by the row's ``question`` (its most asked phrasing when first seen) being one of the cluster's
  questions, so the number shown in the chat stays the same from week to week. Rows of clusters that no
  longer qualify keep their number and get ``rank = None``.
- **Listed** (:func:`listed`): rows ranked by the last run whose status is ``proposed``, and ``dismissed``
  rows whose count reached ``regrow_factor`` × their count when dismissed. Accepted rows are in the
  knowledge base, so their cluster counts as covered and is not proposed again (unless badly rated:
  then a separate 答案需复查 row is).
- :func:`decide`: accept (the answer — the lead's edit or the candidate — joins ``kb_entries`` as source
  ``mined``; a 答案需复查 acceptance replaces the covering entry's answer) or dismiss; the change and its
  ``audit_log`` row commit together. Who may decide is the caller's business (admins, in ``handlers``).
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from analytics.faq import answers
from analytics.faq.suggest import Params, Progress, Result, Suggestion, suggest, tidy
from analytics.store.audit import AuditEntry
from analytics.store.faq import ACCEPTED, DISMISSED, PROPOSED, FaqState, FaqSuggestion
from analytics.store.models import KBEntry

STATE_NAME = "default"
ACCEPT, DISMISS = "采纳", "忽略"


class DecisionError(ValueError):
    """A decision that cannot be made; the message is Chinese, for the chat."""


@dataclass(frozen=True)
class Run:
    """What one refresh measured (for the list's header and ``csbot faq --json``)."""

    window: dict  # label, start, end, prev_start, prev_end (ISO)
    computed_at: str
    questions: int
    current_questions: int
    clusters: int
    qualified: int
    covered: int
    fitted: bool


def pack_state(state: dict) -> bytes:
    return zlib.compress(json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)


def unpack_state(blob: bytes | None) -> dict | None:
    if not blob:
        return None
    try:
        return json.loads(zlib.decompress(blob).decode("utf-8"))
    except (zlib.error, ValueError):
        return None  # unreadable: the next run fits a new index


def signature(question: str, kind: str) -> str:
    prefix = "review|" if kind == answers.REVIEW else ""
    return hashlib.sha256((prefix + question).encode("utf-8")).hexdigest()[:40]


def _stats(s: Suggestion, run_window: dict) -> dict:
    p = s.pick
    return {
        "questions": s.questions, "customers": s.customers, "previous": s.previous, "growth": s.growth,
        "conversations": s.conversations, "bad": s.bad, "bad_share": s.bad_share, "answer_basis": s.answer_basis,
        "replies": p.replies if p else 0, "distinct_replies": p.distinct if p else 0,
        "consistency": round(p.consistency, 4) if p else None,
        "representativeness": round(p.representativeness, 4) if p else None,
        "median_chars": p.median_chars if p else None, "covered_by": s.covered_by, "similar": s.similar,
        "window": run_window,
    }


def _match(s: Suggestion, rows: Sequence[FaqSuggestion], taken: set[int]) -> FaqSuggestion | None:
    review = s.kind == answers.REVIEW
    found = [r for r in rows if r.id not in taken and (r.kind == answers.REVIEW) == review and r.question in s.members]
    return min(found, key=lambda r: r.id or 0) if found else None


def _apply(session: Session, result: Result, run_window: dict, now: datetime) -> int:
    rows = list(session.scalars(select(FaqSuggestion)))
    for row in rows:
        row.rank = None
    taken: set[int] = set()
    by_sig = {r.signature: r for r in rows}
    for rank, s in enumerate(result.suggestions, 1):
        row = _match(s, rows, taken)
        if row is None:
            sig = signature(s.question, s.kind)
            row = by_sig.get(sig)
            if row is not None and row.id in taken:
                continue
            if row is None:
                row = FaqSuggestion(signature=sig, question=s.question, kind=s.kind, status=PROPOSED,
                                    first_seen_at=now, updated_at=now)
                session.add(row)
                session.flush()
                rows.append(row)
                by_sig[sig] = row
        taken.add(row.id or 0)
        row.rank = rank
        row.count = s.questions
        if s.kind != answers.REVIEW:
            row.kind = s.kind
        else:
            row.kb_id = s.covered_by
        row.category = s.category
        row.answer = s.answer or ""
        row.phrasings = list(s.phrasings)
        row.stats = _stats(s, run_window)
        row.updated_at = now
    return len(result.suggestions)


def load_state(engine: Engine) -> dict | None:
    with Session(engine) as session:
        row = session.get(FaqState, STATE_NAME)
        return unpack_state(row.state) if row is not None else None


def last_run(engine: Engine) -> Run | None:
    with Session(engine) as session:
        row = session.get(FaqState, STATE_NAME)
        return Run(**row.computed) if row is not None and row.computed else None


def refresh(engine: Engine, start: datetime, end: datetime, prev_start: datetime, prev_end: datetime, label: str,
            now: datetime, params: Params = Params(), progress: Progress | None = None) -> Run:
    """Recompute the suggestions for ``[start, end)`` (against ``[prev_start, prev_end)``) and store them with
    the new cluster state."""
    state = load_state(engine)
    with engine.connect() as conn:
        result = suggest(conn, start, end, prev_start, prev_end, params, state=state, progress=progress)
    window = {"label": label, "start": start.isoformat(), "end": end.isoformat(), "prev_start": prev_start.isoformat(),
              "prev_end": prev_end.isoformat()}
    run = Run(window, now.astimezone(UTC).isoformat(), result.questions, result.current_questions, result.clusters,
              len(result.suggestions), len(result.covered), result.fitted)
    for attempt in range(2):  # two refreshes at once may both insert a new cluster's row: the second retries
        try:
            with Session(engine) as session:
                _apply(session, result, window, now)
                _save_state(session, result, run, now)
                session.commit()
            break
        except IntegrityError:
            if attempt:
                raise
    return run


def _save_state(session: Session, result: Result, run: Run, now: datetime) -> None:
    row = session.get(FaqState, STATE_NAME)
    blob = pack_state(result.state)
    n = len(result.state.get("labels", {}))
    if row is None:
        session.add(FaqState(name=STATE_NAME, state=blob, questions=n, fitted_at=now, updated_at=now,
                             computed=run.__dict__))
        return
    row.state, row.questions, row.updated_at, row.computed = blob, n, now, dict(run.__dict__)
    if result.fitted:
        row.fitted_at = now


def regrown(row: FaqSuggestion, regrow_factor: float) -> bool:
    """A dismissed row whose cluster has grown to ``regrow_factor`` × its count when dismissed."""
    return (row.status == DISMISSED and row.count_at_decision is not None
            and row.count >= math.ceil(regrow_factor * max(1, row.count_at_decision)))


def is_listed(row: FaqSuggestion, regrow_factor: float) -> bool:
    return row.rank is not None and (row.status == PROPOSED or regrown(row, regrow_factor))


def listed(engine: Engine, regrow_factor: float) -> list[FaqSuggestion]:
    """The rows the chat lists, in the last run's order."""
    with Session(engine) as session:
        stmt = select(FaqSuggestion).where(FaqSuggestion.rank.is_not(None)).order_by(FaqSuggestion.rank)  # type: ignore[union-attr]
        rows = list(session.scalars(stmt))
    return [r for r in rows if is_listed(r, regrow_factor)]


def get(engine: Engine, suggestion_id: int) -> FaqSuggestion | None:
    with Session(engine) as session:
        return session.get(FaqSuggestion, suggestion_id)


def decide(engine: Engine, suggestion_id: int, action: str, *, user: str, audit: AuditEntry, now: datetime,
           regrow_factor: float, edited: str | None = None) -> FaqSuggestion:
    """Accept or dismiss suggestion ``suggestion_id``; raises :class:`DecisionError` when it cannot be."""
    with Session(engine) as session:
        row = session.get(FaqSuggestion, suggestion_id)
        if row is None:
            raise DecisionError(f"没有编号 {suggestion_id} 的建议。发送 /知识库 查看当前的建议。")
        if action == ACCEPT:
            _accept(session, row, edited, now)
            audit.result = f"采纳 #{row.id}（{row.count} 次）→ 知识库 {row.kb_id}"[:256]
        elif action == DISMISS:
            if row.status == ACCEPTED:
                raise DecisionError(f"#{row.id} 已采纳，答案在知识库里（{row.kb_id}）；要改答案请发 /知识库 采纳 {row.id} 新答案。")
            if row.status == DISMISSED and not regrown(row, regrow_factor):
                raise DecisionError(f"#{row.id} 已经忽略过了。")
            row.status = DISMISSED
            audit.result = f"忽略 #{row.id}（{row.count} 次）"[:256]
        else:
            raise DecisionError(f"不认识的操作「{action}」。")
        row.count_at_decision = row.count
        row.decided_by = user[:256]
        row.decided_at = now
        row.updated_at = now
        session.add(audit)
        session.commit()
        session.refresh(row)
        return row


def _accept(session: Session, row: FaqSuggestion, edited: str | None, now: datetime) -> None:
    edited = (edited or "").strip() or None
    if row.status == ACCEPTED and edited is None:
        raise DecisionError(f"#{row.id} 已经采纳过了；要改答案请发 /知识库 采纳 {row.id} 新答案。")
    answer = edited or row.edited_answer or row.answer
    if not answer:
        raise DecisionError(f"#{row.id} 没有候选答案，请在采纳时写上答案：/知识库 采纳 {row.id} 答案内容。")
    if row.kind == answers.REVIEW and row.kb_id:
        entry = session.get(KBEntry, row.kb_id)
        if entry is None:
            raise DecisionError(f"#{row.id} 复查的知识库条目 {row.kb_id} 已不存在。")
        entry.answer, entry.updated_at = answer, now
    else:
        kb_id = row.kb_id or f"faq-{row.id}"
        entry = session.get(KBEntry, kb_id)
        if entry is None:
            entry = KBEntry(kb_id=kb_id, question=tidy(row.question), answer=answer, tags=row.category, status="active",
                            source="mined", created_at=now, updated_at=now)
            session.add(entry)
        else:
            entry.answer, entry.status, entry.updated_at = answer, "active", now
        row.kb_id = kb_id
    row.status = ACCEPTED
    row.edited_answer = edited or row.edited_answer


@dataclass(frozen=True)
class ExportRow:
    question: str
    similar: list[str]
    answer: str
    category: str


def export_rows(engine: Engine) -> list[ExportRow]:
    """The accepted entries, oldest decision first, as the export lays them out."""
    with Session(engine) as session:
        stmt = (select(FaqSuggestion).where(FaqSuggestion.status == ACCEPTED)
                .order_by(FaqSuggestion.decided_at, FaqSuggestion.id))
        rows = list(session.scalars(stmt))
        out = []
        for row in rows:
            entry = session.get(KBEntry, row.kb_id) if row.kb_id else None
            question = entry.question if entry is not None else row.question
            answer = entry.answer if entry is not None else (row.edited_answer or row.answer)
            similar = [q for q in (row.stats or {}).get("similar", []) if q != question]
            out.append(ExportRow(question, similar, answer, row.category or "其他"))
    return out
