"""``csbot digest [日报|周报] [--date YYYY-MM-DD] [--send]``: build a digest now and print it.

stdout gets the digest text, then the chart's path on its own last line (nothing else, so scripts
can take the path with ``tail -1``); a progress line goes to stderr while it builds and renders.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TextIO

from bot.config import Settings
from handlers.base import CommandError, Reply

SPIN_SECONDS = 0.2


def _say(text: str, stream: TextIO) -> None:
    """One line to ``stream`` (this is a CLI module: its output is the product, not a log)."""
    stream.write(text + "\n")
    stream.flush()


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    g = sub.add_parser("digest", help="build a 日报/周报 now: prints the text, then the chart path")
    g.add_argument("kind", nargs="?", choices=["日报", "周报"], default="日报")
    g.add_argument("--date", help="YYYY-MM-DD: the 日报's day (default yesterday) or a day inside the 周报's week "
                                  "(default last week)")


def parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"日期「{text}」看不懂，请写成 YYYY-MM-DD，例如 2026-12-01。") from None


class Progress:
    """One stderr line while the digest builds: a ticking timer on a terminal, start and end lines otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.perf_counter()

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    async def tick(self) -> None:
        while True:
            self.stream.write(f"\r正在生成{self.label}… {self._elapsed():.1f} s")
            self.stream.flush()
            await asyncio.sleep(SPIN_SECONDS)

    def start(self) -> None:
        if not self.tty:
            _say(f"正在生成{self.label}…", self.stream)

    def done(self, ok: bool) -> None:
        word = "已生成" if ok else "生成失败"
        prefix = "\r\033[K" if self.tty else ""
        _say(f"{prefix}{self.label}{word}（{self._elapsed():.1f} s）", self.stream)


async def build_with_progress(make: Callable[[], Any], label: str) -> Reply:
    """Await ``make()`` while the progress line runs; the line ends with 已生成 or 生成失败."""
    progress = Progress(label)
    progress.start()
    ticker = asyncio.create_task(progress.tick()) if progress.tty else None
    ok = False
    try:
        reply = await make()
        ok = True
        return reply
    finally:
        if ticker is not None:
            ticker.cancel()
        progress.done(ok)


def run(settings: Settings, args: argparse.Namespace, make_bot: Callable[[Settings], Any]) -> int:
    """The ``digest`` subcommand: 0 printed, 1 database unreadable, 2 bad input."""
    try:
        day = parse_day(args.date)
    except CommandError as exc:
        _say(exc.message, sys.stderr)
        return 2
    # matplotlib & co. load only when a digest is built, not for every csbot command
    from handlers.digest import DigestUnavailable, digest_reply

    bot = make_bot(settings)
    now = datetime.now(settings.tz)

    async def make() -> Reply:
        # An operator's terminal may see per-agent figures, like a 1:1 chat.
        return await digest_reply(bot.services, args.kind, now=now, day=day, show_agents=True)

    try:
        reply = asyncio.run(build_with_progress(make, args.kind))
    except CommandError as exc:
        _say(exc.message, sys.stderr)
        return 2
    except DigestUnavailable as exc:
        _say(f"数据库暂时无法读取，{args.kind}没有生成：{exc.reason}", sys.stderr)
        return 1
    _say(reply.text, sys.stdout)
    for chart in reply.charts:
        _say(str(chart.path), sys.stdout)
    return 0
