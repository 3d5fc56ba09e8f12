"""Durable delivery: persist every outgoing push first, then let one worker drain the outbox.

``enqueue`` writes the row and wakes the worker; the worker runs each due row through the
pipeline (:mod:`bot.delivery.pipeline`) and stores the outcome. Rows to one destination go out in
order: a row waiting for its retry time holds back later rows to the same place, while other
destinations carry on. A restart loses nothing: a new :class:`Outbox` on the same database sends
whatever is still pending. Delivery is at-least-once: a crash between a vendor accepting a part
and the row being updated re-sends that one part; progress is saved after every part so a long
split message never repeats from the start.

Any number of workers (``csbot serve`` replicas) may share one database. A worker *claims* the rows
it is about to send (``claimed_by`` = its replica id, ``claimed_until`` = now + the lease, renewed
after every part) with a conditional UPDATE; on PostgreSQL the candidate rows are read ``FOR UPDATE
SKIP LOCKED`` so two workers never wait on each other. A row claimed by another worker whose lease has
not run out is left alone, and so are the later rows to the same destination (order is kept across
workers); a killed worker's rows are picked up by another once their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, func, or_, update
from sqlmodel import Session, select

from analytics.store.outbox import FINAL_STATES, PENDING, SENT, OutboxMessage
from bot import logs
from bot.adapters.base import Destination, Sender
from bot.config import DeliverySettings
from bot.delivery.pipeline import Clock, Delivery, Outcome, Verdict, build_pipeline
from bot.delivery.ratelimit import SlidingWindowLimiter
from handlers.base import Attachment, Chart, Reply

log = logging.getLogger(__name__)

BATCH = 500


def _utc_now() -> datetime:
    return datetime.now(UTC)


def replica_id() -> str:
    """A name for this process among the replicas sharing a database: host, pid and a random tag."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def row_from(destination: Destination, reply: Reply, dedup_key: str | None, now: datetime) -> OutboxMessage:
    """The row for one push; inside a request (a callback's command) it carries the request id in ``extra``."""
    extra = dict(destination.extra)
    rid = logs.request_id.get()
    if rid:
        extra[logs.EXTRA_KEY] = rid
    return OutboxMessage(
        created_at=now, platform=destination.platform, kind=destination.kind, target=destination.target,
        destination_key=destination.key, extra=extra or None, title=reply.title,
        text=reply.text, charts=_attachments(reply) or None,
        reply_ok=reply.ok, dedup_key=dedup_key, status=PENDING, attempts=0, parts_sent=0,
        next_attempt_at=now, updated_at=now,
    )


def _attachments(reply: Reply) -> list[dict]:
    """Charts, then files (``"file": true``), in the row's one JSON column: a queued export keeps its files."""
    return ([{"path": str(c.path), "title": c.title} for c in reply.charts]
            + [{"path": str(f.path), "title": f.title, "file": True} for f in reply.files])


def delivery_from(row: OutboxMessage) -> Delivery:
    extra = {k: v for k, v in (row.extra or {}).items() if k != logs.EXTRA_KEY}  # the request id is ours, not the sender's
    destination = Destination(row.platform, row.kind, row.target, extra)
    charts = [Chart(Path(c["path"]), c.get("title", "")) for c in row.charts or [] if not c.get("file")]
    files = [Attachment(Path(c["path"]), c.get("title", "")) for c in row.charts or [] if c.get("file")]
    reply = Reply(text=row.text, title=row.title, charts=charts, files=files, ok=row.reply_ok)
    return Delivery(row.id, destination, reply, _aware(row.created_at), row.dedup_key, row.attempts, row.parts_sent)


