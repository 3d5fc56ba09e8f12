"""The bot: routes a chat message to a command and returns its Reply. Platform-neutral.

Errors are handled here, in one place: a ``CommandError`` is shown as-is; anything else is
logged with a traceback and an id, and the user sees a short message with that id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from analytics import metrics
from analytics.periods import PeriodError, resolve_window
from bot.adapters.base import IncomingMessage, durable_destination
from bot.config import Settings
from bot.router import Parsed, Router, UnknownFilterValue
from handlers.base import CommandContext, CommandError, Reply, Services
from handlers.registry import load_commands

log = logging.getLogger(__name__)

NOT_UNDERSTOOD = "没听懂。试试「/满意度 本周」「昨天淘宝的投诉」，或发送 /帮助 查看全部命令。"
EMPTY_DB = ("还没有数据。先导入客服系统导出的文件：csbot import conversations 会话.csv"
            "（详见 README「导入数据」），或运行 csbot demo 用演示数据体验。")
_KNOWN_TTL = 300.0
_KNOWN_RECHECK = 10.0  # an unknown filter value reloads names cached longer ago than this


def _reply_to(msg: IncomingMessage) -> dict[str, Any]:
    """The chat's durable destination as plain data, for commands that subscribe the chat to pushes."""
    d = durable_destination(msg)
    return {"platform": d.platform, "kind": d.kind, "target": d.target, "extra": dict(d.extra)}


