"""WeCom (企业微信) self-built app callback: ``GET|POST /wecom/callback``.

The route verifies, acknowledges and dispatches; it never runs a command:

* GET (URL verification): ``msg_signature`` over token/timestamp/nonce/echostr, decrypt the
  echostr and answer its bare plaintext as ``text/plain``.
* POST (messages): size cap → timestamp window → outer XML (defusedxml, no entities) →
  signature over ``Encrypt`` → AES-256-CBC decrypt with validated PKCS#7 and receiveid == CorpID
  → inner XML → :func:`parse_message` (pure) → ``dispatch`` → HTTP 200 with an empty body.
  WeCom retries a message up to 3 times when it does not get 200 within 5 s; a retry of a
  message already taken is answered 200 and dropped (the dispatcher remembers MsgIds).
  The answer goes out later through the app message API (:mod:`bot.adapters.wecom_api`).

Bad input never reaches a handler and never yields 5xx: missing parameters or malformed XML
→ 400, bad signature / wrong CorpID / stale timestamp → 403, oversized body → 413.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from aiohttp import web
from defusedxml import DefusedXmlException

from bot.adapters import wecom_crypto as crypto
from bot.adapters.base import Destination, IncomingMessage
from bot.adapters.payloads import WeComMessage, WrongType, check, wecom_fields
from bot.adapters.wecom_api import WeComAppSender, WeComRobotSender, WeComSender
from bot.adapters.wecom_crypto import WeComCrypto, WeComCryptoError
from bot.config import WeComSettings
from bot.redact import register_secret

log = logging.getLogger(__name__)

PLATFORM = "wecom"
PATH = "/wecom/callback"

__all__ = ["PATH", "PLATFORM", "WeComAppSender", "WeComCallback", "WeComRobotSender", "WeComSender",
           "parse_message", "routes"]


class MalformedMessage(ValueError):
    """The XML is not a WeCom message."""


def parse_xml(text: str | bytes) -> Element:
    """Parse untrusted XML with DTDs, entities and external references forbidden."""
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedMessage(f"bad XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise MalformedMessage("root element is not <xml>")
    return root


def _is_int(value: str) -> bool:
    """ASCII digits only (``"²".isdigit()`` is True but ``int("²")`` fails)."""
    return value.isascii() and value.isdigit()


def _field(root: Element, name: str) -> str:
    node = root.find(name)
    return (node.text or "").strip() if node is not None else ""


def parse_message(inner_xml: str, *, corp_id: str = "") -> IncomingMessage | None:
    """The decrypted WeCom message as an :class:`IncomingMessage`; None for events and non-text.

    Pure: no I/O, no clock. The known fields are type-checked first (:mod:`bot.adapters.payloads`:
    text, not repeated, no child elements, numbers as digits). Raises :class:`MalformedMessage`
    for XML that is not a message or has a known field of the wrong shape.
    """
    root = parse_xml(inner_xml)
    try:
        fields = wecom_fields(root)
        if "MsgType" not in fields or "FromUserName" not in fields:
            raise MalformedMessage("MsgType or FromUserName missing")
        msg = check(WeComMessage, fields)
    except WrongType as exc:
        raise MalformedMessage(str(exc)) from None
    if corp_id and (msg.ToUserName or "") not in ("", corp_id):
        raise MalformedMessage("ToUserName is not our CorpID")
    if msg.MsgType != "text":
        return None  # events (enter_agent, subscribe...) and media messages are not commands
    if not msg.Content:
        return None
    created = msg.CreateTime or ""
    msg_id = msg.MsgId or f"{msg.FromUserName}:{created}"
    received = datetime.fromtimestamp(int(created), UTC) if created and len(created) <= 12 else None
    return IncomingMessage(
        platform=PLATFORM, message_id=msg_id, chat_id=msg.FromUserName, user_id=msg.FromUserName,
        text=msg.Content, is_private=True, mentioned=True, received_at=received,
        reply_handle={"durable": Destination(PLATFORM, "user", msg.FromUserName), "agent_id": msg.AgentID or ""},
    )


class Dispatch(Protocol):
    def __call__(self, msg: IncomingMessage) -> bool | Awaitable[bool]: ...  # the dispatcher's is async


@dataclass
class CallbackResult:
    status: int
    body: str = ""
    content_type: str = "text/plain"
    reason: str = ""


class WeComCallback:
    """Verification and decryption of one app's callbacks; the aiohttp handlers wrap it."""

    def __init__(self, settings: WeComSettings, dispatch: Dispatch, *, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.dispatch = dispatch
        self.clock = clock
        register_secret(settings.token.get_secret_value(), settings.encoding_aes_key.get_secret_value())
        self._crypto: WeComCrypto | None = None
        if self.configured:
            self._crypto = WeComCrypto(settings.token.get_secret_value(),
                                       settings.encoding_aes_key.get_secret_value(), settings.corp_id)

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.corp_id and s.token.get_secret_value() and s.encoding_aes_key.get_secret_value())

    def _fresh(self, timestamp: str) -> bool:
        if not _is_int(timestamp):
            return False
        return abs(self.clock() - int(timestamp)) <= self.settings.timestamp_tolerance_seconds

    def _precheck(self, query: dict[str, str], *extra: str) -> CallbackResult | None:
        if self._crypto is None:
            return CallbackResult(404, "wecom callback is not configured", reason="not configured")
        missing = [k for k in ("msg_signature", "timestamp", "nonce", *extra) if not query.get(k)]
        if missing:
            return CallbackResult(400, "missing parameters", reason=f"missing {','.join(missing)}")
        if not self._fresh(query["timestamp"]):
            return CallbackResult(403, "stale timestamp", reason="timestamp outside the window")
        return None

    def verify_url(self, query: dict[str, str]) -> CallbackResult:
        """The GET handshake: the decrypted echostr, bare, or an error status."""
        bad = self._precheck(query, "echostr")
        if bad is not None:
            return bad
        assert self._crypto is not None
        try:
            # Base64 has no spaces: a space here is a "+" some proxy sent unencoded and the query
            # parser turned into a space (decoding once more would be the bug PROTOCOLS warns about).
            echostr = query["echostr"].replace(" ", "+")
            plain = self._crypto.verify_url(query["msg_signature"], query["timestamp"], query["nonce"], echostr)
        except WeComCryptoError as exc:
            return _crypto_failure(exc)
        return CallbackResult(200, plain, reason="url verified")

    async def receive(self, query: dict[str, str], body: bytes) -> CallbackResult:
        """A message POST: verify, decrypt, parse, dispatch; always cheap, never raises."""
        bad = self._precheck(query)
        if bad is not None:
            return bad
        assert self._crypto is not None
        try:
            encrypt = _field(parse_xml(body), "Encrypt")
            if not encrypt:
                raise MalformedMessage("Encrypt missing")
            inner = self._crypto.decrypt_message(query["msg_signature"], query["timestamp"], query["nonce"],
                                                 encrypt)
            msg = parse_message(inner, corp_id=self.settings.corp_id)
        except WeComCryptoError as exc:
            return _crypto_failure(exc)
        except MalformedMessage as exc:
            return CallbackResult(400, "malformed message", reason=str(exc))
        if msg is None:
            return CallbackResult(200, reason="not a command (event or media)")
        try:
            taken = self.dispatch(msg)
            if inspect.isawaitable(taken):  # stored in the inbox before the 200
                taken = await taken
        except Exception as exc:  # noqa: BLE001 - shutting down, backlog full, inbox down: WeCom retries
            return CallbackResult(503, "unavailable", reason=f"dispatch refused: {type(exc).__name__}")
        if not taken:
            return CallbackResult(200, reason=f"duplicate MsgId {msg.message_id}")
        return CallbackResult(200, reason="dispatched")


