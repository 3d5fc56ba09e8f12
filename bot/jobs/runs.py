"""Once-only digests, enforced by the database: the ``digest_runs`` claim protocol.

1. **Claim**: INSERT (subscription key, date) with status ``building``, this replica as owner and a
   lease. The unique key lets exactly one INSERT win, on SQLite and PostgreSQL alike; the losers see an
   IntegrityError and do nothing. A row left ``building`` by a replica that died (lease over), or
   ``retry`` after a failed build (its retry time reached), is taken over with a compare-and-set UPDATE
   (``WHERE status = … AND lease_until < now``), which again only one replica can win.
2. **Queue**: the outbox rows of the digest are inserted in the *same transaction* that moves the claim
   to ``queued`` (``WHERE owner = me AND status = 'building'``). Either both happen or neither: a
   replica that lost its claim while building (it was too slow and another took over) queues nothing.
   While a live replica builds, it renews its lease (:func:`renew`, every third of the lease), so only a
   replica that died — or stalled longer than a whole lease — is ever taken over; a slow build on a
   busy machine is not built twice.
3. **Fail**: a build that fails (database down) sets ``retry`` with the next attempt time, or
   ``failed`` after the bounded attempts; nothing is queued, so no half digest goes out.

These functions block (database I/O): the job calls them in a thread. Times are stored as UTC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from analytics.store.digests import BUILDING, FAILED, QUEUED, RETRY, SKIPPED, DigestRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """This replica holds the right to build and queue digest (``key``, ``day``)."""

    run_id: int
    key: str
    day: date
    owner: str
    attempt: int  # 1 for the first build, 2 after one failure, …


def claim(engine: Engine, key: str, day: date, kind: str, scheduled_at: datetime, owner: str, now: datetime,
          lease: timedelta, max_attempts: int, *, manual: bool = False) -> Claim | None:
    """Claim (``key``, ``day``) for ``owner``; None when another replica has it or it is done.

    ``manual`` (``csbot digest --send``): a digest that was skipped or gave up may be claimed again; one
    that was queued may not.
    """
    now, scheduled_at = now.astimezone(UTC), scheduled_at.astimezone(UTC)  # SQLite keeps no offset: store UTC
    row = DigestRun(subscription_key=key, day=day, kind=kind, scheduled_at=scheduled_at, status=BUILDING,
                    owner=owner, lease_until=now + lease, attempts=1, created_at=now, updated_at=now)
    with Session(engine) as session:
        session.add(row)
        try:
            session.commit()
            return Claim(int(row.id or 0), key, day, owner, 1)
        except IntegrityError:
            session.rollback()
    return _take_over(engine, key, day, owner, now, lease, max_attempts, manual)


def _take_over(engine: Engine, key: str, day: date, owner: str, now: datetime, lease: timedelta,
               max_attempts: int, manual: bool) -> Claim | None:
    with Session(engine) as session:
        row = session.exec(select(DigestRun).where(DigestRun.subscription_key == key, DigestRun.day == day)).first()
        if row is None:
            return None
        session.expunge(row)  # plain data from here: the UPDATEs below need not sync an ORM object
        run_id, attempts, status = row.id, row.attempts, row.status
        if manual and status in (SKIPPED, FAILED):
            attempts = 0  # an operator's explicit send starts a fresh series of attempts
        elif status not in (BUILDING, RETRY) or _aware(row.lease_until) > now:
            return None
        if attempts >= max_attempts:
            session.execute(update(DigestRun).where(DigestRun.id == run_id, DigestRun.status == status,
                                                    DigestRun.attempts == attempts)
                            .values(status=FAILED, updated_at=now,
                                    last_error=(row.last_error or f"gave up after {attempts} attempts")[:500]))
            session.commit()
            log.error("digest %s %s: gave up after %d attempts (%s)", key, day, attempts, row.last_error or "")
            return None
        if status == BUILDING:
            log.warning("digest %s %s: replica %s did not finish within its lease; taking over", key, day, row.owner)
        result = session.execute(update(DigestRun).where(
            DigestRun.id == run_id, DigestRun.status == status, DigestRun.attempts == row.attempts,
            DigestRun.lease_until <= now).values(status=BUILDING, owner=owner, lease_until=now + lease,
                                                attempts=attempts + 1, updated_at=now))
        session.commit()
        return Claim(int(run_id or 0), key, day, owner, attempts + 1) if result.rowcount == 1 else None


def finish(session: Session, claim_: Claim, now: datetime) -> bool:
    """Inside the caller's transaction (which also inserts the outbox rows): move the claim to queued.

    False when the claim was lost meanwhile: the caller must roll back and queue nothing.
    """
    now = now.astimezone(UTC)
    result = session.execute(update(DigestRun).where(
        DigestRun.id == claim_.run_id, DigestRun.owner == claim_.owner, DigestRun.status == BUILDING)
        .values(status=QUEUED, updated_at=now, last_error=None))
    return result.rowcount == 1


def renew(engine: Engine, claim_: Claim, now: datetime, lease: timedelta) -> bool:
    """Extend ``claim_``'s lease while it builds. False when the claim was lost (another replica took over)."""
    now = now.astimezone(UTC)
    with Session(engine) as session:
        result = session.execute(update(DigestRun).where(
            DigestRun.id == claim_.run_id, DigestRun.owner == claim_.owner, DigestRun.status == BUILDING,
            DigestRun.attempts == claim_.attempt).values(lease_until=now + lease, updated_at=now))
        session.commit()
    return result.rowcount == 1


