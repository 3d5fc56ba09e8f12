"""Digest subscriptions made in a chat: create, list, pause/resume, edit, delete — each change and its
audit-log row written in one transaction, so no change goes unrecorded.

A subscription belongs to the chat it was made in (``platform`` + ``chat_id``) and is delivered there;
it is only listed and changed from that chat. Blocking database I/O: handlers call these in a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from analytics.store.audit import AuditEntry
from analytics.store.digests import DigestSubscription


def create(engine: Engine, sub: DigestSubscription, audit: AuditEntry,
           describe: Callable[[DigestSubscription], str]) -> DigestSubscription:
    """Store ``sub``; the audit row's result is ``describe(sub)`` once the id is known."""
    with Session(engine) as session:
        session.add(sub)
        session.flush()
        audit.result = describe(sub)[:256]
        session.add(audit)
        session.commit()
        session.refresh(sub)
        session.expunge(sub)
    return sub


def for_chat(engine: Engine, platform: str, chat_id: str) -> list[DigestSubscription]:
    with Session(engine) as session:
        found = list(session.exec(select(DigestSubscription).where(
            DigestSubscription.platform == platform, DigestSubscription.chat_id == chat_id)
            .order_by(DigestSubscription.id)).all())
        session.expunge_all()
    return found


def active(engine: Engine) -> list[DigestSubscription]:
    """Every subscription not paused, for the scheduler."""
    with Session(engine) as session:
        found = list(session.exec(select(DigestSubscription).where(DigestSubscription.paused == False)  # noqa: E712
                                  .order_by(DigestSubscription.id)).all())
        session.expunge_all()
    return found


def change(engine: Engine, sub_id: int, platform: str, chat_id: str, values: dict[str, Any], audit: AuditEntry,
           describe: Callable[[DigestSubscription, DigestSubscription], str], now: datetime
           ) -> DigestSubscription | None:
    """Apply ``values`` to subscription ``sub_id`` of this chat (None: no such subscription here); the
    audit row's result is ``describe(before, after)``."""
    with Session(engine) as session:
        sub = _own(session, sub_id, platform, chat_id)
        if sub is None:
            return None
        before = DigestSubscription.model_validate(sub.model_dump())
        for key, value in values.items():
            setattr(sub, key, value)
        sub.updated_at = now.astimezone(UTC)
        session.add(sub)
        audit.result = describe(before, sub)[:256]
        session.add(audit)
        session.commit()
        session.refresh(sub)
        session.expunge(sub)
    return sub


def remove(engine: Engine, sub_id: int, platform: str, chat_id: str, audit: AuditEntry,
           describe: Callable[[DigestSubscription], str]) -> DigestSubscription | None:
    with Session(engine) as session:
        sub = _own(session, sub_id, platform, chat_id)
        if sub is None:
            return None
        gone = DigestSubscription.model_validate(sub.model_dump())
        session.delete(sub)
        audit.result = describe(gone)[:256]
        session.add(audit)
        session.commit()
    return gone


def _own(session: Session, sub_id: int, platform: str, chat_id: str) -> DigestSubscription | None:
    sub = session.get(DigestSubscription, sub_id)
    if sub is None or sub.platform != platform or sub.chat_id != chat_id:
        return None
    return sub
