"""Alerts that outlive a process: open and closed alerts, silences, and the evaluation lease.

``alerts`` has one row per alert, from its first breaching check (pending) to 已恢复. ``open_key`` is the
alert's key (``complaints``, ``rule:<name>``) while it is open and NULL once it is closed: a unique
column, so at most one open alert per key can exist whatever the number of replicas (NULLs do not
collide, on SQLite and PostgreSQL alike). ``state`` is the lifecycle's
:class:`analytics.alerts.AlertState` as JSON (``analytics.alerts.lifecycle.state_to_json``), so a
restart picks up a firing alert exactly where it was: neither forgotten nor sent again.

``alert_silences``: ``/静默`` — by a series word (``matcher``) or an alert id, until a time.
``job_leases``: one row per timed job that must not run on two replicas at once (``alerts``): an
evaluation holds it while it reads state, decides and queues, and releases it at the end.
Times are aware, stored as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel

# alerts.status
PENDING = "pending"  # breaching, not yet for the hold: nothing sent
FIRING = "firing"
RESOLVED = "resolved"  # 已恢复 (or resolved without ever being sent, when silenced throughout)
DROPPED = "dropped"  # pending that went back to normal before the hold: never an alert
OPEN = (PENDING, FIRING)


class AlertRecord(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status", "status", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)  # the N of /认领 N
    key: str = Field(max_length=128)
    open_key: str | None = Field(default=None, max_length=128, unique=True)
    status: str = Field(max_length=16)
    label: str = Field(max_length=256)  # 投诉 类别=物流
    state: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    notified: bool = False  # a firing message went out (so a 已恢复 will)
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    fired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    peak_observed: float | None = None
    claimed_by: str | None = Field(default=None, max_length=256)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AlertSilence(SQLModel, table=True):
    __tablename__ = "alert_silences"
    __table_args__ = (Index("ix_alert_silences_until", "until"),)

    id: int | None = Field(default=None, primary_key=True)
    matcher: str = Field(default="", max_length=256)  # a series label prefix: 投诉, 投诉 类别=物流
    alert_id: int | None = None
    until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=256)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class JobLease(SQLModel, table=True):
    __tablename__ = "job_leases"

    name: str = Field(primary_key=True, max_length=64)
    owner: str = Field(max_length=64)
    lease_until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_run_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
