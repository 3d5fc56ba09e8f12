"""The inbox: accepted callback messages, persisted before the vendor gets its 200.

:meth:`Inbox.accept` inserts one row per message; the unique key ``(platform, message_id)`` makes
the insert the callback de-duplication shared by replicas and kept across restarts (a duplicate
insert fails and the message is not answered again). The replica that inserted the row holds a
lease on it (``claimed_by``, ``claimed_until``) and renews the leases of its in-flight rows; when a
replica dies its rows' leases run out and another replica (or the restarted one) claims and
answers them. A row whose owner was a process on this host that no longer runs is taken over at
once, without waiting for its lease (a restart after ``kill -9``).

Blocking methods run in a thread (``asyncio.to_thread``) from the dispatcher; the table is
``analytics.store.inbox.InboxMessage``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from analytics.store.inbox import DONE, FAILED, PENDING, InboxMessage
from bot.adapters.base import Destination, IncomingMessage

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- IncomingMessage <-> JSON


def _encode_value(value: Any) -> Any:
    if isinstance(value, Destination):
        return {"__destination__": {"platform": value.platform, "kind": value.kind, "target": value.target,
                                    "extra": dict(value.extra)}}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__destination__"}:
        d = value["__destination__"]
        return Destination(d["platform"], d["kind"], d["target"], dict(d.get("extra") or {}))
    return value


def encode_message(msg: IncomingMessage, request_id: str | None = None) -> dict[str, Any]:
    """``msg`` as JSON-able data, reply handle (its Destinations) included; ``request_id`` is the id of
    the callback that accepted it (the JSON logs' ``request_id``), kept for a recovered answer."""
    data = {
        "platform": msg.platform, "message_id": msg.message_id, "chat_id": msg.chat_id, "user_id": msg.user_id,
        "text": msg.text, "user_name": msg.user_name, "is_private": msg.is_private, "mentioned": msg.mentioned,
        "received_at": msg.received_at.isoformat() if msg.received_at else None,
        "reply_handle": {key: _encode_value(value) for key, value in msg.reply_handle.items()},
    }
    if request_id:
        data["request_id"] = request_id
    return data


def decode_message(data: dict[str, Any]) -> IncomingMessage:
    received = data.get("received_at")
    return IncomingMessage(
        platform=data["platform"], message_id=data["message_id"], chat_id=data["chat_id"], user_id=data["user_id"],
        text=data["text"], user_name=data.get("user_name", ""), is_private=bool(data.get("is_private")),
        mentioned=bool(data.get("mentioned", True)),
        received_at=datetime.fromisoformat(received) if received else None,
        reply_handle={key: _decode_value(value) for key, value in (data.get("reply_handle") or {}).items()},
    )


# ---------------------------------------------------------------- owners


def _owner_gone(owner: str | None, me: str) -> bool:
    """Whether ``owner`` (``host:pid:tag``, see ``bot.delivery.outbox.replica_id``) was a process on this
    host that is not running any more: this process under an earlier identity, or a pid that is gone."""
    if not owner or owner == me:
        return False
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname()[:32]:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # same pid, another tag: an earlier incarnation (a container's pid 1 after a restart)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Inbox:
    """Rows of :class:`InboxMessage`: accept (de-duplicating), finish, lease, reclaim, sweep."""

    def __init__(self, engine: Engine, owner: str, *, lease_seconds: float = 60.0, max_attempts: int = 3,
                 clock: Callable[[], datetime] = _utc_now):
        self.engine = engine
        self.owner = owner[:64]
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.clock = clock

    def accept(self, msg: IncomingMessage, request_id: str | None = None) -> int | None:
        """Store ``msg`` as pending, leased to this replica; its row id, or None when the (platform,
        message id) is already in the inbox (a vendor retry or a replay: not answered again).
        ``request_id`` (the callback's) is stored in the row's JSON for a recovered answer's logs."""
        now = self.clock()
        values = {"platform": msg.platform[:16], "message_id": msg.message_id[:256],
                  "message": encode_message(msg, request_id),
                  "received_at": now, "status": PENDING, "attempts": 1, "claimed_by": self.owner,
                  "claimed_until": now + self.lease, "updated_at": now}
        try:  # one Core INSERT on the request path (no ORM unit of work)
            with self.engine.begin() as conn:
                result = conn.execute(insert(InboxMessage).values(**values).returning(InboxMessage.id))
                return int(result.scalar_one())
        except IntegrityError:
            return None

    def finish(self, row_id: int, status: str = DONE, error: str | None = None) -> None:
        """The reply was sent or queued (``done``), or the message cannot be answered (``failed``)."""
        now = self.clock()
        values: dict[str, Any] = {"status": status, "updated_at": now, "claimed_until": None}
        if status == DONE:
            values["done_at"] = now
        if error is not None:
            values["last_error"] = error[:500]
        self._update(row_id, values)

    def release(self, row_id: int, error: str) -> None:
        """Give the row back (still pending): another round, here or on another replica, answers it."""
        now = self.clock()
        self._update(row_id, {"claimed_until": now, "last_error": error[:500], "updated_at": now})

    def _update(self, row_id: int, values: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(InboxMessage).where(InboxMessage.id == row_id,
                                                    InboxMessage.claimed_by == self.owner).values(**values))

    def renew(self, row_ids: list[int]) -> None:
        """Extend this replica's lease on the rows it is still working on."""
        if not row_ids:
            return
        with Session(self.engine) as session:
            session.execute(update(InboxMessage).where(
                InboxMessage.id.in_(row_ids), InboxMessage.status == PENDING, InboxMessage.claimed_by == self.owner)
                .values(claimed_until=self.clock() + self.lease))
            session.commit()

    def claim_stale(self, limit: int) -> list[tuple[int, IncomingMessage]]:
        """Claim up to ``limit`` pending rows nobody is working on (lease run out, or their owner's process
        is gone); rows past ``max_attempts`` are marked failed instead. Oldest first."""
        return [(row_id, msg) for row_id, msg, _rid in self.claim_stale_with_request_ids(limit)]

    def claim_stale_with_request_ids(self, limit: int) -> list[tuple[int, IncomingMessage, str | None]]:
        """:meth:`claim_stale`, each row with the request id of the callback that stored it (None for a
        row stored without one)."""
        if limit <= 0:
            return []
        now = self.clock()
        claimed: list[tuple[int, IncomingMessage, str | None]] = []
        with Session(self.engine) as session:
            candidates = session.exec(select(InboxMessage).where(InboxMessage.status == PENDING).where(or_(
                InboxMessage.claimed_until.is_(None), InboxMessage.claimed_until < now,
                InboxMessage.claimed_by != self.owner)).order_by(InboxMessage.id).limit(limit * 4)).all()
            session.expunge_all()
            session.commit()
            for row in candidates:
                if len(claimed) >= limit:
                    break
                until = _aware(row.claimed_until)
                if until is not None and until >= now and not _owner_gone(row.claimed_by, self.owner):
                    continue  # another live replica is on it
                owner_was = row.claimed_by
                give_up = row.attempts >= self.max_attempts
                values: dict[str, Any] = ({"status": FAILED, "claimed_by": self.owner, "claimed_until": None,
                                           "updated_at": now, "last_error": "attempts exhausted"} if give_up else
                                          {"claimed_by": self.owner, "claimed_until": now + self.lease,
                                           "attempts": row.attempts + 1, "updated_at": now})
                cond = [InboxMessage.id == row.id, InboxMessage.status == PENDING]
                cond.append(InboxMessage.claimed_by.is_(None) if owner_was is None
                            else InboxMessage.claimed_by == owner_was)
                cond.append(InboxMessage.attempts == row.attempts)  # every claim bumps it: a version
                result = session.execute(update(InboxMessage).where(*cond).values(**values))
                session.commit()
                if result.rowcount != 1:
                    continue  # another replica claimed it first (compare-and-set)
                if give_up:
                    log.error("inbox #%s (%s:%s) failed after %d attempts: %s", row.id, row.platform,
                              row.message_id[:24], row.attempts, row.last_error or "")
                    continue
                rid = row.message.get("request_id")
                claimed.append((int(row.id), decode_message(row.message), rid if isinstance(rid, str) else None))
        return claimed

    def sweep(self, older_than_days: float) -> int:
        """Delete rows received more than ``older_than_days`` ago (their ids are past every vendor's retry
        and signature window); returns how many."""
        cutoff = self.clock() - timedelta(days=older_than_days)
        with Session(self.engine) as session:
            result = session.execute(delete(InboxMessage).where(InboxMessage.received_at < cutoff))
            session.commit()
            return int(result.rowcount or 0)

    def counts(self) -> dict[str, int]:
        """Rows per status (for tests and inspection)."""
        out = {PENDING: 0, DONE: 0, FAILED: 0}
        with Session(self.engine) as session:
            for status in session.exec(select(InboxMessage.status)).all():
                out[status] = out.get(status, 0) + 1
        return out
