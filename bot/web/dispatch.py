"""Verify → ack → dispatch: run ``bot.handle`` off the request path and deliver the reply.

A callback route verifies and parses the request, calls :meth:`Dispatcher.submit` and answers
at once; the command runs in a background task (kept in a set cleared by a done-callback).

Where a reply goes comes from ``IncomingMessage.reply_handle``, filled by the adapter's parser:

- ``live``: a short-lived :class:`Destination` (DingTalk ``sessionWebhook``) tried first, directly;
- ``durable``: the chat or user, sent through the outbox (durable, rate limited, retried) when
  the live path is missing, expired or failing; without an outbox, sent directly.

When an adapter gives no ``durable`` destination, the chat (group) or the user (1:1) is used.

Nothing accepted is lost: with an :class:`bot.web.inbox.Inbox` (``csbot serve`` always has one)
:meth:`Dispatcher.submit` stores the message before the route answers 200, and the row is marked
done once the reply is sent or queued. The inbox's unique key is the de-duplication (shared by
replicas, kept across restarts); :class:`RecentIds` is only the fallback without a database.
:meth:`Dispatcher.run_inbox` renews this replica's leases and answers rows left pending by a
killed replica or an earlier run of this one (live path while the reply window is open, else the
outbox). The backlog is bounded: past ``max_pending`` commands in flight, :meth:`submit` raises
:class:`Overloaded` and the route answers per vendor (docs/reliability.md).

The inbox write on the ack path runs on the dispatcher's own small thread pool (``ack_workers``
threads), never on the loop's default executor: that one is shared by commands, audits, outbox
writes and event batches, and under a mixed burst an accept waited there behind them for seconds
(bench/server/README.md). A recovered message keeps the request id of the callback that stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from analytics.store.inbox import DONE
from bot import logs
from bot.adapters.base import Destination, IncomingMessage, Sender, SendError, durable_destination
from bot.web.metrics import ServerMetrics
from handlers.base import Reply

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 3 * 3600.0  # longer than the ±1 h signature window on either side
DEDUPE_MAX = 100_000
LIVE_ATTEMPTS = 3
LIVE_BACKOFF_S = 0.5
MAX_PENDING = 200
ACK_WORKERS = 2  # threads that write inbox rows on the ack path (SQLite has one writer; PostgreSQL needs few)
BUSY_TEXT = "当前请求较多，这条消息没有处理，请稍后再发一次。"


def _live_open(msg: IncomingMessage, margin_ms: int = 5_000) -> bool:
    """Whether ``msg``'s live reply handle is still inside its reply window (no expiry known: yes)."""
    handle = msg.reply_handle.get("live")
    if not isinstance(handle, Destination):
        return False
    expires = int(handle.extra.get("expires_ms") or 0)
    return not expires or expires - margin_ms > time.time() * 1000


class Handles(Protocol):
    async def handle(self, msg: IncomingMessage) -> Reply | None: ...


class Refused(RuntimeError):
    """The dispatcher did not take the message; the route answers so that the vendor retries."""


class ShuttingDown(Refused):
    """The dispatcher no longer takes work (graceful shutdown in progress)."""


class Overloaded(Refused):
    """``max_pending`` commands are already in flight on this replica."""


class Unavailable(Refused):
    """The message could not be stored in the inbox (the database is unreachable)."""


