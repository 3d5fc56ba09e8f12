"""DingTalk protocol, pure functions: signatures, callback parsing, message rendering.

Wire details and sources: ../shared/PROTOCOLS.md §1. Network code is in ``dingtalk_api``
(OpenAPI client, token cache), ``dingtalk_sender`` (the :class:`Sender`), ``dingtalk_http``
(the callback route) and ``dingtalk_stream`` (Stream mode).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.adapters.base import Destination, IncomingMessage
from bot.adapters.payloads import (
    DingTalkCallback,
    DingTalkMediaContent,
    DingTalkRichContent,
    WrongType,
    dingtalk_callback,
)
from bot.delivery.split import TRIM_MARK, byte_len, json_cost, split_text, trim_text
from handlers.base import Reply

PLATFORM = "dingtalk"
SIGN_WINDOW_MS = 3_600_000  # ±1 hour, §1b
MAX_BODY_BYTES = 20_000  # custom robot / session webhook body limit, measured on UTF-8 bytes (§1a)
MAX_PARTS = 3  # a reply longer than this many messages is trimmed instead of split further


class VerifyResult(enum.Enum):
    OK = "ok"
    MISSING = "missing headers"
    BAD_TIMESTAMP = "bad timestamp"
    STALE = "timestamp outside the 1 h window"
    BAD_SIGN = "signature mismatch"


class PayloadError(ValueError):
    """A callback body that is valid JSON but not a DingTalk robot message."""


def sign(secret: str, timestamp_ms: int | str) -> str:
    """Raw Base64 of HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}") (§1a/§1b)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def verify_callback(timestamp: str | None, signature: str | None, app_secret: str, now_ms: int) -> VerifyResult:
    """Check the ``timestamp``/``sign`` headers of an HTTP callback: both the window and the HMAC."""
    if not timestamp or not signature or not app_secret:
        return VerifyResult.MISSING
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
        return VerifyResult.BAD_TIMESTAMP
    if abs(now_ms - int(timestamp)) > SIGN_WINDOW_MS:
        return VerifyResult.STALE
    expected = sign(app_secret, timestamp)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        return VerifyResult.BAD_SIGN
    return VerifyResult.OK


def _text_of(cb: DingTalkCallback, content: DingTalkRichContent | DingTalkMediaContent | None) -> str | None:
    if cb.msgtype == "text":
        return cb.text.content
    if cb.msgtype == "richText" and isinstance(content, DingTalkRichContent):
        return "".join(part.text for part in content.richText if part.text)
    return None  # pictures, files, audio: nothing to answer


def parse_callback(payload: Any) -> IncomingMessage | None:
    """The robot message in a callback body, or None when it is not addressed to the bot.

    Handled: 1:1 messages and group messages that @-mention the robot. The whole body is
    type-checked first (:mod:`bot.adapters.payloads`); raises :class:`PayloadError` when required
    fields are missing or any known field has the wrong type.
    """
    try:
        cb, content = dingtalk_callback(payload)
    except WrongType as exc:
        raise PayloadError(str(exc)) from None
    is_private = cb.conversationType == "1"
    if not is_private and cb.isInAtList is not True:
        return None
    raw = _text_of(cb, content)
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    staff_id = cb.senderStaffId or ""
    user_id = staff_id or cb.senderId or ""
    if not user_id:
        raise PayloadError("缺少发送者 / no sender id")
    chat_id = cb.conversationId or user_id
    return IncomingMessage(
        platform=PLATFORM,
        message_id=cb.msgId,
        chat_id=chat_id,
        user_id=user_id,
        text=text,
        user_name=cb.senderNick or "",
        is_private=is_private,
        mentioned=True,
        received_at=datetime.fromtimestamp(cb.createAt / 1000, UTC) if _ms_ok(cb.createAt) else None,
        reply_handle=_reply_handle(cb, is_private, chat_id, user_id, staff_id),
    )


def _ms_ok(value: int | None) -> bool:
    return bool(value) and value < 10**14  # past year 5000 is not a timestamp datetime can hold


