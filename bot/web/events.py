"""``POST /api/v1/events``: push records from another system into the database.

Request: ``Authorization: Bearer <token from [ingest] tokens>``, body
``{"kind": "conversations", "records": [{...}, ...]}`` with canonical column names (SPEC.md).
Response 200: ``{"kind", "accepted", "updated", "rejected", "errors": [{"index", "reason"}]}``
where ``index`` is the 1-based position of a rejected record; good records are stored even when
others are rejected. 401: missing or wrong token. 400: not JSON, wrong shape (``kind`` a non-empty string, ``records`` a list;
a record that is not an object is rejected alone), unknown kind.
The contract is written down in ``docs/openapi.yaml``.
413: body over ``server.max_body_bytes`` or more than ``ingest.max_batch`` records.
429 with ``Retry-After``: ``ingest.workers`` batches are being written and ``ingest.max_waiting_batches``
more are waiting; nothing of the batch was stored, the client sends it again after the delay.

Validation and upserts run on the event API's own threads (:class:`IngestLane`, ``[ingest] workers``),
not on the loop's default executor: there, 100 batches at once took every thread and the callbacks'
inbox writes and commands waited behind them (bench/server/README.md). Records are committed in
chunks of :data:`COMMIT_CHUNK`, so a 5,000-record batch does not hold SQLite's one writer for its
whole length; a batch interrupted by a crash has its first chunks stored, and sending it again
upserts them (``updated``).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from analytics.ingest import KINDS, IngestError, ingest_records
from bot.adapters.payloads import EventBatch, WrongType, check
from bot.web.context import CONTEXT, ServerContext, read_limited

log = logging.getLogger(__name__)

PATH = "/api/v1/events"
MAX_ERRORS_RETURNED = 100
COMMIT_CHUNK = 500  # records per write transaction of one API batch


class Busy(RuntimeError):
    """The lane is full; ``retry_after`` is the client's wait in whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"ingest lane full, retry after {retry_after} s")
        self.retry_after = retry_after


class IngestLane:
    """The event API's threads: at most ``workers`` batches written at once, ``max_waiting`` more queued;
    past that :meth:`run` raises :class:`Busy` at once (the route answers 429 + ``Retry-After``)."""

    def __init__(self, workers: int, max_waiting: int):
        self.workers = workers
        self.capacity = workers + max_waiting
        self.admitted = 0
        self.mean_s = 0.05  # moving mean of a batch's time in a worker, for Retry-After
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="csbot-ingest")

    def retry_after(self) -> int:
        return max(1, math.ceil(self.admitted / self.workers * self.mean_s))

    async def run(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if self.admitted >= self.capacity:
            raise Busy(self.retry_after())
        self.admitted += 1
        call = functools.partial(fn, *args, **kwargs)

        def timed() -> Any:
            started = time.perf_counter()
            try:
                return call()
            finally:
                self.mean_s = 0.8 * self.mean_s + 0.2 * (time.perf_counter() - started)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, timed)
        finally:
            self.admitted -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False)


LANE = web.AppKey("csbot_ingest_lane", IngestLane)


def install(app: web.Application, ctx: ServerContext) -> None:
    app[LANE] = IngestLane(ctx.settings.ingest.workers, ctx.settings.ingest.max_waiting_batches)
    app.router.add_post(PATH, events)

    async def close_lane(app: web.Application) -> None:
        app[LANE].close()

    app.on_cleanup.append(close_lane)


def _error(status: int, zh: str, en: str, **extra: Any) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="csbot"'} if status == 401 else None
    return web.json_response({"error": en, "message": zh, **extra}, status=status, headers=headers)


def token_ok(header: str | None, tokens: list[str]) -> bool:
    """Constant-time check of an ``Authorization: Bearer`` header against every configured token."""
    if not header or not header.startswith("Bearer ") or not tokens:
        return False
    given = header[len("Bearer "):].strip().encode("utf-8", "replace")
    matched = False
    for token in tokens:  # no early exit: timing does not reveal which token (or how many) matched
        matched |= hmac.compare_digest(given, token.encode("utf-8"))
    return matched


async def events(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    tokens = [t.get_secret_value() for t in ctx.settings.ingest.tokens if t.get_secret_value()]
    if not token_ok(request.headers.get("Authorization"), tokens):
        return _error(401, "缺少或错误的访问令牌", "missing or invalid bearer token")
    try:
        body = await read_limited(request, ctx.settings.server.max_body_bytes)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "请求体过大", "body too large", max_bytes=ctx.settings.server.max_body_bytes)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _error(400, "请求体不是合法的 JSON", "body is not valid JSON")
    try:
        batch = check(EventBatch, payload)
    except WrongType as exc:  # e.g. kind not a string, records not a list
        return _error(400, f'请求体应为 {{"kind": "...", "records": [...]}}：{exc.zh}',
                      f'expected {{"kind": str, "records": list}}: {exc.en}', field=exc.loc)
    kind, records = batch.kind, batch.records
    if len(records) > ctx.settings.ingest.max_batch:
        return _error(413, f"一次最多 {ctx.settings.ingest.max_batch} 条记录", "too many records",
                      max_batch=ctx.settings.ingest.max_batch)
    if ctx.engine is None:
        return _error(503, "数据库未配置", "no database")
    try:
        result = await request.app[LANE].run(ingest_records, ctx.engine, kind, records, tz=ctx.settings.tz,
                                             source="api", batch_size=COMMIT_CHUNK,
                                             mask=ctx.settings.privacy.mask_at_rest)
    except Busy as exc:
        ctx.metrics.events.labels(kind if kind in KINDS else "unknown", "busy").inc(len(records))
        return web.json_response({"error": "busy, retry later", "message": "写入繁忙，请稍后重试",
                                  "retry_after": exc.retry_after}, status=429,
                                 headers={"Retry-After": str(exc.retry_after)})
    except IngestError as exc:
        return _error(400, exc.zh, exc.en)
    for outcome, count in (("accepted", result.accepted), ("updated", result.updated),
                           ("rejected", result.rejected)):
        if count:
            ctx.metrics.events.labels(result.kind, outcome).inc(count)
    refresh = getattr(ctx.bot, "refresh_known_values", None)
    if callable(refresh) and (result.accepted or result.updated):
        refresh()
    poke = getattr(ctx.jobs, "poke_alerts", None)
    if callable(poke) and (result.accepted or result.updated) and result.kind in ("complaints", "conversations", "messages"):
        poke()  # complaints / conversations / messages landed: check the alerts now, not in a minute
    errors = [{"index": e.line, "reason": e.reason} for e in result.errors[:MAX_ERRORS_RETURNED]]
    return web.json_response({"kind": result.kind, "accepted": result.accepted, "updated": result.updated,
                              "rejected": result.rejected, "errors": errors,
                              "errors_truncated": result.rejected > len(errors)})