def fail(engine: Engine, claim_: Claim, reason: str, now: datetime, retry_at: datetime | None) -> None:
    """A build failed: retry at ``retry_at`` (another replica may do it), or give up when None."""
    status = RETRY if retry_at is not None else FAILED
    now, retry_at = now.astimezone(UTC), retry_at.astimezone(UTC) if retry_at else None
    with Session(engine) as session:
        session.execute(update(DigestRun).where(DigestRun.id == claim_.run_id, DigestRun.owner == claim_.owner,
                                                DigestRun.status == BUILDING)
                        .values(status=status, lease_until=retry_at or now, last_error=reason[:500], updated_at=now))
        session.commit()


def skip(engine: Engine, key: str, day: date, kind: str, scheduled_at: datetime, owner: str, now: datetime,
         reason: str) -> bool:
    """Record a fire time missed beyond the grace, so no replica sends it later. False if already recorded."""
    now, scheduled_at = now.astimezone(UTC), scheduled_at.astimezone(UTC)
    row = DigestRun(subscription_key=key, day=day, kind=kind, scheduled_at=scheduled_at, status=SKIPPED,
                    owner=owner, lease_until=now, attempts=0, last_error=reason[:500], created_at=now, updated_at=now)
    with Session(engine) as session:
        session.add(row)
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
            return False


def settled(engine: Engine, keys: list[str], since: date) -> set[tuple[str, date]]:
    """(key, day) pairs from ``since`` on that need no more work (queued, failed or skipped)."""
    if not keys:
        return set()
    with Session(engine) as session:
        rows = session.exec(select(DigestRun.subscription_key, DigestRun.day).where(
            DigestRun.subscription_key.in_(keys), DigestRun.day >= since,
            or_(DigestRun.status == QUEUED, DigestRun.status == FAILED, DigestRun.status == SKIPPED))).all()
    return {(k, d) for k, d in rows}


def runs(engine: Engine, key: str | None = None) -> list[DigestRun]:
    """The run log (newest first), for inspection and tests."""
    with Session(engine) as session:
        query = select(DigestRun).order_by(DigestRun.id.desc())  # type: ignore[union-attr]
        if key is not None:
            query = query.where(DigestRun.subscription_key == key)
        found = list(session.exec(query).all())
        session.expunge_all()
    return found


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
