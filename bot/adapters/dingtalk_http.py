"""``POST /dingtalk/callback``: verify, acknowledge, dispatch (enterprise robot, HTTP mode).

Order matters: the signature headers are checked before the body is read, the body is size
limited before it is parsed, and the reply is sent later by the dispatcher. Every bad request
gets a 4xx and changes nothing; a replayed ``msgId`` (already in the inbox, on any replica) gets 409.

Note: DingTalk signs only the timestamp (not the body), so a captured header pair could be
reused with another body within the hour; the msgId dedupe and the 1 h window bound that,
and HTTPS keeps the headers private (docs/platforms/dingtalk.md).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.adapters import dingtalk
from bot.web.dispatch import Overloaded, Refused, Unavailable

if TYPE_CHECKING:
    from bot.web.context import ServerContext

log = logging.getLogger(__name__)

PATH = "/dingtalk/callback"


def install(app: web.Application, ctx: ServerContext) -> None:
    if ctx.settings.dingtalk.mode == "http" and ctx.settings.dingtalk.app_secret.get_secret_value():
        app.router.add_post(PATH, callback)
    if ctx.settings.dingtalk.mode == "stream":
        from bot.adapters.dingtalk_stream import install_stream

        install_stream(app, ctx)


def _refuse(ctx: ServerContext, outcome: str, status: int, message: str) -> web.Response:
    ctx.metrics.callbacks.labels(dingtalk.PLATFORM, outcome).inc()
    return web.json_response({"errcode": status, "errmsg": message}, status=status)


async def callback(request: web.Request) -> web.Response:
    from bot.web.context import CONTEXT, read_limited

    ctx = request.app[CONTEXT]
    settings = ctx.settings.dingtalk
    limit = settings.callback_max_bytes
    if request.content_length is not None and request.content_length > limit:
        return _refuse(ctx, "too_large", 413, "body too large")
    verdict = dingtalk.verify_callback(request.headers.get("timestamp"), request.headers.get("sign"),
                                       settings.app_secret.get_secret_value(), ctx.now_ms())
    if verdict is not dingtalk.VerifyResult.OK:
        log.warning("dingtalk callback refused: %s (from %s)", verdict.value, request.remote)
        return _refuse(ctx, "bad_signature", 401, "signature check failed")
    try:
        body = await read_limited(request, limit)
    except web.HTTPRequestEntityTooLarge:
        return _refuse(ctx, "too_large", 413, "body too large")
    try:
        payload = json.loads(body)
        msg = dingtalk.parse_callback(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # PayloadError is a ValueError
        # The typed check (bot.adapters.payloads) names the field, in Chinese and English, never its value.
        why = str(exc) if isinstance(exc, dingtalk.PayloadError) else "请求体不是合法的 JSON / body is not valid JSON"
        log.warning("dingtalk callback refused: malformed (%s)", why)
        return _refuse(ctx, "malformed", 400, f"malformed body: {why}")
    if msg is None:
        ctx.metrics.callbacks.labels(dingtalk.PLATFORM, "ignored").inc()
        return web.json_response({"errcode": 0, "errmsg": "ignored"})
    try:
        accepted = await ctx.dispatcher.submit(msg)
    except Overloaded:
        # DingTalk does not redeliver an HTTP robot callback, so a 503 would drop the message silently:
        # take it with 200 and tell the sender (a short reply, no command runs) to send it again later.
        try:
            await ctx.dispatcher.busy_reply(msg)
        except Exception:  # noqa: BLE001 - the notice is a courtesy; the ack must not become a 500
            log.warning("busy notice for %s not queued", msg.message_id[:24], exc_info=True)
        return web.json_response({"errcode": 0, "errmsg": "busy"})
    except Unavailable:
        # The inbox cannot be written (database down). DingTalk would not retry a 503: answer from memory.
        try:
            taken = ctx.dispatcher.submit_unstored(msg)
        except Refused:
            return _refuse(ctx, "unavailable", 503, "unavailable, retry later")
        if not taken:
            return _refuse(ctx, "duplicate", 409, "duplicate msgId")
        return web.json_response({"errcode": 0, "errmsg": "ok"})
    except Refused:  # shutting down
        return _refuse(ctx, "shutting_down", 503, "unavailable, retry later")
    if not accepted:
        return _refuse(ctx, "duplicate", 409, "duplicate msgId")
    ctx.metrics.callbacks.labels(dingtalk.PLATFORM, "accepted").inc()
    return web.json_response({"errcode": 0, "errmsg": "ok"})
