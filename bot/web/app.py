"""The aiohttp application of ``csbot serve``: routes, middleware and the server's lifecycle.

Routes verify, acknowledge and dispatch; commands run in background tasks (``bot.web.dispatch``).
``create_app`` builds the application from already-made parts (tests pass a real Bot and
senders pointed at local fake vendors); ``bot.web.serve.run`` builds the parts from settings.

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
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.adapters.base import Sender
from bot.config import Settings
from bot.logs import new_request_id, request_id
from bot.web.charts import FILE_TYPES, ChartLinks, build_chart_links
from bot.web.context import CONTEXT, ServerContext
from bot.web.dispatch import Dispatcher
from bot.web.events import token_ok
from bot.web.health import readiness
from bot.web.metrics import ServerMetrics

log = logging.getLogger(__name__)

# Route installers, "module:function", each called as ``function(app, ctx)``.
# Adding a platform is one line here (plus its module).
ROUTE_INSTALLERS: tuple[str, ...] = (
    "bot.adapters.dingtalk_http:install",
    "bot.web.app:install_wecom",
    "bot.adapters.feishu:install",
    "bot.web.events:install",
)

CHART_SWEEP_INTERVAL_S = 600.0
INBOX_SWEEP_INTERVAL_S = 6 * 3600.0


# ---------------------------------------------------------------- middleware and basic routes


@web.middleware
async def _errors_and_metrics(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                              ) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    started = time.perf_counter()
    status = 500
    # The request id: set here, inherited by the command task a callback starts, stored with its outbox row.
    rid = new_request_id(request.headers.get("X-Request-Id"))
    token = request_id.set(rid)
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
        request_id.reset(token)
        ctx.metrics.requests.labels(route, str(status)).inc()
        ctx.metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
        if route.endswith("/callback"):  # /dingtalk/callback, /wecom/callback, /feishu/callback
            ctx.metrics.callback_requests.labels(route.strip("/").split("/")[0], str(status)).inc()


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    ok, checks = await readiness(ctx.engine)
    checks.update({name: probe() for name, probe in ctx.probes.items()})
    return web.json_response({"status": "ready" if ok else "not ready", "checks": checks},
                             status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; ``[server] metrics_token`` set = a bearer token is required (401 without).
    Rendered in a thread: the database gauges may read the database (cached a few seconds)."""
    ctx = request.app[CONTEXT]
    token = ctx.settings.server.metrics_token.get_secret_value()
    if token and not token_ok(request.headers.get("Authorization"), [token]):
        return web.json_response({"error": "missing or invalid bearer token", "message": "缺少或错误的访问令牌"},
                                 status=401, headers={"WWW-Authenticate": 'Bearer realm="csbot metrics"'})
    body = await asyncio.to_thread(generate_latest, ctx.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _wire_metrics(ctx: ServerContext) -> None:
    """Hand the counters to the bot (commands), the outbox (deliveries) and the scheduler (job runs), and
    export the database gauges and the leader state."""
    m = ctx.metrics
    if hasattr(ctx.bot, "observe"):
        ctx.bot.observe = m.observe_command
    if ctx.outbox is not None and hasattr(ctx.outbox, "on_outcome"):
        ctx.outbox.on_outcome = m.observe_delivery
    leader = None
    if ctx.jobs is not None and hasattr(ctx.jobs, "scheduler"):
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

        ctx.jobs.scheduler.add_listener(m.on_job_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        jobs = ctx.jobs
        leader = lambda: (jobs.leader.replica, jobs.is_leader)  # noqa: E731
    m.watch(ctx.engine, leader)


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


async def exported_file(request: web.Request) -> web.StreamResponse:
    """``GET /files/{id}``: an export (/知识库 导出) behind the same signed, expiring links as charts."""
    links = request.app[CONTEXT].chart_links
    if links is None:
        raise web.HTTPNotFound()
    file_id = request.match_info["id"]
    status, path = links.resolve_file(file_id, request.query.get("exp", ""), request.query.get("sig", ""))
    if path is None:
        raise _status_error(status)
    return web.FileResponse(path, headers={"Content-Type": FILE_TYPES[path.suffix.lstrip(".")],
                                           "Content-Disposition": f'attachment; filename="{file_id}"',
                                           "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


def _status_error(status: int) -> web.HTTPException:
    return {403: web.HTTPForbidden, 410: web.HTTPGone}.get(status, web.HTTPNotFound)()


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
    if ctx.dispatcher.inbox is not None:
        # Answer what a killed run left pending (then keep leases and take over dead replicas' rows),
        # and delete inbox rows past [server] inbox_retention_days.
        ctx.spawn(ctx.dispatcher.run_inbox(), "inbox")
        ctx.spawn(_sweep_inbox(ctx.dispatcher.inbox, ctx.settings.server.inbox_retention_days), "inbox sweeper")
    if ctx.jobs is not None:
        await ctx.jobs.start()


def _inbox(bot: Any, settings: Settings, outbox: Any) -> Any:
    """The inbox on the bot's database (None without one: tests with a stand-in bot, then RecentIds dedupes)."""
    engine = getattr(bot, "engine", None)
    if engine is None:
        return None
    from bot.delivery.outbox import replica_id
    from bot.web.inbox import Inbox

    owner = getattr(outbox, "owner", None) or replica_id()
    return Inbox(engine, owner, lease_seconds=settings.server.inbox_lease_seconds)


async def _sweep_inbox(inbox: Any, days: int) -> None:
    while True:
        try:
            removed = await asyncio.to_thread(inbox.sweep, days)
            if removed:
                log.info("removed %d inbox rows older than %d days", removed, days)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable
            log.warning("inbox sweep failed", exc_info=True)
        await asyncio.sleep(INBOX_SWEEP_INTERVAL_S)


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
    if ctx.jobs is not None:
        ctx.jobs.stop()  # no new timed work; a digest being built is cancelled below (its claim's lease expires)
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
               now_ms: Callable[[], int] | None = None, jobs: Any = None) -> web.Application:
    """The aiohttp application: routes of SPEC.md plus the platform routes of :data:`ROUTE_MODULES`."""
    server_metrics = metrics_registry or ServerMetrics()
    links = chart_links if chart_links is not None else build_chart_links(settings)
    dispatcher = Dispatcher(bot, senders, outbox, metrics=server_metrics, inbox=_inbox(bot, settings, outbox),
                            max_pending=settings.server.max_pending_commands)
    ctx = ServerContext(settings=settings, bot=bot, engine=getattr(bot, "engine", None), dispatcher=dispatcher,
                        metrics=server_metrics, senders=senders, outbox=outbox, chart_links=links, jobs=jobs)
    if now_ms is not None:
        ctx.now_ms = now_ms
    _wire_metrics(ctx)
    app = web.Application(client_max_size=settings.server.max_body_bytes, middlewares=[_errors_and_metrics])
    app[CONTEXT] = ctx
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get(r"/charts/{id}.png", chart)
    app.router.add_get(r"/files/{id}", exported_file)
    if links is not None and hasattr(bot, "services"):  # /知识库 导出 puts download links in its reply
        bot.services.extra["publish_file"] = links.publish_file
    for spec in ROUTE_INSTALLERS:
        module_name, func = spec.split(":")
        getattr(importlib.import_module(module_name), func)(app, ctx)
    app.on_startup.append(_on_startup)
    app.on_shutdown.append(_on_shutdown)
    app.on_cleanup.append(_on_cleanup)
    return app
