"""What every route handler of ``csbot serve`` shares: :class:`ServerContext` (on the app under
:data:`CONTEXT`) and :func:`read_limited`. Platform routes (``bot.adapters``) and the event API
import this module; it imports no route module, so nothing here imports in a circle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import Engine

from bot.adapters.base import Sender
from bot.config import Settings
from bot.web.charts import ChartLinks
from bot.web.dispatch import Dispatcher
from bot.web.metrics import ServerMetrics


@dataclass
class ServerContext:
    """What route handlers need; stored on the app under :data:`CONTEXT`."""

    settings: Settings
    bot: Any
    engine: Engine | None
    dispatcher: Dispatcher
    metrics: ServerMetrics
    senders: Mapping[str, Sender]
    outbox: Any = None
    chart_links: ChartLinks | None = None
    jobs: Any = None  # the scheduler (bot.jobs.scheduler.JobScheduler): started and stopped with the app
    now_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Extra lines for /readyz (informational: they never make the server "not ready").
    probes: dict[str, Callable[[], str]] = field(default_factory=dict)

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """A long-lived background task, cancelled at cleanup and forgotten when done."""
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task


CONTEXT = web.AppKey("csbot", ServerContext)


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The request body, or HTTP 413 when it is (or announces to be) larger than ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
