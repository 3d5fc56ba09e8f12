"""``[retention]``: rows older than a kind's days are deleted by a daily sweep, rollups kept exact.

:func:`sweep` deletes, per kind with a positive number of days, the rows whose own time (messages:
``sent_at``; conversations: ``started_at``; the others: ``created_at``; the audit log: ``at``) is before
``now − days``, in batches of ``batch`` ids, each batch one transaction through
:func:`analytics.privacy.rows.delete_rows` (rollups, 热词, 质检 sums stay exact; an interrupted sweep
leaves a consistent database and the next one continues). :func:`due` is the job's pure decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy import Engine, delete, select

from analytics.privacy.rows import ID_COLUMNS, KINDS, TABLES, delete_rows
from analytics.store.audit import AuditEntry

TIME_COLUMNS = {"conversations": "started_at", "messages": "sent_at", "complaints": "created_at",
                "orders": "created_at", "returns": "created_at", "reviews": "created_at"}
AUDIT = AuditEntry.__table__
#: Kinds a ``[retention]`` section names, in the order they are swept (children first).
RETENTION_KINDS = (*KINDS, "audit_log")


def cutoff(now: datetime, days: int) -> datetime:
    return (now - timedelta(days=days)).astimezone(UTC)


def sweep(engine: Engine, days: Mapping[str, int], now: datetime, *, batch: int = 2000) -> dict[str, int]:
    """Delete the rows older than their kind's days (0 or missing: kept); rows deleted per kind."""
    deleted: dict[str, int] = {}
    for kind in RETENTION_KINDS:
        keep = int(days.get(kind, 0) or 0)
        if keep <= 0:
            continue
        before = cutoff(now, keep)
        deleted[kind] = _sweep_audit(engine, before) if kind == "audit_log" else _sweep_kind(engine, kind, before,
                                                                                              batch)
    return deleted


def _sweep_kind(engine: Engine, kind: str, before: datetime, batch: int) -> int:
    table, key = TABLES[kind], ID_COLUMNS[kind]
    old = table.c[TIME_COLUMNS[kind]] < before
    total = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(select(key).where(old).order_by(key).limit(batch)).scalars())
            if not ids:
                return total
            total += delete_rows(conn, {kind: ids}).get(kind, 0)


def _sweep_audit(engine: Engine, before: datetime) -> int:
    with engine.begin() as conn:
        return conn.execute(delete(AUDIT).where(AUDIT.c.at < before)).rowcount or 0


def due(now: datetime, last_run: datetime | None, sweep_time: str, tz: tzinfo) -> bool:
    """Whether the daily sweep should run at ``now``: today's ``sweep_time`` (local) has passed and the
    last run (on any replica) was before it."""
    local = now.astimezone(tz)
    hour, minute = (int(p) for p in sweep_time.split(":"))
    today = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    if local < today:
        return False
    return last_run is None or last_run.astimezone(tz) < today