class Outbox:
    """The outbox table plus its worker; also the delivery log the pipeline deduplicates against."""

    def __init__(self, engine: Engine, senders: Mapping[str, Sender], clock: Clock | None = None, *,
                 settings: DeliverySettings | None = None, tz: ZoneInfo | None = None,
                 rng: random.Random | None = None, limiter: SlidingWindowLimiter | None = None,
                 owner: str | None = None):
        self.engine = engine
        self.owner = owner or replica_id()
        self.senders = dict(senders)
        self.clock: Clock = clock or _utc_now
        self.settings = settings or DeliverySettings()
        self.pipeline = build_pipeline(self.senders, self, settings=self.settings, tz=tz or ZoneInfo("Asia/Shanghai"),
                                       clock=self.clock, rng=rng, limiter=limiter)
        self._wake = asyncio.Event()
        self._round = asyncio.Lock()
        self._stopping = False
        self._last_prune: datetime | None = None
        # Called with (platform, verdict) after each delivery attempt (the server's metrics).
        self.on_outcome: Callable[[str, str], None] | None = None

    # ------------------------------------------------------------ producer side

    async def enqueue(self, destination: Destination, reply: Reply, *, dedup_key: str | None = None) -> None:
        """Persist ``reply`` for ``destination`` and wake the worker. Returns once the row is stored.

        A second enqueue with the same ``dedup_key`` while the first is still pending is dropped.
        """
        row = row_from(destination, reply, dedup_key, self.clock())
        stored = await asyncio.to_thread(self._insert, row)
        if stored:
            self._wake.set()

    async def enqueue_guarded(self, items: list[tuple[Destination, Reply]], guard: Callable[[Session], bool], *,
                              dedup_key: str | None = None) -> bool:
        """Persist one row per (destination, reply) in one transaction, only if ``guard(session)`` (run first,
        in that transaction) returns True; otherwise store nothing. The digest job's guard moves its
        once-only claim to "queued", so a digest is queued exactly when its claim says so."""
        now = self.clock()
        rows = [row_from(destination, reply, dedup_key, now) for destination, reply in items]
        stored = await asyncio.to_thread(self._insert_guarded, rows, guard)
        if stored:
            self._wake.set()
        return stored

    def wake(self) -> None:
        """Rows were stored by someone else (the alert job's own transaction): deliver them now.
        Call on the event loop."""
        self._wake.set()

    def _insert_guarded(self, rows: list[OutboxMessage], guard: Callable[[Session], bool]) -> bool:
        with Session(self.engine) as session:
            if not guard(session):
                session.rollback()
                return False
            session.add_all(rows)
            session.commit()
            return True

    def _insert(self, row: OutboxMessage) -> bool:
        with Session(self.engine) as session:
            if row.dedup_key:
                twin = session.exec(select(OutboxMessage.id).where(
                    OutboxMessage.destination_key == row.destination_key,
                    OutboxMessage.dedup_key == row.dedup_key, OutboxMessage.status == PENDING).limit(1)).first()
                if twin is not None:
                    log.info("outbox: %s already pending for %s, not queued twice", row.dedup_key,
                             row.destination_key)
                    return False
            session.add(row)
            session.commit()
            return True

    # ------------------------------------------------------------ delivery log (pipeline side)

    async def last_sent(self, delivery: Delivery) -> datetime | None:
        return await asyncio.to_thread(self._last_sent, delivery.destination.key, delivery.dedup_key)

    def _last_sent(self, destination_key: str, dedup_key: str | None) -> datetime | None:
        with Session(self.engine) as session:
            value = session.exec(select(func.max(OutboxMessage.sent_at)).where(
                OutboxMessage.destination_key == destination_key, OutboxMessage.dedup_key == dedup_key,
                OutboxMessage.status == SENT)).one()
        return _aware(value) if value else None

    async def record_progress(self, delivery: Delivery, parts_sent: int, now: datetime) -> None:
        await asyncio.to_thread(self._update, delivery.id, parts_sent=parts_sent, updated_at=now,
                                claimed_until=now + self._lease)

    async def record_sent(self, delivery: Delivery, now: datetime) -> None:
        await asyncio.to_thread(self._update, delivery.id, status=SENT, sent_at=now, parts_sent=delivery.parts_sent,
                                attempts=delivery.attempts, last_error=None, updated_at=now)

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self.settings.claim_lease_seconds)

    def _update(self, row_id: int | None, **values: object) -> None:
        with Session(self.engine) as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))
            session.commit()

    # ------------------------------------------------------------ worker

    async def run(self) -> None:
        """Deliver due rows until :meth:`stop`; sleep until the next row is due or a new one arrives."""
        self._stopping = False
        while not self._stopping:
            try:
                await self._round_once()
                await asyncio.to_thread(self._maybe_prune)
                delay = await asyncio.to_thread(self._next_due_in)
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable
                log.exception("outbox worker round failed; retrying")
                delay = self.settings.poll_seconds
            if self._stopping:
                break
            timeout = self.settings.poll_seconds if delay is None else min(delay, self.settings.poll_seconds)
            self._wake.clear()
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the round in progress (nothing in flight is cut off)."""
        self._stopping = True
        self._wake.set()

    async def drain(self) -> int:
        """Deliver everything due now (for tests and graceful shutdown); returns rows finished."""
        finished = 0
        while True:
            done = await self._round_once()
            finished += done
            if done == 0:
                return finished

    def _next_due_in(self) -> float | None:
        """Seconds until the earliest *head* row (first pending row of a destination) is due.

        Rows queued behind a waiting head are not due before it, so they do not count; counting
        them would spin the worker while a destination waits out a rate limit.
        """
        heads: dict[str, datetime] = {}
        with Session(self.engine) as session:
            for key, due, owner, until in session.exec(
                    select(OutboxMessage.destination_key, OutboxMessage.next_attempt_at, OutboxMessage.claimed_by,
                           OutboxMessage.claimed_until)
                    .where(OutboxMessage.status == PENDING).order_by(OutboxMessage.id).limit(BATCH)).all():
                if owner is not None and owner != self.owner and until is not None:
                    due = max(_aware(due), _aware(until))  # another worker's row: due when its lease ends
                heads.setdefault(key, _aware(due))
        if not heads:
            return None
        return max(0.0, (min(heads.values()) - self.clock()).total_seconds())

    async def _round_once(self) -> int:
        async with self._round:
            queues = await asyncio.to_thread(self._due_queues, self.clock())
            results = await asyncio.gather(*(self._deliver_queue(q) for q in queues))
            return sum(results)

    def _due_queues(self, now: datetime) -> list[list[OutboxMessage]]:
        """Claim and return the pending rows per destination in order, cut at the first row not yet due
        or held by another worker."""
        postgres = self.engine.dialect.name == "postgresql"
        with Session(self.engine) as session:
            query = select(OutboxMessage).where(OutboxMessage.status == PENDING).order_by(OutboxMessage.id).limit(BATCH)
            if postgres:  # rows another worker is claiming right now are skipped, not waited for
                query = query.with_for_update(skip_locked=True)
            rows = session.exec(query).all()
            session.expunge_all()
            if not postgres:
                session.commit()  # SQLite: end the read snapshot so the UPDATE below sees the newest rows
            queues: dict[str, list[OutboxMessage]] = {}
            blocked: set[str] = set()
            for row in rows:
                key = row.destination_key
                if key in blocked:
                    continue
                held = (row.claimed_by not in (None, self.owner) and row.claimed_until is not None
                        and _aware(row.claimed_until) > now)
                if held or _aware(row.next_attempt_at) > now:
                    blocked.add(key)
                    continue
                queues.setdefault(key, []).append(row)
            ids = [row.id for queue in queues.values() for row in queue]
            if not ids:
                session.commit()
                return []
            session.execute(update(OutboxMessage).where(
                OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING,
                or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_by == self.owner,
                    OutboxMessage.claimed_until < now)).values(claimed_by=self.owner, claimed_until=now + self._lease))
            session.commit()
            mine = set(session.exec(select(OutboxMessage.id).where(OutboxMessage.id.in_(ids),
                                                                   OutboxMessage.claimed_by == self.owner)).all())
            # Keep order across workers: a destination with an older pending row that is not ours (another
            # worker is on it, or just claimed it) waits; our claim on its later rows is given back.
            firsts = {q[0].destination_key: q[0].id for q in queues.values() if q[0].id in mine}
            older = {key for key, first in firsts.items() if self._older_row_exists(session, key, first)}
            result, give_back = [], []
            for queue in queues.values():
                key = queue[0].destination_key
                run = []
                for row in queue:  # a run of our rows from the head; stop at the first row we did not get
                    if row.id not in mine:
                        break
                    run.append(row)
                if key in older or not run:
                    give_back += [row.id for row in queue if row.id in mine]
                    continue
                give_back += [row.id for row in queue[len(run):] if row.id in mine]
                result.append(run)
            if give_back:
                self._release(session, give_back)
        return result

    def _older_row_exists(self, session: Session, key: str, first_id: int | None) -> bool:
        return session.exec(select(OutboxMessage.id).where(
            OutboxMessage.status == PENDING, OutboxMessage.destination_key == key, OutboxMessage.id < first_id,
            or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_by != self.owner)).limit(1)).first() is not None

    def _release(self, session: Session, ids: list[int | None]) -> None:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == self.owner)
                        .values(claimed_by=None, claimed_until=None))
        session.commit()

    def _renew(self, row_id: int | None) -> bool:
        """Extend our claim on a row before sending it; False when another worker has taken it over."""
        now = self.clock()
        with Session(self.engine) as session:
            result = session.execute(update(OutboxMessage).where(
                OutboxMessage.id == row_id, OutboxMessage.status == PENDING, OutboxMessage.claimed_by == self.owner)
                .values(claimed_until=now + self._lease))
            session.commit()
            return result.rowcount == 1

    async def _heartbeat(self, row_id: int | None) -> None:
        """Keep our claim alive while one row is being sent (a slow vendor may take longer than the lease:
        without this another worker would take the row over and send it a second time)."""
        while True:
            await asyncio.sleep(self.settings.claim_lease_seconds / 3)
            try:
                renewed = await asyncio.to_thread(self._renew, row_id)
            except Exception:  # noqa: BLE001 - the database hiccuped; the next beat tries again
                log.warning("outbox #%s: could not renew the claim", row_id, exc_info=True)
                continue
            if not renewed:
                log.warning("outbox #%s: claim lost to another worker while sending", row_id)
                return

    async def _deliver_queue(self, rows: list[OutboxMessage]) -> int:
        finished = 0
        for index, row in enumerate(rows):
            if not await asyncio.to_thread(self._renew, row.id):
                log.warning("outbox #%s: claim lost to another worker; leaving the rest of %s to it", row.id,
                            row.destination_key)
                break
            delivery = delivery_from(row)
            token = logs.request_id.set((row.extra or {}).get(logs.EXTRA_KEY))  # this row's log lines carry its id
            try:
                heartbeat = asyncio.create_task(self._heartbeat(row.id))
                try:
                    outcome = await self.pipeline.run(delivery)
                finally:
                    heartbeat.cancel()
                await asyncio.to_thread(self._store_outcome, delivery, outcome)
                self._log_outcome(delivery, outcome)
            finally:
                logs.request_id.reset(token)
            if self.on_outcome is not None:
                self.on_outcome(delivery.destination.platform, outcome.verdict.value)
            if outcome.verdict is Verdict.DEFERRED:
                rest = [r.id for r in rows[index:]]
                await asyncio.to_thread(self._release_ids, rest)
                break
            finished += 1
        return finished

    def _release_ids(self, ids: list[int | None]) -> None:
        with Session(self.engine) as session:
            self._release(session, ids)

    def _store_outcome(self, delivery: Delivery, outcome: Outcome) -> None:
        now = self.clock()
        if outcome.verdict is Verdict.SENT:
            return  # RecordStage already wrote the log row
        values: dict[str, object] = {"parts_sent": outcome.parts_sent, "attempts": outcome.attempts,
                                     "updated_at": now}
        if outcome.error is not None:
            values["last_error"] = outcome.error[:500]
        if outcome.verdict is Verdict.DEFERRED:
            values["next_attempt_at"] = outcome.retry_at or now
        else:
            values["status"] = outcome.verdict.value
            if outcome.verdict is not Verdict.FAILED and outcome.error is None:
                values["last_error"] = outcome.reason[:500]
        self._update(delivery.id, **values)

    @staticmethod
    def _log_outcome(delivery: Delivery, outcome: Outcome) -> None:
        where = f"outbox #{delivery.id} -> {delivery.destination.key}"
        if outcome.verdict is Verdict.FAILED:
            log.error("%s failed: %s; %s", where, outcome.reason, outcome.error or "")
        elif outcome.verdict is Verdict.DEFERRED:
            log.warning("%s deferred: %s; %s", where, outcome.reason, outcome.error or "")
        else:
            log.info("%s %s: %s", where, outcome.verdict.value, outcome.reason)

    def _maybe_prune(self) -> None:
        now = self.clock()
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        keep = max(timedelta(days=self.settings.retention_days),
                   timedelta(seconds=self.settings.dedup_window_seconds))
        with Session(self.engine) as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.status.in_(FINAL_STATES),
                                                     OutboxMessage.updated_at < now - keep))
            session.commit()

    # ------------------------------------------------------------ inspection

    def pending_count(self) -> int:
        with Session(self.engine) as session:
            value = session.exec(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.status == PENDING)).one()
        return int(value)
