"""Verify → ack → dispatch: run ``bot.handle`` off the request path and deliver the reply.

A callback route verifies and parses the request, calls :meth:`Dispatcher.submit` and answers
at once; the command runs in a background task (kept in a set cleared by a done-callback).

Where a reply goes comes from ``IncomingMessage.reply_handle``, filled by the adapter's parser:

- ``live``: a short-lived :class:`Destination` (DingTalk ``sessionWebhook``) tried first, directly;
- ``durable``: the chat or user, sent through the outbox (durable, rate limited, retried) when
  the live path is missing, expired or failing; without an outbox, sent directly.

When an adapter gives no ``durable`` destination, the chat (group) or the user (1:1) is used.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from bot.adapters.base import Destination, IncomingMessage, Sender, SendError, durable_destination
from bot.web.metrics import ServerMetrics
from handlers.base import Reply

log = logging.getLogger(__name__)

DEDUPE_TTL_S = 3 * 3600.0  # longer than the ±1 h signature window on either side
DEDUPE_MAX = 100_000
LIVE_ATTEMPTS = 3
LIVE_BACKOFF_S = 0.5


class Handles(Protocol):
    async def handle(self, msg: IncomingMessage) -> Reply | None: ...


class ShuttingDown(RuntimeError):
    """The dispatcher no longer takes work (graceful shutdown in progress)."""


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


class Dispatcher:
    """Runs commands in the background and routes their replies to the platform."""

    def __init__(self, bot: Handles, senders: Mapping[str, Sender], outbox: Any = None, *,
                 metrics: ServerMetrics | None = None, max_concurrency: int = 16,
                 recent: RecentIds | None = None, live_backoff_s: float = LIVE_BACKOFF_S):
        self.bot = bot
        self.senders = senders
        self.outbox = outbox
        self.metrics = metrics or ServerMetrics()
        self.recent = recent or RecentIds()
        self.live_backoff_s = live_backoff_s
        self._limit = asyncio.Semaphore(max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(self, msg: IncomingMessage) -> bool:
        """Schedule ``msg``; False when its id was already seen (a platform retry or a replay)."""
        if self._closing:
            raise ShuttingDown("shutting down")
        if not self.recent.add(f"{msg.platform}:{msg.message_id}"):
            return False
        task = asyncio.create_task(self._process(msg), name=f"dispatch {msg.platform}:{msg.message_id[:24]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _process(self, msg: IncomingMessage) -> None:
        self.metrics.inflight.inc()
        started = time.perf_counter()
        try:
            async with self._limit:
                reply = await self.bot.handle(msg)
            self.metrics.commands_seconds.labels(msg.platform).observe(time.perf_counter() - started)
            if reply is not None:
                await self.deliver(msg, reply)
        except Exception:  # noqa: BLE001 - a background task must log, never die silently
            log.exception("dispatch of %s:%s failed", msg.platform, msg.message_id[:24])
        finally:
            self.metrics.inflight.dec()

    async def deliver(self, msg: IncomingMessage, reply: Reply) -> None:
        """Live path first (while valid), then the durable path."""
        sender = self.senders.get(msg.platform)
        live = msg.reply_handle.get("live")
        if isinstance(live, Destination) and sender is not None:
            try:
                await self._send_with_retry(sender, live, reply)
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
