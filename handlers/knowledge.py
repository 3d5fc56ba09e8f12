"""/知识库: questions customers keep asking, proposed as knowledge-base / 快捷回复 entries with a mined answer.

    /知识库                     the top suggestions (ids, count, customers, growth, kind)
    /知识库 N                   suggestion N: phrasings, candidate answer, why
    /知识库 采纳 N [答案]        accept N (with an edited answer) into the knowledge base   (admins)
    /知识库 忽略 N               dismiss N (it returns only when it grows past [faq] regrow_factor)   (admins)
    /知识库 导出                 the accepted entries as XLSX and CSV

The chat never clusters: ``/知识库`` lists the suggestions stored by the last refresh (the FAQ refresh job in
``bot.jobs.faq``, every ``[faq] refresh_minutes`` on the leader, at start-up, in ``csbot demo`` and ``csbot faq``)
and says when they were computed (截至 …). When nothing is stored yet it says so and starts a refresh in the
background (``Services.extra[REFRESH_HOOK]`` from the server, else a worker thread of its own) instead of making
the chat wait. A decision and its audit row are one transaction (:func:`analytics.faq.ledger.decide`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.faq import export, ledger
from analytics.faq.suggest import Params, tidy
from analytics.periods import resolve_window
from analytics.store.audit import AuditEntry
from handlers import knowledge_text
from handlers.base import Attachment, CommandContext, CommandError, CommandSpec, Reply, Services

SPEC = CommandSpec(
    name="知识库",
    aliases=("faq", "kb", "知识库建议"),
    usage="/知识库 [N | 采纳 N [答案] | 忽略 N | 导出]",
    help="顾客反复问的问题 → 知识库/快捷回复建议，答案取自客服的回复；采纳、忽略仅管理员",
    group="知识库",
    takes_period=False,
    slash_only=True,
    examples=("/知识库", "/知识库 3", "/知识库 采纳 3", "/知识库 采纳 3 亲，付款后48小时内发货哦", "/知识库 忽略 5", "/知识库 导出"),
)

ACCEPT_WORDS = ("采纳", "accept")
DISMISS_WORDS = ("忽略", "dismiss")
EXPORT_WORDS = ("导出", "export")
USAGE = "用法：/知识库、/知识库 3、/知识库 采纳 3 [改过的答案]、/知识库 忽略 3、/知识库 导出"
REFUSE = "抱歉，只有管理员可以{verb}知识库建议。"
WEEKLY_MAX_AGE = timedelta(hours=24)
#: ``Services.extra`` key of a no-argument callable that starts a refresh in the background (the server's job).
REFRESH_HOOK = "faq_refresh"
NOT_YET = ("知识库建议还没有算过（建议由后台定时计算，聊天里不现算）。已开始在后台计算，"
           "稍后再发 /知识库 查看；也可以在服务器上运行 csbot faq。")
log = logging.getLogger(__name__)
_running: set[int] = set()  # engines with a refresh started by this module (no server job to hand it to)


@dataclass(frozen=True)
class FaqOptions:
    """``[faq]`` as the handlers use it (``Services.extra["faq"]``, set by the bot from the settings)."""

    days: int = 30
    min_questions: int = 10
    top_n: int = 10
    regrow_factor: float = 2.0
    weekly_push: bool = True
    refresh_minutes: int = 60  # the refresh job's interval (bot.jobs.faq); the list says when it last ran
    quick_similarity: float = 0.4
    quick_max_chars: int = 60
    review_bad_share: float = 0.3

    @classmethod
    def of(cls, services: Services) -> FaqOptions:
        given = services.extra.get("faq") or {}
        return cls(**{f.name: given[f.name] for f in fields(cls) if f.name in given})

    @property
    def params(self) -> Params:
        return Params(min_questions=self.min_questions, quick_similarity=self.quick_similarity,
                      quick_max_chars=self.quick_max_chars, review_bad_share=self.review_bad_share)


def refresh_now(services: Services, now: datetime, opts: FaqOptions, progress: Any = None) -> ledger.Run:
    """Recompute (blocking: run it in a thread) for the last ``[faq] days`` days."""
    window = resolve_window(f"近{opts.days}天", now)
    return ledger.refresh(services.engine, window.start, window.end, window.prev_start, window.prev_end,
                          window.describe(), now, opts.params, progress)


def fresh_run(services: Services, now: datetime, opts: FaqOptions, max_age: timedelta | None = None) -> ledger.Run:
    """The last run when it is younger than ``max_age`` (default ``refresh_minutes``) and of the configured
    window, else a new one (blocking)."""
    run = ledger.last_run(services.engine)
    max_age = timedelta(minutes=opts.refresh_minutes) if max_age is None else max_age
    if run is not None and max_age:
        age = now - datetime.fromisoformat(run.computed_at)
        if timedelta(0) <= age < max_age and run.window.get("label", "").startswith(f"近{opts.days}天"):
            return run
    return refresh_now(services, now, opts)


def request_refresh(services: Services, now: datetime, opts: FaqOptions) -> None:
    """Start a refresh without waiting for it: through the server's job when there is one, else in a thread.

    The thread is not a daemon: ``csbot ask`` prints its answer, then finishes the run before it exits, so the
    next question finds the suggestions stored."""
    hook = services.extra.get(REFRESH_HOOK)
    if callable(hook):
        hook()
        return
    key = id(services.engine)
    if key in _running:
        return
    _running.add(key)

    def work() -> None:
        try:
            refresh_now(services, now, opts)
        except Exception:  # noqa: BLE001 - the next /知识库 asks again; the log has why
            log.exception("faq refresh started by /知识库 failed")
        finally:
            _running.discard(key)

    threading.Thread(target=work, name="faq refresh", daemon=False).start()


async def _list(ctx: CommandContext, opts: FaqOptions) -> Reply:
    def read() -> tuple[ledger.Run | None, list]:
        run = ledger.last_run(ctx.services.engine)
        return run, (ledger.listed(ctx.services.engine, opts.regrow_factor) if run is not None else [])

    run, rows = await asyncio.to_thread(read)
    if run is None:
        request_refresh(ctx.services, ctx.now, opts)
        return Reply(NOT_YET, title="知识库建议")
    computed = datetime.fromisoformat(run.computed_at).astimezone(ctx.services.tz)
    return Reply(knowledge_text.listing(rows, run, opts.top_n, computed, opts.refresh_minutes), title="知识库建议")


def _number(words: list[str]) -> int:
    if not words or not words[0].lstrip("#＃").isdigit():
        raise CommandError("请写上建议编号，例如 /知识库 采纳 3（编号见 /知识库）。")
    return int(words[0].lstrip("#＃"))


async def _show(ctx: CommandContext, opts: FaqOptions, number: int) -> Reply:
    row = await asyncio.to_thread(ledger.get, ctx.services.engine, number)
    if row is None:
        raise CommandError(f"没有编号 {number} 的建议。发送 /知识库 查看当前的建议。")
    text = knowledge_text.detail(row, opts.regrow_factor, ctx.services.tz,
                                 opts.quick_similarity, opts.quick_max_chars)
    return Reply(text, title=f"知识库建议 #{number}")


def _edited(raw: str, number: int) -> str | None:
    """What follows ``采纳 N`` in the typed text, spaces and line breaks kept."""
    m = re.search(rf"(?:{'|'.join(ACCEPT_WORDS)})\s*[#＃]?{number}(?!\d)\s*(.*)$", raw, re.S | re.I)
    return (m.group(1).strip() or None) if m else None


def _audit(ctx: CommandContext) -> AuditEntry:
    return AuditEntry(at=ctx.now.astimezone(UTC), platform=ctx.platform[:16], chat_id=ctx.chat_id[:256],
                      user_id=ctx.user_id[:256], user_name=ctx.user_name[:128], is_private=ctx.is_private,
                      command=ctx.spec.name[:64], text=ctx.raw_text[:500], result="")


async def _decide(ctx: CommandContext, opts: FaqOptions, action: str, words: list[str]) -> Reply:
    if not ctx.is_admin:
        return Reply(REFUSE.format(verb=action), ok=False)
    number = _number(words)
    edited = _edited(ctx.raw_text, number) if action == ledger.ACCEPT else None
    who = ctx.user_name or ctx.user_id
    try:
        row = await asyncio.to_thread(ledger.decide, ctx.services.engine, number, action, user=who,
                                      audit=_audit(ctx), now=ctx.now, regrow_factor=opts.regrow_factor,
                                      edited=edited)
    except ledger.DecisionError as exc:
        raise CommandError(str(exc)) from None
    if action == ledger.ACCEPT:
        answer = row.edited_answer or row.answer
        return Reply(f"已采纳 #{row.id}「{tidy(row.question)}」，加入知识库（{row.kb_id}）。以后同类问题算作已覆盖。\n"
                     f"答案：{answer}\n导出给店小蜜/智齿等导入：/知识库 导出", title="知识库")
    factor = opts.regrow_factor
    return Reply(f"已忽略 #{row.id}「{tidy(row.question)}」（当前 {row.count} 次）。"
                 f"除非它增长到 {factor:g} 倍（{int(-(-factor * row.count // 1))} 次以上），不会再建议。", title="知识库")


def _write_files(services: Services, now: datetime, rows: list[ledger.ExportRow]) -> list[Attachment]:
    folder = services.chart_dir.parent / "exports"
    stem = f"faq-kb-{now:%Y%m%d-%H%M}-{uuid.uuid4().hex[:6]}"
    xlsx = export.write_xlsx(folder / f"{stem}.xlsx", rows)
    csv_path = export.write_csv(folder / f"{stem}.csv", rows)
    return [Attachment(xlsx, "知识库导出 XLSX"), Attachment(csv_path, "知识库导出 CSV")]


async def _export(ctx: CommandContext) -> Reply:
    rows = await asyncio.to_thread(ledger.export_rows, ctx.services.engine)
    if not rows:
        raise CommandError("还没有采纳的知识库条目。先用 /知识库 查看建议，管理员 /知识库 采纳 N 之后再导出。")
    files = await asyncio.to_thread(_write_files, ctx.services, ctx.now, rows)
    lines = [f"已导出 {len(rows)} 条已采纳的知识：列为 问题、相似问题（每行一个）、答案、分类，"
             "按店小蜜/智齿等知识库批量导入的格式（XLSX 与 CSV 各一份）。"]
    publish = ctx.services.extra.get("publish_file")
    if callable(publish):
        links = await asyncio.to_thread(lambda: [(f.title, publish(f.path)) for f in files])
        lines += [f"{title}：{url}" for title, url in links]
        lines.append("（下载链接有时效，过期后请重新导出）")
    elif ctx.platform != "console":
        lines.append("（没有配置 server.public_base_url，发不出下载链接；文件已存在服务器的 exports 目录，"
                     "也可以在服务器上运行 csbot ask \"/知识库 导出\" 取得）")
    return Reply("\n".join(lines), title="知识库导出", files=files)


async def handle(ctx: CommandContext) -> Reply:
    opts = FaqOptions.of(ctx.services)
    words = list(ctx.args)
    if not words:
        return await _list(ctx, opts)
    head = words[0].lower()
    if head.lstrip("#＃").isdigit():
        return await _show(ctx, opts, int(head.lstrip("#＃")))
    if head in ACCEPT_WORDS:
        return await _decide(ctx, opts, ledger.ACCEPT, words[1:])
    if head in DISMISS_WORDS:
        return await _decide(ctx, opts, ledger.DISMISS, words[1:])
    if head in EXPORT_WORDS:
        return await _export(ctx)
    raise CommandError(USAGE)


async def weekly_section(services: Services, now: datetime) -> list[str]:
    """The 周报's 新知识库建议 lines: listed suggestions first seen in the last 7 days (none when ``[faq]
    weekly_push`` is off, or the digest runs without the bot's ``[faq]`` settings)."""
    if "faq" not in services.extra:
        return []
    opts = FaqOptions.of(services)
    if not opts.weekly_push:
        return []

    def work() -> list:
        # A weekly block needs the day's suggestions, not the minute's: /周报 pays for a run at most once a day.
        fresh_run(services, now, opts, max_age=max(WEEKLY_MAX_AGE, timedelta(minutes=opts.refresh_minutes)))
        since = now - timedelta(days=7)
        return [r for r in ledger.listed(services.engine, opts.regrow_factor)
                if r.status == "proposed" and r.first_seen_at is not None and _aware(r.first_seen_at) >= since]

    return knowledge_text.weekly_lines(await asyncio.to_thread(work))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
