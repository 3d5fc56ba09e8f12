"""What DingTalk sends to csbot: robot callbacks signed per the official algorithm.

The signature is computed here with the fake's independent implementation, never with csbot's.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.fakes.dingtalk_server import FakeDingTalk, independent_sign

_ids = itertools.count(1)


def callback_payload(fake: FakeDingTalk, text: str, *, private: bool = False, mentioned: bool = True,
                     staff_id: str = "manager4756", conversation_id: str = "cidGroupOps==",
                     session_ttl_ms: int = 5_400_000, msg_id: str | None = None,
                     webhook: str | None = None) -> dict[str, Any]:
    """A robot message as DingTalk posts it (§1b), with a live session on the fake."""
    url, expires = fake.new_session(session_ttl_ms)
    payload: dict[str, Any] = {
        "conversationId": conversation_id,
        "chatbotCorpId": "dingcorp",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "msgId": msg_id or f"msg{next(_ids):08d}==",
        "senderNick": "王小明",
        "isAdmin": False,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": expires,
        "createAt": int(time.time() * 1000),
        "senderCorpId": "dingcorp",
        "conversationType": "1" if private else "2",
        "senderId": "$:LWCP_v1:$sender",
        "isInAtList": mentioned,
        "sessionWebhook": webhook or url,
        "text": {"content": " " + text},
        "robotCode": fake.robot_code,
        "msgtype": "text",
    }
    if not private:
        payload["conversationTitle"] = "客服运营群"
    return payload


def signed_headers(secret: str, timestamp_ms: int | None = None) -> dict[str, str]:
    ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    return {"timestamp": ts, "sign": independent_sign(secret, ts),
            "Content-Type": "application/json; charset=utf-8"}


def body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
