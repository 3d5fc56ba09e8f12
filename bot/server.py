"""The HTTP server (``csbot serve``): platform callbacks, the event API, charts, health and metrics.

Routes verify, acknowledge and dispatch; commands run in background tasks (``bot.dispatch``).
``create_app`` builds the aiohttp application from already-made parts (tests pass a real Bot
and senders pointed at local fake vendors); ``run`` builds the parts from settings and serves.

Graceful shutdown (SIGTERM/SIGINT): stop listening, let in-flight requests finish, stop Stream
mode, wait up to ``server.shutdown_grace_seconds`` for running commands and their replies, stop
the outbox worker after its current round (anything still pending is sent after a restart),
close the senders.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine

from bot.adapters.base import Sender
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.server_charts import ChartLinks, signing_key
from bot.server_health import readiness
from bot.server_metrics import ServerMetrics

log = logging.getLogger(__name__)

# Route installers, "module:function", each called as ``function(app, ctx)``.
# Adding a platform is one line here (plus its module).
ROUTE_INSTALLERS: tuple[str, ...] = (
    "bot.adapters.dingtalk_http:install",
    "bot.server:install_wecom",
    "bot.adapters.feishu:install",
    "bot.events_api:install",
)

CHART_SWEEP_INTERVAL_S = 600.0


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

_current_links: ChartLinks | None = None


def build_chart_links(settings: Settings) -> ChartLinks | None:
    """Signed chart links, or None when ``server.public_base_url`` is not set."""
    if not settings.server.public_base_url:
        return None
    directory = Path(settings.general.data_dir) / "public-charts"
    return ChartLinks(directory, signing_key(settings), settings.server.public_base_url,
                      settings.server.chart_url_ttl_seconds)


def chart_url(chart_path: str | os.PathLike[str]) -> str:
    """Register a chart file with the running server; return its signed, expiring public URL."""
    if _current_links is None:
        raise RuntimeError("chart links need server.public_base_url and a server created by create_app")
    return _current_links.publish(chart_path)


# ---------------------------------------------------------------- middleware and basic routes


@web.middleware
async def _errors_and_metrics(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                              ) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception:  # noqa: BLE001 - one place turns bugs into a logged id and a bare 500
        error_id = uuid.uuid4().hex[:8]
        log.exception("unhandled error on %s (error id %s)", route, error_id)
        return web.json_response({"error": "internal error", "id": error_id}, status=500)
    finally:
        ctx.metrics.requests.labels(route, str(status)).inc()
        ctx.metrics.request_seconds.labels(route).observe(time.perf_counter() - started)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    ok, checks = await readiness(ctx.engine)
    checks.update({name: probe() for name, probe in ctx.probes.items()})
    return web.json_response({"status": "ready" if ok else "not ready", "checks": checks},
                             status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[CONTEXT].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def chart(request: web.Request) -> web.StreamResponse:
    links = request.app[CONTEXT].chart_links
    if links is None:
        raise web.HTTPNotFound()
    status, path = links.resolve(request.match_info["id"], request.query.get("exp", ""),
                                 request.query.get("sig", ""))
    if path is None:
        raise _status_error(status)
    return web.FileResponse(path, headers={"Content-Type": "image/png", "Cache-Control": "private, max-age=3600",
                                           "X-Content-Type-Options": "nosniff"})


def _status_error(status: int) -> web.HTTPException:
    return {403: web.HTTPForbidden, 410: web.HTTPGone}.get(status, web.HTTPNotFound)()


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


def install_wecom(app: web.Application, ctx: ServerContext) -> None:
    """``GET|POST /wecom/callback`` (answers 404 until [wecom] corp_id, token and encoding_aes_key are set)."""
    from bot.adapters import wecom

    app.add_routes(wecom.routes(ctx.settings.wecom, ctx.dispatcher.submit))


# ---------------------------------------------------------------- lifecycle


async def _on_startup(app: web.Application) -> None:
    ctx = app[CONTEXT]
    if ctx.outbox is not None and hasattr(ctx.outbox, "run"):
        ctx.spawn(ctx.outbox.run(), "outbox worker")
    if ctx.chart_links is not None:
        ctx.spawn(_sweep_charts(ctx.chart_links), "chart sweeper")


async def _sweep_charts(links: ChartLinks) -> None:
    while True:
        try:
            removed = await asyncio.to_thread(links.sweep)
            if removed:
                log.info("removed %d expired chart files", removed)
        except OSError:
            log.exception("chart sweep failed")
        await asyncio.sleep(CHART_SWEEP_INTERVAL_S)


async def _on_shutdown(app: web.Application) -> None:
    """Stop taking new work from non-HTTP sources (Stream mode) as soon as shutdown starts."""
    for stop in app[CONTEXT].stoppers:
        with contextlib.suppress(Exception):
            await stop()


async def _on_cleanup(app: web.Application) -> None:
    """After the last request: finish running commands, stop the outbox worker, close senders."""
    ctx = app[CONTEXT]
    await ctx.dispatcher.drain(float(ctx.settings.server.shutdown_grace_seconds))
    if ctx.outbox is not None and hasattr(ctx.outbox, "stop"):
        ctx.outbox.stop()
    tasks = set(ctx.background)
    for task in tasks:
        if task.get_name() != "outbox worker":
            task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=float(ctx.settings.server.shutdown_grace_seconds))
    for sender in ctx.senders.values():
        with contextlib.suppress(Exception):
            await sender.close()


def create_app(bot: Any, settings: Settings, *, senders: Mapping[str, Sender], outbox: Any = None,
               chart_links: ChartLinks | None = None, metrics_registry: ServerMetrics | None = None,
               now_ms: Callable[[], int] | None = None) -> web.Application:
    """The aiohttp application: routes of SPEC.md plus the platform routes of :data:`ROUTE_MODULES`."""
    global _current_links
    server_metrics = metrics_registry or ServerMetrics()
    links = chart_links if chart_links is not None else build_chart_links(settings)
    _current_links = links
    dispatcher = Dispatcher(bot, senders, outbox, metrics=server_metrics)
    ctx = ServerContext(settings=settings, bot=bot, engine=getattr(bot, "engine", None), dispatcher=dispatcher,
                        metrics=server_metrics, senders=senders, outbox=outbox, chart_links=links)
    if now_ms is not None:
        ctx.now_ms = now_ms
    app = web.Application(client_max_size=settings.server.max_body_bytes, middlewares=[_errors_and_metrics])
    app[CONTEXT] = ctx
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get(r"/charts/{id}.png", chart)
    for spec in ROUTE_INSTALLERS:
        module_name, func = spec.split(":")
        getattr(importlib.import_module(module_name), func)(app, ctx)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
    app.on_cleanup.append(_on_cleanup)
    return app


def run(settings: Settings) -> None:
    """``csbot serve``: open the database, build the bot, senders and outbox, serve until signalled."""
    from bot.server_build import build_parts

    parts = build_parts(settings)
    app = create_app(parts.bot, settings, senders=parts.senders, outbox=parts.outbox, chart_links=parts.chart_links)
    log.warning("csbot serving on http://%s:%d (DingTalk mode: %s)", settings.server.host, settings.server.port,
                settings.dingtalk.mode)
    web.run_app(app, host=settings.server.host, port=settings.server.port, print=None,
                shutdown_timeout=float(settings.server.shutdown_grace_seconds), access_log=None)
