"""The inbox and the shared outbound rate-limit state of ``csbot serve``.

``inbox``: every chat message a callback accepted, written *before* the vendor gets its 200, with
the parsed message (and its reply handle) as JSON. Its unique key ``(platform, message_id)`` is
the callback de-duplication shared by all replicas and kept across restarts: a vendor retry sent
to another replica, or a captured request replayed after a restart, finds the row and is not
answered again. A row is ``pending`` until its reply is sent or queued in the outbox (``done``),
or until it ran out of attempts (``failed``); the replica working on it holds a lease
(``claimed_by``/``claimed_until``) so a killed replica's rows are answered by the next one.
Old rows are deleted by a TTL sweep (``[server] inbox_retention_days``).

``rate_limit_state``: per destination, the send times still inside the vendor's windows, updated
with a compare-and-set on ``version`` so replicas share one budget and a restart cannot burst.
Times are aware and stored as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

PENDING = "pending"
DONE = "done"
FAILED = "failed"


class InboxMessage(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "message_id", name="uq_inbox_platform_message"),
        Index("ix_inbox_status_claim", "status", "claimed_until"),
        Index("ix_inbox_received", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    message_id: str = Field(max_length=256)
    # The IncomingMessage as JSON, reply handle (live and durable Destinations) included.
    message: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    updated_at: datetime
    done_at: datetime | None = None


class RateLimitState(SQLModel, table=True):
    __tablename__ = "rate_limit_state"

    destination_key: str = Field(primary_key=True, max_length=300)
    platform: str = Field(max_length=16)
    # Epoch seconds of the sends still inside the longest window, oldest first.
    sends: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = 0
    updated_at: datetime
