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

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, Index
from sqlmodel import Field, Session, SQLModel, select

from analytics.store.audit import AuditEntry

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


# -- queries (blocking: handlers call them in a thread) ---------------------------------------------------

def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite returns naive datetimes)."""
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def open_alerts(engine: Engine) -> list[AlertRecord]:
    """Pending and firing alerts, oldest first (detached rows)."""
    with Session(engine) as session:
        rows = list(session.exec(select(AlertRecord).where(AlertRecord.status.in_(OPEN))  # type: ignore[attr-defined]
                                 .order_by(AlertRecord.id)).all())
        session.expunge_all()
    return rows


def recent_alerts(engine: Engine, since: datetime, limit: int = 5) -> list[AlertRecord]:
    """Alerts resolved since ``since`` that were sent, newest first."""
    with Session(engine) as session:
        rows = list(session.exec(select(AlertRecord).where(
            AlertRecord.status == RESOLVED, AlertRecord.notified == True,  # noqa: E712 - SQL
            AlertRecord.resolved_at >= _utc(since)).order_by(AlertRecord.id.desc()).limit(limit)).all())  # type: ignore[union-attr]
        session.expunge_all()
    return rows


def get_alert(engine: Engine, alert_id: int) -> AlertRecord | None:
    with Session(engine) as session:
        row = session.get(AlertRecord, alert_id)
        if row is not None:
            session.expunge(row)
    return row


def claim_alert(engine: Engine, alert_id: int, who: str, now: datetime, audit: AuditEntry) -> AlertRecord | None:
    """``/认领 N``: record who handles an open alert (and the audit row, in one transaction). None when
    N is not an open alert."""
    with Session(engine) as session:
        row = session.get(AlertRecord, alert_id)
        if row is None or row.status not in OPEN:
            return None
        row.claimed_by, row.claimed_at, row.updated_at = who[:256], _utc(now), _utc(now)
        audit.result = f"认领 #{alert_id}"[:256]
        session.add(row)
        session.add(audit)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return row


def add_silence(engine: Engine, until: datetime, who: str, now: datetime, audit: AuditEntry, *,
                matcher: str = "", alert_id: int | None = None) -> AlertSilence:
    """``/静默``: a silence until ``until`` for a series label prefix or one alert id (with its audit row)."""
    row = AlertSilence(matcher=matcher[:256], alert_id=alert_id, until=_utc(until), created_by=who[:256],
                       created_at=_utc(now))
    with Session(engine) as session:
        session.add(row)
        session.flush()
        audit.result = f"静默 #{row.id} 至 {_utc(until).isoformat()}"[:256]
        session.add(audit)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    return row


def cancel_silences(engine: Engine, alert_id: int, labels: list[str], now: datetime,
                    audit: AuditEntry) -> list[AlertSilence]:
    """``/取消静默 N``: end the active silences that match alert N (by id, or by a matcher its label
    starts with). Returns the silences ended."""
    now = _utc(now)
    with Session(engine) as session:
        active = session.exec(select(AlertSilence).where(AlertSilence.until > now,
                                                          AlertSilence.cancelled_at == None)).all()  # noqa: E711
        ended = [s for s in active if s.alert_id == alert_id
                 or (s.matcher and any(label.startswith(s.matcher) for label in labels))]
        for s in ended:
            s.cancelled_at = now
            session.add(s)
        audit.result = f"取消静默 #{alert_id}：{len(ended)} 条"[:256]
        session.add(audit)
        session.commit()
        for s in ended:
            session.refresh(s)
        session.expunge_all()
    return ended


def active_silences(engine: Engine, now: datetime) -> list[AlertSilence]:
    with Session(engine) as session:
        rows = list(session.exec(select(AlertSilence).where(AlertSilence.until > _utc(now),
                                                            AlertSilence.cancelled_at == None)).all())  # noqa: E711
        session.expunge_all()
    return rows