class RecentIds:
    """Message ids seen in the last ``ttl`` seconds (bounded; oldest forgotten first)."""

    def __init__(self, ttl: float = DEDUPE_TTL_S, max_size: int = DEDUPE_MAX,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_size = max_size
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember ``key``; False when it was already seen within the TTL."""
        now = self.clock()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at <= self.ttl and len(self._seen) < self.max_size:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True

    def discard(self, key: str) -> None:
        """Forget ``key`` (its message was not taken after all: a redelivery must get through)."""
        self._seen.pop(key, None)


class Dispatcher:
    """Runs commands in the background and routes their replies to the platform."""

    def __init__(self, bot: Handles, senders: Mapping[str, Sender], outbox: Any = None, *,
                 metrics: ServerMetrics | None = None, max_concurrency: int = 16,
                 recent: RecentIds | None = None, live_backoff_s: float = LIVE_BACKOFF_S,
                 inbox: Any = None, max_pending: int = MAX_PENDING, ack_workers: int = ACK_WORKERS):
        self.bot = bot
        self.senders = senders
        self.outbox = outbox
        self.metrics = metrics or ServerMetrics()
        self.recent = recent or RecentIds()
        self.inbox = inbox  # bot.web.inbox.Inbox, or None (no database: RecentIds de-duplicates)
        self.max_pending = max_pending
        self.live_backoff_s = live_backoff_s
        self._limit = asyncio.Semaphore(max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._rows: dict[asyncio.Task[None], int] = {}  # task -> its inbox row
        self._admitting = 0
        self._closing = False
        # The ack path's own threads (see the module docstring); created with the inbox, closed by drain().
        self._ack_pool = (ThreadPoolExecutor(max_workers=ack_workers, thread_name_prefix="csbot-ack")
                          if inbox is not None else None)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    @property
    def room(self) -> int:
        """How many more commands may start before the backlog is full."""
        return max(0, self.max_pending - len(self._tasks) - self._admitting)

    async def submit(self, msg: IncomingMessage) -> bool:
        """Store and schedule ``msg``; False when its id was already taken (a platform retry or a replay).

        Raises :class:`ShuttingDown`, :class:`Overloaded` or :class:`Unavailable` when it is not taken:
        the route answers with the vendor's retryable status (or, DingTalk, a short 稍后 reply)."""
        if self._closing:
            raise ShuttingDown("shutting down")
        if self.room <= 0:
            self.metrics.callbacks.labels(msg.platform, "overloaded").inc()
            raise Overloaded(f"{len(self._tasks)} commands in flight")
        row_id: int | None = None
        if self.inbox is not None:
            self._admitting += 1
            accept = functools.partial(self.inbox.accept, msg, request_id=logs.request_id.get())
            try:
                row_id = await asyncio.get_running_loop().run_in_executor(self._ack_pool, accept)
            except Exception as exc:  # noqa: BLE001 - the database is down: let the vendor retry
                log.error("inbox write failed for %s:%s: %s", msg.platform, msg.message_id[:24], type(exc).__name__)
                raise Unavailable("inbox unavailable") from exc
            finally:
                self._admitting -= 1
            if row_id is None:
                return False
        elif not self.recent.add(f"{msg.platform}:{msg.message_id}"):
            return False
        if self._closing:  # shutdown began while the row was written: the next start answers it
            if row_id is not None:
                await asyncio.to_thread(self.inbox.release, row_id, "shutting down")
            return True
        self._start(msg, row_id)
        return True

    def submit_unstored(self, msg: IncomingMessage) -> bool:
        """The inbox cannot be written (the database is down) and the vendor does not redeliver
        (DingTalk robot callbacks): run ``msg`` from memory, de-duplicated in this process only, so the
        sender still gets an answer — at best the real one once the database is back, else the
        "database unavailable" reply — rather than silence. A crash before it is answered loses it, as
        before the inbox existed. False for a repeat; :class:`Refused` when closing or the backlog is full."""
        if self._closing:
            raise ShuttingDown("shutting down")
        if self.room <= 0:
            raise Overloaded(f"{len(self._tasks)} commands in flight")
        if not self.recent.add(f"{msg.platform}:{msg.message_id}"):
            return False
        self.metrics.callbacks.labels(msg.platform, "unstored").inc()
        self._start(msg, None)
        return True

    def _start(self, msg: IncomingMessage, row_id: int | None, *, recovered: bool = False) -> None:
        task = asyncio.create_task(self._process(msg, row_id, recovered),
                                   name=f"dispatch {msg.platform}:{msg.message_id[:24]}")
        self._tasks.add(task)
        if row_id is not None:
            self._rows[task] = row_id
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._rows.pop(task, None)

    async def _process(self, msg: IncomingMessage, row_id: int | None, recovered: bool = False) -> None:
        self.metrics.inflight.inc()
        started = time.perf_counter()
        answered = False  # the reply has been sent or queued: never release the row after this
        try:
            async with self._limit:
                reply = await self.bot.handle(msg)
            self.metrics.commands_seconds.labels(msg.platform).observe(time.perf_counter() - started)
            if reply is not None:
                await self.deliver(msg, reply, live=not recovered or _live_open(msg))
            answered = True
            if row_id is not None:
                await self._finish_answered(row_id)
        except asyncio.CancelledError:
            if row_id is not None and not answered:  # cancelled at shutdown: the next start answers it
                with contextlib.suppress(Exception):
                    self.inbox.release(row_id, "cancelled at shutdown")
            raise
        except Exception as exc:  # noqa: BLE001 - a background task must log, never die silently
            log.exception("dispatch of %s:%s failed", msg.platform, msg.message_id[:24])
            if row_id is not None:  # e.g. the outbox write failed: another round answers it
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.inbox.release, row_id, f"{type(exc).__name__}: {exc}"[:500])
        finally:
            self.metrics.inflight.dec()

    async def _finish_answered(self, row_id: int) -> None:
        """Mark an answered message ``done``, retrying while the database is down. Releasing it instead
        (bench/server/db_outage.py: PostgreSQL stopped just after a live reply was sent) left the row
        pending, and once its lease ran out an inbox round answered the message a second time."""
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self.inbox.finish, row_id, DONE)
                return
            except Exception as exc:  # noqa: BLE001 - the database is down: the reply is out, keep trying
                log.warning("inbox row %s answered but not marked done yet (%s); retrying in %.1f s", row_id,
                            type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def run_inbox(self, interval_s: float | None = None) -> None:
        """Until cancelled: renew the leases of this replica's in-flight rows and answer pending rows
        nobody is working on (at start-up: those of a killed run), within the backlog's room."""
        interval = interval_s if interval_s is not None else self.inbox.lease.total_seconds() / 3
        while not self._closing:
            try:
                await self.recover_once()
            except Exception:  # noqa: BLE001 - the database hiccuped; the next round tries again
                log.warning("inbox round failed", exc_info=True)
            await asyncio.sleep(interval)

    async def recover_once(self) -> int:
        """One inbox round; returns how many recovered messages were started."""
        if self.inbox is None or self._closing:
            return 0
        await asyncio.to_thread(self.inbox.renew, list(self._rows.values()))
        claimed = await asyncio.to_thread(self.inbox.claim_stale_with_request_ids, self.room)
        for row_id, msg, rid in claimed:
            # The callback's request id, so the recovered answer's log lines (and its outbox row) carry it.
            token = logs.request_id.set(rid)
            try:
                log.info("answering %s:%s from the inbox (left pending)", msg.platform, msg.message_id[:24])
                self.metrics.callbacks.labels(msg.platform, "recovered").inc()
                self._start(msg, row_id, recovered=True)  # the task copies the context: it keeps the id
            finally:
                logs.request_id.reset(token)
        return len(claimed)

    async def busy_reply(self, msg: IncomingMessage) -> None:
        """A short 稍后 reply for a message refused as :class:`Overloaded`, where the vendor does not retry
        (DingTalk): through the outbox (a stored row, no command runs), else one direct send."""
        reply = Reply(BUSY_TEXT, ok=False)
        destination = durable_destination(msg)
        if self.outbox is not None:
            result = self.outbox.enqueue(destination, reply, dedup_key=f"busy:{msg.platform}:{msg.message_id}")
            if inspect.isawaitable(result):
                await result
            return
        sender = self.senders.get(msg.platform)
        if sender is not None:
            with contextlib.suppress(SendError):
                await sender.send(destination, reply)

    async def deliver(self, msg: IncomingMessage, reply: Reply, *, live: bool = True) -> None:
        """Live path first (while valid), then the durable path."""
        sender = self.senders.get(msg.platform)
        handle = msg.reply_handle.get("live") if live else None
        if isinstance(handle, Destination) and sender is not None:
            live_destination = handle
            try:
                await self._send_with_retry(sender, live_destination, reply)
                self.metrics.replies.labels(msg.platform, "live", "sent").inc()
                return
            except SendError as exc:
                self.metrics.replies.labels(msg.platform, "live", "failed").inc()
                log.warning("live reply for %s:%s failed (%s); using the durable path", msg.platform,
                            msg.message_id[:24], exc)
        await self._send_durable(msg, durable_destination(msg), reply)

    async def _send_durable(self, msg: IncomingMessage, destination: Destination, reply: Reply) -> None:
        dedup_key = f"reply:{msg.platform}:{msg.message_id}"
        if self.outbox is not None:
            result = self.outbox.enqueue(destination, reply, dedup_key=dedup_key)
            if inspect.isawaitable(result):
                await result
            self.metrics.replies.labels(msg.platform, "outbox", "queued").inc()
            return
        sender = self.senders.get(msg.platform)
        if sender is None:
            log.error("no sender for platform %s; reply to %s dropped", msg.platform, destination.key)
            self.metrics.replies.labels(msg.platform, "direct", "failed").inc()
            return
        try:
            await self._send_with_retry(sender, destination, reply)
            self.metrics.replies.labels(msg.platform, "direct", "sent").inc()
        except SendError as exc:
            self.metrics.replies.labels(msg.platform, "direct", "failed").inc()
            log.error("reply to %s lost (no outbox configured): %s", destination.key, exc)

    async def _send_with_retry(self, sender: Sender, destination: Destination, reply: Reply) -> None:
        for attempt in range(1, LIVE_ATTEMPTS + 1):
            try:
                await sender.send(destination, reply)
                return
            except SendError as exc:
                wait = exc.retry_after or self.live_backoff_s * 2 ** (attempt - 1)
                if not exc.retryable or attempt == LIVE_ATTEMPTS or wait > 10:
                    raise
                await asyncio.sleep(wait)

    async def drain(self, grace_s: float) -> int:
        """Stop taking work and wait up to ``grace_s`` for running tasks; return how many were cancelled."""
        self._closing = True
        if self._ack_pool is not None:
            self._ack_pool.shutdown(wait=False)  # no accept starts after _closing; running ones finish
        tasks = set(self._tasks)
        if not tasks:
            return 0
        log.info("waiting up to %.0f s for %d in-flight commands", grace_s, len(tasks))
        _done, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            log.warning("%d commands cancelled at shutdown", len(pending))
        return len(pending)