def _reply_handle(cb: DingTalkCallback, is_private: bool, chat_id: str, user_id: str,
                  staff_id: str) -> dict[str, Any]:
    """Where a reply goes: ``live`` (the sessionWebhook while valid) and ``durable`` (OpenAPI)."""
    extra = {"robot_code": cb.robotCode} if cb.robotCode else {}
    durable = (Destination(PLATFORM, "user", user_id, extra) if is_private
               else Destination(PLATFORM, "chat", chat_id, extra))
    handle: dict[str, Any] = {"durable": durable}
    if cb.sessionWebhook:
        handle["live"] = Destination(PLATFORM, "session", cb.msgId, {
            "webhook": cb.sessionWebhook,
            "expires_ms": cb.sessionWebhookExpiredTime or 0,
            "at_user_ids": [staff_id] if staff_id and not is_private else [],
        })
    return handle


# ---------------------------------------------------------------- rendering


def dumps(body: dict[str, Any]) -> bytes:
    """The bytes actually sent: UTF-8 JSON without ``\\uXXXX`` escapes (§1a size pitfall)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def markdown_bodies(title: str, text: str, *, at_user_ids: Sequence[str] = (), at_mobiles: Sequence[str] = (),
                    limit: int = MAX_BODY_BYTES, max_parts: int = MAX_PARTS) -> list[dict[str, Any]]:
    """Markdown message bodies for one reply: split by lines, at most ``max_parts``, each within ``limit``.

    ``at_mobiles`` (an alert's on-call people) go into ``at.atMobiles`` *and* into the text as
    ``@<mobile>``: without the text mention DingTalk does not highlight it (§1a)."""
    at: dict[str, Any] = {"atUserIds": list(at_user_ids), "isAtAll": False}
    if at_mobiles:
        at["atMobiles"] = list(at_mobiles)
        text = text.rstrip() + "  \n" + " ".join(f"@{m}" for m in at_mobiles)
    title = title[:64] or "csbot"
    widest_title = f"{title} ({max_parts}/{max_parts})"  # part numbers never exceed max_parts
    shell = {"msgtype": "markdown", "markdown": {"title": widest_title, "text": ""}, "at": at}
    budget = limit - len(dumps(shell))
    # Every character costs at least one byte, so nothing past this prefix can fit in max_parts parts.
    keep = budget * max_parts + 1
    parts = split_text(text[:keep], budget, cost=json_cost)
    if len(parts) > max_parts or len(text) > keep:
        tail = "\n".join(parts[max_parts - 1:])
        last = trim_text(tail, budget - byte_len(TRIM_MARK, json_cost), cost=json_cost)
        parts = parts[: max_parts - 1] + [last if last.endswith(TRIM_MARK) else last + TRIM_MARK]
    bodies = []
    for i, part in enumerate(parts, 1):
        part_title = title if len(parts) == 1 else f"{title} ({i}/{len(parts)})"
        bodies.append({"msgtype": "markdown", "markdown": {"title": part_title, "text": part}, "at": at})
    return bodies


def reply_markdown(reply: Reply, image_refs: Sequence[str | None] = ()) -> tuple[str, str]:
    """(title, markdown text) for a reply. ``image_refs[i]`` is a URL or ``@media_id`` for
    ``reply.charts[i]``, or None when that chart cannot be shown (it becomes a text line).

    DingTalk markdown renders a single newline as a space, so lines end with two spaces (a
    markdown hard break; blinkbean/dingtalk#2, jxxghp/MoviePilot-Plugins#875).
    """
    title = reply.title or reply.text.strip().split("\n", 1)[0][:30] or "csbot"
    text = "  \n".join(line.rstrip() for line in reply.text.strip().split("\n"))
    for i, chart in enumerate(reply.charts):
        ref = image_refs[i] if i < len(image_refs) else None
        if ref:
            text += f"\n\n![{chart.title}]({ref})"
        else:
            text += f"\n\n[图表] {chart.title}（图片暂不可用）"
    return title, text


def ensure_keyword(title: str, text: str, keywords: Sequence[str]) -> tuple[str, str]:
    """Keyword-mode robots drop messages without one of their keywords (310000): add the first one."""
    if not keywords or any(k and (k in title or k in text) for k in keywords):
        return title, text
    return f"{keywords[0]} {title}", f"{keywords[0]}  \n{text}"
