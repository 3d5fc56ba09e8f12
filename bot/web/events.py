"""``POST /api/v1/events``: push records from another system into the database.

Request: ``Authorization: Bearer <token from [ingest] tokens>``, body
``{"kind": "conversations", "records": [{...}, ...]}`` with canonical column names (SPEC.md).
Response 200: ``{"kind", "accepted", "updated", "rejected", "errors": [{"index", "reason"}]}``
where ``index`` is the 1-based position of a rejected record; good records are stored even when
others are rejected. 401: missing or wrong token. 400: not JSON, wrong shape (``kind`` a non-empty string, ``records`` a list;
a record that is not an object is rejected alone), unknown kind.
The contract is written down in ``docs/openapi.yaml``.
413: body over ``server.max_body_bytes`` or more than ``ingest.max_batch`` records.
Validation and upserts run in a worker thread (the same path as ``csbot import``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from aiohttp import web

from analytics.ingest import IngestError, ingest_records
from bot.adapters.payloads import EventBatch, WrongType, check
from bot.web.context import CONTEXT, ServerContext, read_limited

log = logging.getLogger(__name__)

PATH = "/api/v1/events"
MAX_ERRORS_RETURNED = 100


def install(app: web.Application, _ctx: ServerContext) -> None:
    app.router.add_post(PATH, events)


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
        result = await asyncio.to_thread(ingest_records, ctx.engine, kind, records, tz=ctx.settings.tz,
                                         source="api", mask=ctx.settings.privacy.mask_at_rest)
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
