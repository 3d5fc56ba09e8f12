"""``csbot digest [日报|周报] [--date YYYY-MM-DD] [--send]``: build a digest now and print it.

stdout gets the digest text, then the chart's path on its own last line (nothing else, so scripts
can take the path with ``tail -1``); a progress line goes to stderr while it builds and renders.
``--send`` then hands it to ``bot.jobs.digests.send_now`` — the scheduled 日报's once-only claim for
``[digests] targets`` and the outbox — and delivers what is due now; what must wait for a retry stays
in the outbox for ``csbot serve``. Sending again for a day already sent sends nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TextIO

from bot.cli_output import say
from bot.config import Settings
from handlers.base import CommandError, Reply

SPIN_SECONDS = 0.2


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    g = sub.add_parser("digest", help="build a 日报/周报 now: prints the text, then the chart path")
    g.add_argument("kind", nargs="?", choices=["日报", "周报"], default="日报")
    g.add_argument("--date", help="YYYY-MM-DD: the 日报's day (default yesterday) or a day inside the 周报's week "
                                  "(default last week)")
    g.add_argument("--send", action="store_true",
                   help="also deliver it to [digests] targets through the outbox, once per day like the schedule")


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
            say(f"正在生成{self.label}…", self.stream)

    def done(self, ok: bool) -> None:
        word = "已生成" if ok else "生成失败"
        prefix = "\r\033[K" if self.tty else ""
        say(f"{prefix}{self.label}{word}（{self._elapsed():.1f} s）", self.stream)


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
    """The ``digest`` subcommand: 0 printed (and sent), 1 database unreadable or not delivered, 2 bad input."""
    try:
        day = parse_day(args.date)
    except CommandError as exc:
        say(exc.message, sys.stderr)
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
        say(exc.message, sys.stderr)
        return 2
    except DigestUnavailable as exc:
        say(f"数据库暂时无法读取，{args.kind}没有生成：{exc.reason}", sys.stderr)
        return 1
    say(reply.text, sys.stdout)
    for chart in reply.charts:
        say(str(chart.path), sys.stdout)
    if not args.send:
        return 0
    if not settings.digests.targets:
        say("[digests] targets 为空，没有可发送的目标（例如 targets = [\"dingtalk:ops\"]）。", sys.stderr)
        return 2
    if not reply.charts:  # 无数据: nothing worth pushing, and no claim is spent on it
        say(f"{args.kind}无数据，未发送。", sys.stderr)
        return 0
    return asyncio.run(send(settings, args.kind, day, bot.engine, now))


async def send(settings: Settings, kind: str, day: date | None, engine: Any, now: datetime) -> int:  # noqa: ANN401
    """Queue the digest for ``[digests] targets`` under the once-only claim, deliver what is due, report."""
    from bot.delivery.outbox import Outbox
    from bot.jobs.digests import config_key, send_now
    from bot.web.build import build_chart_links, build_senders

    senders = build_senders(settings, build_chart_links(settings))
    outbox = Outbox(engine, senders, settings=settings.delivery, tz=settings.tz)
    targets = "、".join(settings.digests.targets)
    try:
        outcome, covered = await send_now(settings, kind, day, engine=engine, outbox=outbox, now=now)
        if outcome == "taken":
            say(f"{kind}（{covered}）已发送过或正在发送给 {targets}，这次不再发送。", sys.stderr)
            return 0
        if outcome != "queued":
            say(f"{kind}（{covered}）没有发送（{outcome}），原因见日志。", sys.stderr)
            return 1
        await outbox.drain()
        states = await asyncio.to_thread(_states, engine, f"digest:{config_key(kind, settings.digests.targets, {}, None)}"
                                         f":{covered.isoformat()}")
    finally:
        for sender in senders.values():
            await sender.close()
    for key, status, error in states:
        word = {"sent": "已发送", "pending": "待重试（csbot serve 会继续发送）", "muted": "静默时段，未发送",
                "duplicate": "重复，未发送"}.get(status, "发送失败")
        say(f"{kind}（{covered}）→ {key}：{word}" + (f"（{error}）" if error and status != "sent" else ""), sys.stderr)
    return 0 if all(status in ("sent", "pending", "muted", "duplicate") for _, status, _ in states) else 1


def _states(engine: Any, dedup_key: str) -> list[tuple[str, str, str | None]]:  # noqa: ANN401
    """(destination, status, last error) of the digest's outbox rows, one per target."""
    from sqlmodel import Session, select

    from analytics.store.outbox import OutboxMessage

    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.dedup_key == dedup_key)
                            .order_by(OutboxMessage.id)).all()
        return [(r.destination_key, r.status, r.last_error) for r in rows]
