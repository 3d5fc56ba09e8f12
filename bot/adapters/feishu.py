"""Feishu / Lark: ``POST /feishu/callback`` for an app bot, plus the senders (:mod:`feishu_api`).

The route verifies, acknowledges and dispatches:

* size cap (413) → JSON (400) → if an Encrypt Key is set: ``X-Lark-Signature`` =
  ``sha256_hex(timestamp + nonce + encrypt_key + raw_body)`` and a fresh timestamp (403), then
  AES-256-CBC decrypt with key = sha256(encrypt_key) and the IV prefix (400 if it fails);
* the Verification Token (``token`` in v1 bodies, ``header.token`` in v2) must match (403);
* ``url_verification`` → ``{"challenge": …}`` at once;
* ``im.message.receive_v1`` → :func:`parse_event` (pure) → dispatch → ``{}`` with HTTP 200.
  Feishu redelivers an event it did not see acknowledged; the dispatcher drops repeats.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.adapters.base import Destination, IncomingMessage
from bot.adapters.feishu_api import FeishuSender, sign
from bot.adapters.payloads import FeishuEnvelope, FeishuMessage, FeishuMessageEvent, WrongType, check
from bot.config import FeishuSettings
from bot.redact import register_secret

log = logging.getLogger(__name__)

PLATFORM = "feishu"
PATH = "/feishu/callback"
MESSAGE_EVENT = "im.message.receive_v1"

__all__ = ["PATH", "PLATFORM", "FeishuCallback", "FeishuSender", "decrypt", "event_signature",
           "parse_event", "routes", "sign"]

_MENTION_KEY = re.compile(r"@_user_\d+")


class BadEvent(ValueError):
    """A body that is not a Feishu event."""


def event_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature``: sha256 hex over timestamp + nonce + encrypt key + the raw body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def decrypt(encrypt_key: str, blob: str) -> str:
    """Open an ``{"encrypt": …}`` body: key = sha256(encrypt_key), IV = first 16 bytes."""
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise BadEvent("encrypt is not Base64") from None
    if len(raw) < 32 or len(raw) % 16:
        raise BadEvent("ciphertext has a bad length")
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
    padded = decryptor.update(raw[16:]) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise BadEvent("cannot decrypt") from None


def _text_of(message: FeishuMessage) -> str:
    try:
        content = json.loads(message.content or "{}")
    except (TypeError, ValueError, RecursionError):
        raise BadEvent("message.content 不是 JSON / message.content is not JSON") from None
    text = content.get("text") if isinstance(content, dict) else None
    return _MENTION_KEY.sub("", text).strip() if isinstance(text, str) else ""


def parse_event(payload: dict[str, Any]) -> IncomingMessage | None:
    """A v2 ``im.message.receive_v1`` event as an :class:`IncomingMessage`; None for anything else.

    Pure. The envelope's header is type-checked for every event, the event body for messages
    (:mod:`bot.adapters.payloads`): a wrong type raises :class:`BadEvent`. Other event types are
    acknowledged unread (Feishu redelivers anything not answered 200). Group messages count as
    addressed to the bot only when they mention someone (Feishu delivers group messages to a bot
    only when it is @-mentioned, unless the app asked for all).
    """
    try:
        envelope = check(FeishuEnvelope, payload)
        header = envelope.header
        if header is None or header.event_type != MESSAGE_EVENT:
            return None
        if envelope.event is None:
            raise BadEvent("缺少字段 event.message / event.message missing")
        event = check(FeishuMessageEvent, envelope.event, prefix="event")
    except WrongType as exc:
        raise BadEvent(str(exc)) from None
    message, sender = event.message, event.sender
    if sender is not None and sender.sender_type not in (None, "user"):
        return None
    if message.message_type != "text":
        return None
    ids = sender.sender_id if sender is not None else None
    user = (ids.user_id or ids.open_id or "") if ids is not None else ""
    chat, msg_id = message.chat_id or "", message.message_id or ""
    if not (user and chat and msg_id):
        raise BadEvent("缺少发送者、chat_id 或 message_id / sender, chat_id or message_id missing")
    text = _text_of(message)
    if not text:
        return None
    private = message.chat_type == "p2p"
    created = message.create_time or ""
    received = datetime.fromtimestamp(int(created) / 1000, UTC) if created.isascii() and created.isdigit() \
        and len(created) <= 15 else None
    return IncomingMessage(
        platform=PLATFORM, message_id=msg_id, chat_id=chat, user_id=user, text=text, is_private=private,
        mentioned=private or bool(message.mentions), received_at=received,
        reply_handle={"durable": Destination(PLATFORM, "chat", chat), "event_id": header.event_id or ""},
    )


class Dispatch(Protocol):
    def __call__(self, msg: IncomingMessage) -> bool | Awaitable[bool]: ...  # the dispatcher's is async


class FeishuCallback:
    """Verification and decryption for ``POST /feishu/callback``."""

    def __init__(self, settings: FeishuSettings, dispatch: Dispatch, *, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.dispatch = dispatch
        self.clock = clock
        self._token = settings.verification_token.get_secret_value()
        self._key = settings.encrypt_key.get_secret_value()
        register_secret(self._token, self._key)

    @property
    def configured(self) -> bool:
        return bool(self._token or self._key)

    def _signed_ok(self, headers: dict[str, str], body: bytes) -> tuple[bool, str]:
        ts = headers.get("x-lark-request-timestamp", "")
        nonce = headers.get("x-lark-request-nonce", "")
        signature = headers.get("x-lark-signature", "")
        if not (ts and nonce and signature):
            return False, "signature headers missing"
        if not (ts.isascii() and ts.isdigit() and len(ts) <= 12) or \
                abs(self.clock() - int(ts)) > self.settings.timestamp_tolerance_seconds:
            return False, "stale timestamp"
        expected = event_signature(ts, nonce, self._key, body)
        return hmac.compare_digest(expected.encode(), signature.lower().encode()), "bad signature"

    def _token_ok(self, payload: dict[str, Any]) -> bool:
        if not self._token:
            return True  # no token configured: the Encrypt Key signature is the proof
        header = payload.get("header") if isinstance(payload.get("header"), dict) else {}
        got = str(header.get("token") or payload.get("token") or "")
        return hmac.compare_digest(got.encode(), self._token.encode())

    async def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any], str]:
        """(status, JSON body, reason for the log). Never raises.

        With an Encrypt Key, signature headers, when present, are checked before anything is
        decrypted; only the URL-verification handshake may come without them.
        """
        if not self.configured:
            return 404, {"msg": "feishu callback is not configured"}, "not configured"
        signed = False
        if self._key and "x-lark-signature" in headers:
            ok, why = self._signed_ok(headers, body)
            if not ok:
                return 403, {"msg": "forbidden"}, why
            signed = True
        try:
            payload = self._open(body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return 400, {"msg": "bad request"}, f"malformed: {type(exc).__name__}"
        if payload.get("type") == "url_verification":
            if not self._token_ok(payload):
                return 403, {"msg": "forbidden"}, "challenge with a wrong token"
            challenge = payload.get("challenge", "")
            if not isinstance(challenge, str):
                return 400, {"msg": "bad request"}, "challenge 不是字符串 / challenge is not a string"
            return 200, {"challenge": challenge}, "url verified"
        if self._key and not signed:
            return 403, {"msg": "forbidden"}, "signature headers missing"
        if not self._token_ok(payload):
            return 403, {"msg": "forbidden"}, "wrong verification token"
        return await self._dispatch(payload)

    def _open(self, body: bytes) -> dict[str, Any]:
        """The event as a dict, decrypted when it came as ``{"encrypt": …}``."""
        payload = json.loads(body.decode("utf-8"))
        if not isinstance(payload, dict):
            raise BadEvent("body is not a JSON object")
        if "encrypt" in payload:
            if not self._key:
                raise BadEvent("encrypted body but no encrypt_key configured")
            payload = json.loads(decrypt(self._key, str(payload["encrypt"])))
            if not isinstance(payload, dict):
                raise BadEvent("decrypted body is not a JSON object")
        return payload

    async def _dispatch(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        try:
            msg = parse_event(payload)
        except BadEvent as exc:
            return 400, {"msg": "bad request"}, str(exc)
        if msg is None:
            return 200, {}, "not a command"
        try:
            taken = self.dispatch(msg)
            if inspect.isawaitable(taken):  # stored in the inbox before the 200
                taken = await taken
        except Exception as exc:  # noqa: BLE001 - shutting down, backlog full, inbox down: Feishu redelivers
            return 503, {"msg": "unavailable"}, f"dispatch refused: {type(exc).__name__}"
        return 200, {}, "dispatched" if taken else f"duplicate {msg.message_id}"


def routes(settings: FeishuSettings, dispatch: Dispatch, *, clock: Callable[[], float] = time.time
           ) -> list[web.RouteDef]:
    """``POST /feishu/callback`` for the server's route table."""
    callback = FeishuCallback(settings, dispatch, clock=clock)
    cap = settings.callback_max_body_bytes

    async def post(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > cap:
            status, body, why = 413, {"msg": "body too large"}, "oversized body"
        else:
            raw = await request.content.read(cap + 1)
            if len(raw) > cap:
                status, body, why = 413, {"msg": "body too large"}, "oversized body"
            else:
                headers = {k.lower(): v for k, v in request.headers.items()}
                status, body, why = await callback.handle(headers, raw)
        log.log(logging.INFO if status < 400 else logging.WARNING, "feishu POST %s -> %d (%s)", PATH, status, why)
        return web.json_response(body, status=status)

    return [web.post(PATH, post)]


def install(app: web.Application, ctx: Any) -> None:
    """Server registry hook: ``POST /feishu/callback`` (404 until a token or Encrypt Key is set)."""
    app.add_routes(routes(ctx.settings.feishu, ctx.dispatcher.submit))
