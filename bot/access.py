"""Who may use the bot where, how often, and the audit trail of what they did.

``AccessPolicy.check`` is a pure in-memory decision (allowed chats, admins, sensitive commands,
a per-user token bucket driven by an injected clock); ``AccessPolicy.audit`` writes one
``audit_log`` row per command, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from analytics.store.audit import AuditEntry
from bot.adapters.base import IncomingMessage
from bot.config import AccessSettings
from handlers.base import CommandSpec

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

REFUSE_CHAT = "抱歉，本群还没有开通数据机器人。如需使用，请联系管理员把本群加入白名单。"
REFUSE_PRIVATE = "抱歉，单聊暂未向您开放。如需使用，请联系管理员开通权限。"
REFUSE_ADMIN = "抱歉，「{name}」只有管理员可以使用。"
REFUSE_SENSITIVE = "「{name}」包含按客服个人的数据，只能在单聊或指定的群里查看。请私聊我发送同样的指令。"
REFUSE_RATE = "您发得有点快，请 {seconds} 秒后再试。"

_MAX_BUCKETS = 10_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _listed(entries: list[str], platform: str, value: str) -> bool:
    """``value`` appears bare or as ``platform:value`` (``*`` matches everything)."""
    return "*" in entries or value in entries or f"{platform}:{value}" in entries


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` tokens per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; return 0 when granted, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        return self.tokens + max(0.0, now - self.updated) * self.rate >= self.capacity


class AccessPolicy:
    """The ``[access]`` rules applied to one incoming message and the command it asks for."""

    def __init__(self, settings: AccessSettings, engine: Engine | None, clock: Clock | None = None):
        self.settings = settings
        self.engine = engine
        self.clock = clock or _utcnow
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def is_admin(self, msg: IncomingMessage) -> bool:
        return _listed(self.settings.admins, msg.platform, msg.user_id)

    def is_sensitive(self, spec: CommandSpec) -> bool:
        return spec.sensitive or spec.name in self.settings.sensitive_commands

    def check(self, msg: IncomingMessage, spec: CommandSpec | None) -> str | None:
        """None when ``msg`` may run ``spec`` (None = no command matched), else a polite refusal."""
        admin = self.is_admin(msg)
        refusal = self._where_refusal(msg, admin)
        if refusal is None:
            refusal = self._rate_refusal(msg)
        if refusal is None and spec is not None:
            refusal = self._command_refusal(msg, spec, admin)
        return refusal

    def _where_refusal(self, msg: IncomingMessage, admin: bool) -> str | None:
        s = self.settings
        if admin:
            return None
        if msg.is_private:
            if not s.allow_private:
                return REFUSE_PRIVATE
            if s.allowed_users and not _listed(s.allowed_users, msg.platform, msg.user_id):
                return REFUSE_PRIVATE
            return None
        if s.allowed_chats and not _listed(s.allowed_chats, msg.platform, msg.chat_id):
            return REFUSE_CHAT
        return None

    def _command_refusal(self, msg: IncomingMessage, spec: CommandSpec, admin: bool) -> str | None:
        if spec.admin_only and not admin:
            return REFUSE_ADMIN.format(name=spec.name)
        if self.is_sensitive(spec) and not msg.is_private:
            if not _listed(self.settings.sensitive_chats, msg.platform, msg.chat_id):
                return REFUSE_SENSITIVE.format(name=spec.name)
        return None

    def _rate_refusal(self, msg: IncomingMessage) -> str | None:
        wait = self.throttle(msg.platform, msg.user_id)
        if wait <= 0:
            return None
        return REFUSE_RATE.format(seconds=max(1, math.ceil(wait)))

    def throttle(self, platform: str, user_id: str) -> float:
        """Spend one of the user's tokens; 0 when granted, else seconds to wait."""
        rate_per_min = self.settings.user_rate_per_minute
        if rate_per_min <= 0:
            return 0.0
        now = self.clock().timestamp()
        key = (platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._prune(now)
            capacity = float(max(1, self.settings.user_burst))
            bucket = TokenBucket(capacity, rate_per_min / 60.0, capacity, now)
            self._buckets[key] = bucket
        return bucket.take(now)

    def _prune(self, now: float) -> None:
        """Forget users whose bucket is full again: they are indistinguishable from new users."""
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]

    def audit_entry(self, msg: IncomingMessage, command_name: str, result: str) -> AuditEntry:
        return AuditEntry(
            at=self.clock().astimezone(UTC),
            platform=msg.platform[:16],
            chat_id=msg.chat_id[:256],
            user_id=msg.user_id[:256],
            user_name=msg.user_name[:128],
            is_private=msg.is_private,
            message_id=msg.message_id[:256],
            command=(command_name or "")[:64],
            text=msg.text[:500],
            result=result[:256],
        )

    def audit(self, msg: IncomingMessage, command_name: str, result: str) -> None:
        """Record who ran what, where, when, and the result. Blocking: call it in a thread
        (``Bot.handle`` does) or use :meth:`audit_async`. A failed write is logged, never raised.
        """
        entry = self.audit_entry(msg, command_name, result)
        try:
            self._write(entry)
        except Exception:  # noqa: BLE001 - the reply must not fail because the audit write did
            log.exception("audit write failed for %s/%s", entry.platform, entry.message_id)

    async def audit_async(self, msg: IncomingMessage, command_name: str, result: str) -> None:
        await asyncio.to_thread(self.audit, msg, command_name, result)

    def _write(self, entry: AuditEntry) -> None:
        if self.engine is None:
            log.info("audit %s %s %s %s -> %s", entry.platform, entry.chat_id, entry.user_id,
                     entry.command, entry.result)
            return
        with Session(self.engine) as session:
            session.add(entry)
            session.commit()
