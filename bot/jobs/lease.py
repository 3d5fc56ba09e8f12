"""A named job that runs on one replica at a time: the ``job_leases`` row as a mutex with a lease.

:func:`acquire` takes the row when it is free (its lease is over, or this replica holds it) with one
compare-and-set UPDATE — or creates it with an INSERT that only one replica can win — and
:func:`hold` re-checks it *inside* the transaction that writes the job's results, renewing it; a
replica whose lease ran out (it stalled and another took over) finds ``hold`` False, rolls back and
writes nothing. :func:`release` ends the lease at once so the next run (on any replica) need not wait.
A replica killed while holding it blocks the job for at most the lease. Blocking (database I/O):
call in a thread. Times are stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from analytics.store.alerts import JobLease, aware


def acquire(engine: Engine, name: str, owner: str, now: datetime, lease: timedelta) -> datetime | None:
    """Take the lease on ``name`` for ``owner``; returns when the job last finished (``last_run_at``,
    or the epoch for a job that never ran), None when another replica holds it."""
    now = now.astimezone(UTC)
    with Session(engine) as session:
        result = session.execute(update(JobLease).where(
            JobLease.name == name, or_(JobLease.owner == owner, JobLease.lease_until <= now))
            .values(owner=owner, lease_until=now + lease))
        if result.rowcount == 1:
            row = session.get(JobLease, name)
            last = aware(row.last_run_at) if row is not None else None
            session.commit()
            return last or datetime.fromtimestamp(0, UTC)
        if session.get(JobLease, name) is not None:
            session.rollback()
            return None
        session.add(JobLease(name=name, owner=owner, lease_until=now + lease))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
    return datetime.fromtimestamp(0, UTC)


def hold(session: Session, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Inside the caller's transaction: whether ``owner`` still holds ``name`` (renewing it)."""
    now = now.astimezone(UTC)
    result = session.execute(update(JobLease).where(JobLease.name == name, JobLease.owner == owner,
                                                    JobLease.lease_until > now)
                             .values(lease_until=now + lease))
    return result.rowcount == 1


def release(session: Session, name: str, owner: str, now: datetime, *, ran: bool) -> None:
    """Inside the caller's transaction (or alone): end ``owner``'s lease; ``ran`` records a finished run."""
    now = now.astimezone(UTC)
    values: dict = {"lease_until": now}
    if ran:
        values["last_run_at"] = now
    session.execute(update(JobLease).where(JobLease.name == name, JobLease.owner == owner).values(**values))


def release_now(engine: Engine, name: str, owner: str, now: datetime) -> None:
    with Session(engine) as session:
        release(session, name, owner, now, ran=False)
        session.commit()
