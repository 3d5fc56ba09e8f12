"""Digest subscriptions made in a chat, and the run log that makes each digest go out once.

``digest_runs`` has one row per (subscription key, scheduled date). A replica inserts it *before*
building the digest; the unique key means only one replica (or one restart) ever builds and queues a
given digest, whatever the number of ``csbot serve`` processes on the database. The row's lease lets
another replica take over a build whose replica died before queuing it. Times are aware, stored as UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# digest_runs.status
BUILDING = "building"  # claimed, digest being built (lease_until: when another replica may take over)
RETRY = "retry"  # the build failed; lease_until is when the next attempt may start
QUEUED = "queued"  # built and handed to the outbox (in the same transaction)
FAILED = "failed"  # gave up after the bounded attempts
SKIPPED = "skipped"  # missed by more than the misfire grace (the bot was down)


class DigestSubscription(SQLModel, table=True):
    __tablename__ = "digest_subscriptions"
    __table_args__ = (Index("ix_digest_sub_chat", "platform", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)  # 日报 / 周报
    days: str = Field(max_length=64)  # 每天 / 工作日 / 周一、周四
    at: str = Field(max_length=5)  # "HH:MM" local time
    filters: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sections: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Where it goes: the chat it was made in (an outbox Destination).
    platform: str = Field(max_length=16)
    dest_kind: str = Field(max_length=16)
    target: str = Field(max_length=256)
    extra: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    chat_id: str = Field(max_length=256)
    paused: bool = False
    created_by: str = Field(max_length=256)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DigestRun(SQLModel, table=True):
    __tablename__ = "digest_runs"
    __table_args__ = (
        UniqueConstraint("subscription_key", "day", name="uq_digest_run"),
        Index("ix_digest_runs_status", "status", "lease_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_key: str = Field(max_length=64)  # "sub:<id>" (chat) or "config:<hash>" (config file)
    day: date  # the local date the digest was scheduled for
    kind: str = Field(max_length=8)
    scheduled_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(max_length=16)
    owner: str = Field(max_length=64)  # the replica holding the claim
    lease_until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