def _crypto_failure(exc: WeComCryptoError) -> CallbackResult:
    if exc.code in (crypto.VALIDATE_SIGNATURE, crypto.VALIDATE_CORPID):
        return CallbackResult(403, "forbidden", reason=str(exc))
    return CallbackResult(400, "cannot decrypt", reason=str(exc))


async def _read_capped(request: web.Request, cap: int) -> bytes | None:
    if request.content_length is not None and request.content_length > cap:
        return None
    body = await request.content.read(cap + 1)
    return None if len(body) > cap else body


def _respond(result: CallbackResult, request: web.Request) -> web.Response:
    level = logging.INFO if result.status < 400 else logging.WARNING
    log.log(level, "wecom %s %s -> %d (%s)", request.method, PATH, result.status, result.reason)
    return web.Response(status=result.status, text=result.body, content_type=result.content_type)


def handlers(callback: WeComCallback) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The aiohttp GET and POST handlers for ``callback``."""

    async def get(request: web.Request) -> web.Response:
        return _respond(callback.verify_url(dict(request.query)), request)

    async def post(request: web.Request) -> web.Response:
        body = await _read_capped(request, callback.settings.callback_max_body_bytes)
        if body is None:
            return _respond(CallbackResult(413, "body too large", reason="oversized body"), request)
        return _respond(await callback.receive(dict(request.query), body), request)

    return get, post


def routes(settings: WeComSettings, dispatch: Dispatch, *, clock: Callable[[], float] = time.time
           ) -> list[web.RouteDef]:
    """``GET|POST /wecom/callback`` for the server's route table."""
    get, post = handlers(WeComCallback(settings, dispatch, clock=clock))
    return [web.get(PATH, get, allow_head=False), web.post(PATH, post)]