class Bot:
    """Routes text to commands. ``access`` (roles, rate limits, audit) is optional for embedded use."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Callable[[], datetime] | None = None,
                 chart_dir: Path | None = None, access: Any = None):
        self.settings = settings
        self.engine = engine
        self.tz = settings.tz
        self._clock = clock
        self.commands = load_commands()
        self.router = Router(self.commands)
        self.access = access
        chart_dir = chart_dir or Path(settings.general.data_dir) / "charts"
        self.services = Services(engine=engine, tz=self.tz, chart_dir=chart_dir,
                                 min_agent_n=settings.metrics.min_agent_n)
        self.services.extra["agents_visible"] = self.agents_visible
        # The config file's digests as plain data: /订阅列表 lists them (marked 配置文件, not editable from chat).
        self.services.extra["digest_config"] = settings.digests.model_dump()
        self.services.extra["faq"] = settings.faq.model_dump()
        self.services.extra["alert_config"] = {"enabled": settings.alerts.enabled, "targets": list(settings.alerts.targets),
                                               "rules": [r.name for r in settings.alerts.rules]}  # /告警 /静默
        self.services.extra["staffing_config"] = settings.staffing.model_dump()  # /排班's [staffing]
        self._known: dict[str, list[str]] = {}
        self._known_at = float("-inf")
        self._has_data = False
        # Called with (command name, outcome, seconds) for every answer: the server's metrics.
        self.observe: Callable[[str, str, float], None] | None = None

    def agents_visible(self, ctx: CommandContext) -> bool:
        """Whether a reply in this chat may carry per-agent figures (the /周报 league): where the
        sensitive /客服 may be used — any chat without an access policy, else 1:1 chats and
        ``[access] sensitive_chats``."""
        if self.access is None or ctx.is_private:
            return True
        chats = self.access.settings.sensitive_chats
        return "*" in chats or ctx.chat_id in chats or f"{ctx.platform}:{ctx.chat_id}" in chats

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(self.tz)

    async def ask(self, text: str, *, user_id: str = "console", chat_id: str = "console", user_name: str = "",
                  is_private: bool = True, mentioned: bool = True, platform: str = "console") -> Reply | None:
        """Handle one text as if typed in a chat (tests and the console use this)."""
        msg = IncomingMessage(platform=platform, message_id=uuid.uuid4().hex, chat_id=chat_id, user_id=user_id,
                              text=text, user_name=user_name, is_private=is_private, mentioned=mentioned)
        return await self.handle(msg)

    async def handle(self, msg: IncomingMessage) -> Reply | None:
        """The reply to ``msg``, or None when the message is not addressed to the bot."""
        if not (msg.is_private or msg.mentioned):
            return None
        started = time.perf_counter()
        name, outcome = "", "error"
        try:
            parsed = await self._parse(msg.text)
            if parsed is None:
                # Chat allow-list and rate limit apply to any text, not only to recognised commands.
                refusal = self.access.check(msg, None) if self.access else None
                self._observe("", "refused" if refusal else "not_understood", started)
                reply = Reply(refusal or NOT_UNDERSTOOD, ok=False)
                if self.access is not None:  # text matching no command is audited (command "?") like any refusal
                    await asyncio.to_thread(self.access.audit, msg, "?", reply.text[:200])
                return reply
            name = parsed.command.spec.name
            refusal = self.access.check(msg, parsed.command.spec) if self.access else None
            if refusal:
                reply, outcome = Reply(refusal, ok=False), "refused"
            else:
                reply = await self._run(msg, parsed)
                outcome = "ok" if reply.ok else "failed"
        except CommandError as exc:
            reply, outcome = Reply(exc.message, ok=False), "failed"
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("command failed (error id %s): %r", error_id, msg.text[:200])
            reply = Reply(f"出错了，请稍后再试。如果一直出现，请把错误编号 {error_id} 发给管理员。", ok=False)
        log.info("command %s from %s in %s: %s in %.0f ms", name or "?", msg.user_id, msg.chat_id,
                 "ok" if reply.ok else "refused/failed", (time.perf_counter() - started) * 1000)
        self._observe(name, outcome, started)
        if self.access is not None and name:
            audit_text = parsed.command.spec.audit_text
            audited = msg if audit_text is None else dataclasses.replace(msg, text=audit_text(msg.text))
            await asyncio.to_thread(self.access.audit, audited, name, "ok" if reply.ok else reply.text[:200])
        return reply

    def _observe(self, name: str, outcome: str, started: float) -> None:
        if self.observe is not None:
            self.observe(name, outcome, time.perf_counter() - started)

    async def _parse(self, text: str) -> Parsed | None:
        now = time.monotonic()
        if now - self._known_at > _KNOWN_TTL:
            self._known = await asyncio.to_thread(self._load_known)
            self._known_at = now
        try:
            return self.router.parse(text, self._known)
        except UnknownFilterValue:
            if now - self._known_at < _KNOWN_RECHECK:
                raise
        # The value may be newer than the cached names (imported by another process): reload once.
        self._known = await asyncio.to_thread(self._load_known)
        self._known_at = now
        return self.router.parse(text, self._known)

    def _load_known(self) -> dict[str, list[str]]:
        return {col: metrics.distinct_values(self.engine, col) for col in metrics.FILTER_KEYS.values()}

    def refresh_known_values(self) -> None:
        """Forget cached channel/agent/shop/product names and complaint categories (after an import)."""
        self._known_at = float("-inf")

    async def _run(self, msg: IncomingMessage, parsed: Parsed) -> Reply:
        spec = parsed.command.spec
        now = self.now()
        ctx = CommandContext(spec=spec, services=self.services, now=now, raw_text=msg.text, args=parsed.args,
                             filters=parsed.filters, granularity=parsed.granularity, explain=parsed.explain,
                             user_id=msg.user_id, user_name=msg.user_name, chat_id=msg.chat_id,
                             is_private=msg.is_private, platform=msg.platform, reply_to=_reply_to(msg),
                             is_admin=self.access.is_admin(msg) if self.access is not None else True)
        if spec.takes_period:
            phrase = parsed.period_phrase or spec.default_period
            try:
                ctx.window = resolve_window(phrase, now)
            except PeriodError as exc:
                raise CommandError(str(exc)) from None
            ctx.period_phrase = phrase
            if not await self._data_exists():
                raise CommandError(EMPTY_DB)
        return await parsed.command.handle(ctx)

    async def _data_exists(self) -> bool:
        if not self._has_data:
            self._has_data = await asyncio.to_thread(metrics.has_any_data, self.engine)
        return self._has_data
