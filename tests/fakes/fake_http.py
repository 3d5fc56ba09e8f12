"""Shared plumbing for the fake vendor servers: start on 127.0.0.1:0, inject failures, record."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Failure:
    """One injected failure: an HTTP status and/or a vendor error body, optional headers."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """An aiohttp app on an ephemeral loopback port; subclasses add the vendor routes."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.app = web.Application(client_max_size=8 * 1024 * 1024)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.failures: list[Failure] = []
        self.requests = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeServer:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def fail_next(self, count: int = 1, *, status: int = 200, body: dict[str, Any] | None = None,
                  headers: dict[str, str] | None = None) -> None:
        """The next ``count`` send requests fail this way (then the server behaves again)."""
        self.failures.extend(Failure(status, body, dict(headers or {})) for _ in range(count))

    def injected(self) -> web.Response | None:
        self.requests += 1
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        if failure.body is None:
            return web.Response(status=failure.status, text="upstream error", headers=failure.headers)
        return web.json_response(failure.body, status=failure.status, headers=failure.headers)
