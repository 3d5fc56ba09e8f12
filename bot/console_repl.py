"""The console chat: the reference way to talk to csbot without a chat platform."""

from __future__ import annotations

import asyncio
import re
import sys

from bot.app import Bot

BANNER = """csbot 控制台 · 输入命令，例如  /满意度 本周   /首响 昨天 渠道=淘宝   昨天淘宝的投诉
/帮助 查看全部命令，exit 或 Ctrl-D 退出。"""


def render(text: str) -> str:
    """Console rendering of the light markdown: **bold** becomes terminal bold when on a TTY."""
    if sys.stdout.isatty():
        return re.sub(r"\*\*(.+?)\*\*", "\033[1m\\1\033[0m", text)
    return text.replace("**", "")


def run_repl(bot: Bot) -> int:
    """Read lines until EOF; non-interactive stdin (pipes, CI) simply ends the session."""
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history)
        except ImportError:
            pass
        print(BANNER)
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                line = input("你> " if interactive else "")
            except EOFError:
                break
            line = line.strip()
            if line in ("exit", "quit", "退出"):
                break
            if not line:
                continue
            reply = loop.run_until_complete(bot.ask(line))
            if reply is not None:
                print(render(reply.render_text()), flush=True)
                print(flush=True)
    finally:
        loop.close()
    return 0
