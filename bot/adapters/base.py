"""The narrow contract every platform adapter implements.

Inbound: an adapter verifies a request and parses it, with a pure function, into an
:class:`IncomingMessage`. Outbound: a :class:`Sender` delivers a :class:`handlers.base.Reply`
to a :class:`Destination`. Handlers and analytics never see anything platform-specific.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.base import Reply


@dataclass(frozen=True)
class IncomingMessage:
    """A chat message addressed to the bot, whatever platform it came from."""

    platform: str  # "dingtalk" | "wecom" | "feishu" | "console"
    message_id: str
    chat_id: str
    user_id: str
    text: str
    user_name: str = ""
    is_private: bool = False
    mentioned: bool = True
    received_at: datetime | None = None
    # Platform-specific reply routing, e.g. DingTalk sessionWebhook + its expiry; opaque to handlers.
    reply_handle: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Destination:
    """Where an outgoing message goes: a configured robot webhook, a chat, or a user."""

    platform: str
    kind: str  # "robot" | "chat" | "user" | "session"
    target: str  # robot name, chat id, user id, or session key
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.kind}:{self.target}"


def durable_destination(msg: IncomingMessage) -> Destination:
    """Where a message to ``msg``'s chat goes outside a live reply: the adapter's ``durable`` handle,
    else the group (``chat``) or, in a 1:1 chat, the user. Replies and chat subscriptions both use it."""
    handle = msg.reply_handle.get("durable")
    if isinstance(handle, Destination):
        return handle
    if msg.is_private:
        return Destination(msg.platform, "user", msg.user_id)
    return Destination(msg.platform, "chat", msg.chat_id)


class SendError(Exception):
    """A failed delivery. ``retryable`` and ``refresh_token`` come from the vendor error table.

    The message never contains a secret, token or full webhook URL.
    """

    def __init__(self, message: str, *, code: int | str | None = None, retryable: bool = False,
                 refresh_token: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.refresh_token = refresh_token
        self.retry_after = retry_after


class Sender(ABC):
    """Delivers replies to one platform."""

    platform: str

    @abstractmethod
    async def send(self, destination: Destination, reply: Reply) -> None:
        """Send ``reply``; raise :class:`SendError` on failure."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
