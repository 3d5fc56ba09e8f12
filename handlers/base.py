"""What every command module shares: its spec, the context it runs in, and the reply it returns.

A command never calls a platform API; it returns a :class:`Reply` that any adapter can render.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from analytics.periods import Window


class CommandError(Exception):
    """An expected failure; its message (Chinese, for chat users) is shown as-is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Chart:
    """A rendered PNG attached to a reply."""

    path: Path
    title: str


@dataclass(frozen=True)
class Attachment:
    """A file attached to a reply (an export). The console and ``csbot ask`` print its path; on chat
    platforms the command puts a signed, expiring download link in the text (``Services.extra["publish_file"]``)."""

    path: Path
    title: str


@dataclass
class Reply:
    """A platform-neutral answer: plain text with light markdown (``**bold**``), plus charts and files."""

    text: str
    title: str | None = None
    charts: list[Chart] = field(default_factory=list)
    ok: bool = True
    files: list[Attachment] = field(default_factory=list)

    def render_text(self) -> str:
        """The reply as plain text (console, text-only platforms)."""
        lines = [self.text]
        lines.extend(f"[图表] {c.title}: {c.path}" for c in self.charts)
        lines.extend(f"[文件] {f.title}: {f.path}" for f in self.files)
        return "\n".join(lines)


@dataclass(frozen=True)
class CommandSpec:
    """Name, aliases and help of one command; the router and the help text are built from these."""

    name: str
    aliases: tuple[str, ...]
    usage: str
    help: str
    group: str = "指标"
    takes_period: bool = True
    default_period: str = "本周"
    filters: tuple[str, ...] = ("渠道", "客服", "店铺", "商品")
    sensitive: bool = False
    admin_only: bool = False
    # Words left after the period and filters are arguments (a name), not a period phrase.
    free_args: bool = False
    examples: tuple[str, ...] = ()
    # Only as /name: the name inside a sentence ("暂停", "订阅") does not pick this command.
    slash_only: bool = False
    # What the audit log keeps of the typed text (None: the text as typed). /删除客户 keeps a one-way
    # reference instead of the customer id it deletes.
    audit_text: Callable[[str], str] | None = None


@dataclass
class Services:
    """What handlers may use: the database, the clock's zone, where charts go, tunables."""

    engine: Engine
    tz: ZoneInfo
    chart_dir: Path
    min_agent_n: int = 20
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CommandContext:
    """One invocation: the parsed command plus who asked, where, and when."""

    spec: CommandSpec
    services: Services
    now: datetime
    raw_text: str = ""
    args: list[str] = field(default_factory=list)
    period_phrase: str | None = None
    window: Window | None = None
    filters: dict[str, str] = field(default_factory=dict)
    granularity: str | None = None  # 按天 / 按周 / 按月
    explain: bool = False
    user_id: str = "console"
    user_name: str = ""
    chat_id: str = "console"
    is_private: bool = True
    is_admin: bool = False
    # Where a push to this chat goes (the outbox destination as plain data: platform, kind, target, extra);
    # commands that subscribe the chat to something store it.
    reply_to: dict[str, Any] = field(default_factory=dict)
    platform: str = "console"


Handler = Callable[[CommandContext], Awaitable[Reply]]
