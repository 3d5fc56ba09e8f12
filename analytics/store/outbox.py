"""The outbox: every outgoing push (digest, alert, late reply) is a row here before it is sent.

The transport (``bot.delivery``) writes and drains it; the table lives beside the other tables so
one migration chain owns the schema. A row is written *before* delivery is attempted and updated
after, so a crash or restart loses nothing: pending rows are picked up by the next worker.
Rows with status ``sent`` double as the delivery log that deduplication checks against.
Times are aware and stored as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

PENDING = "pending"
SENT = "sent"
FAILED = "failed"  # permanent error or retries exhausted
MUTED = "muted"
DUPLICATE = "duplicate"
FINAL_STATES = (SENT, FAILED, MUTED, DUPLICATE)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_dest_dedup", "destination_key", "dedup_key", "status"),
        Index("ix_outbox_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    platform: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    target: str = Field(max_length=256)
    destination_key: str = Field(max_length=300)
    extra: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    title: str | None = Field(default=None, max_length=256)
    text: str = Field(sa_column=Column(Text, nullable=False))
    # [{"path": "...", "title": "..."}]: charts are kept as files under the chart dir, by path.
    charts: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reply_ok: bool = True
    dedup_key: str | None = Field(default=None, max_length=256)
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    parts_sent: int = 0  # parts of a split message already delivered: a retry resumes after them
    next_attempt_at: datetime
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    # The replica sending this row and until when its claim holds (NULL: unclaimed). Another replica
    # takes the row over only after ``claimed_until``: a killed replica's rows are not stuck.
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None
