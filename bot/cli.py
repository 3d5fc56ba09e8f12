"""``csbot`` command line: demo, chat, ask, import, rebuild, serve, train-sentiment."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot import digest_cli, faq_cli, privacy_cli, qa_cli, staffing_cli, why_cli
from bot.config import ConfigError, Settings, load_settings

log = logging.getLogger("csbot")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="csbot", description="客服数据机器人 csbot")
    p.add_argument("--config", help="config file (TOML); env CSBOT_CONFIG; default ./config.toml if present")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="create the SQLite demo database and open the console chat")
    d.add_argument("--days", type=int, default=90, help="days of demo data ending now (default 90)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default 1.0)")
    d.add_argument("--fresh", action="store_true", help="delete existing data in the database first")
    d.add_argument("--no-chat", action="store_true", help="only generate data; do not open the chat (for scripts/CI)")

    sub.add_parser("chat", help="console chat (REPL)")

    a = sub.add_parser("ask", help='answer one command, e.g. csbot ask "/满意度 本周"')
    a.add_argument("text", nargs="+")

    i = sub.add_parser("import", help="import a CSV/XLSX/JSONL file of one kind")
    i.add_argument("kind", help="conversations|messages|complaints|orders|returns|reviews|kb|roster")
    i.add_argument("path")
    i.add_argument("--mapping", help="column mapping file (TOML or JSON)")
    i.add_argument("--no-enrich", action="store_true",
                   help="skip sentiment/complaint classification, keyword counts and 质检 checks (fast bulk "
                        "loads; csbot rebuild keywords / csbot rebuild qa later)")

    r = sub.add_parser("rebuild", help="recompute derived data (rollups, keyword counts) from the raw rows")
    r.add_argument("what", nargs="?", choices=["rollups", "keywords", "qa", "all"], default="all")

    sv = sub.add_parser("serve", help="run the HTTP server (chat platform callbacks, event API)")
    sv.add_argument("--check-config", action="store_true",
                    help="check the config (targets, schedules, alert rules, font, database driver) and exit")
    al = sub.add_parser("alerts", help="alert tools: backtest (replay stored history through the detectors)")
    al_sub = al.add_subparsers(dest="alerts_cmd", required=True, metavar="ACTION")
    bt = al_sub.add_parser("backtest", help="replay stored history and print the alerts it would have sent")
    bt.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first local day")
    bt.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last local day (included)")
    bt.add_argument("--json", action="store_true", help="one JSON object per alert on stdout, summary on stderr")
    bt.add_argument("--config-overrides", "--set", dest="overrides", action="append", default=[],
                    metavar="KEY=VALUE", help="override an [alerts] key for this run, e.g. min_count=10 (repeatable)")
    t = sub.add_parser("train-sentiment",
                       help="retrain the shipped sentiment and complaint models (needs scikit-learn and ../shared/datasets)")
    t.add_argument("args", nargs=argparse.REMAINDER)
    digest_cli.add_parser(sub)
    why_cli.add_parser(sub)
    staffing_cli.add_parser(sub)
    qa_cli.add_parser(sub)
    faq_cli.add_parser(sub)
    privacy_cli.add_parsers(sub)
    return p


def _open(settings: Settings):  # noqa: ANN202
    from analytics.store.db import open_database

    return open_database(settings.database.url, echo=settings.database.echo)


def _make_bot(settings: Settings):  # noqa: ANN202
    from bot.app import Bot

    return Bot(settings, _open(settings))


def cmd_ask(settings: Settings, text: str) -> int:
    bot = _make_bot(settings)
    reply = asyncio.run(bot.ask(text))
    if reply is None:
        return 1
    print(reply.render_text())
    return 0 if reply.ok else 1


def cmd_import(settings: Settings, kind: str, path: str, mapping: str | None, enrich: bool = True) -> int:
    from analytics.ingest import IngestError, import_file

    engine = _open(settings)
    try:
        result = import_file(engine, kind, path, mapping=mapping, tz=settings.tz, progress=sys.stderr.isatty(),
                             enrich=enrich, mask=settings.privacy.mask_at_rest)
    except IngestError as exc:
        print(f"导入失败: {exc}", file=sys.stderr)
        return 2
    print(f"{kind}: 新增 accepted={result.accepted}  更新 updated={result.updated}  拒绝 rejected={result.rejected}")
    if result.accepted or result.updated:
        _alerts_after_import(settings, engine, kind)
    if kind == "kb":
        print("注意：知识库条目已保存，但目前还没有功能读取它们；即将上线的 /知识库 建议会用它们排除已覆盖的问题。")
    for err in result.errors[:10]:
        print(f"  {err.reason}", file=sys.stderr)
    if result.rejected:
        if result.rejected > 10:
            print(f"  … 共 {result.rejected} 行被拒绝", file=sys.stderr)
        print(f"被拒绝的行及原因已写入: {result.rejected_path}", file=sys.stderr)
    return 1 if result.rejected and not (result.accepted or result.updated) else 0


def _alerts_after_import(settings: Settings, engine, kind: str) -> None:  # noqa: ANN001
    """Check the alerts right after new complaints / conversations / messages land ([alerts] targets set)."""
    from bot.jobs.alerts import check_after_import

    try:
        outcome = check_after_import(settings, engine, kind)
    except Exception as exc:  # noqa: BLE001 - the import itself succeeded; say so and why the check did not run
        print(f"告警检查未完成：{type(exc).__name__}: {_safe(exc)}", file=sys.stderr)
        return
    if outcome and outcome.startswith("sent"):
        print(f"告警：{outcome.split()[1]} 条消息已排队，由 csbot serve 发送", file=sys.stderr)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from analytics.demo import generate_demo
    from analytics.store.db import reset_data

    engine = _open(settings)
    from analytics.metrics import has_any_data

    if args.fresh:
        reset_data(engine)
        from analytics import qa

        qa.clear(engine)  # findings of conversations the new demo does not recreate
    if has_any_data(engine):
        print(f"数据库 {settings.database.url} 已有数据，直接打开（--fresh 重新生成）。")
    else:
        print(f"正在生成 {args.days} 天演示数据到 {settings.database.url} …", flush=True)
        summary = generate_demo(engine, days=args.days, seed=args.seed, tz=settings.tz, scale=args.scale,
                                progress=sys.stderr.isatty(), mask=settings.privacy.mask_at_rest)
        print(f"完成：会话 {summary.conversations:,}，消息 {summary.messages:,}，投诉 {summary.complaints:,}，"
              f"订单 {summary.orders:,}，退货 {summary.returns:,}，评价 {summary.reviews:,}。")
        if summary.spike[1] > summary.spike[0]:
            spike_start, spike_end = (t.astimezone(settings.tz) for t in summary.spike)
            print(f"演示数据里有：{summary.promotion_day:%m-%d} 大促日（会话约 3.5 倍），"
                  f"{spike_start:%m-%d %H:%M}~{spike_end:%H:%M} 羽绒服物流投诉激增。"
                  "试试 /投诉 今天、/客服 本月、/高峰 近30天、/概览。")
            _demo_alerts(settings, engine, spike_start)
        _demo_faq(settings, engine)
    if args.no_chat:
        return 0
    from bot.app import Bot
    from bot.console_repl import run_repl

    return run_repl(Bot(settings, engine))


def _demo_alerts(settings: Settings, engine, spike_start) -> None:  # noqa: ANN001
    """Run the alert checks from an hour before the planted spike to now, as csbot serve would have, so
    /告警 shows the alert it raised (the demo has no push targets: nothing is sent)."""
    from datetime import datetime, timedelta

    from bot.jobs.alerts import catch_up

    if not settings.alerts.enabled:
        return
    try:
        found = catch_up(settings, engine, spike_start - timedelta(hours=1), datetime.now(settings.tz))
    except Exception as exc:  # noqa: BLE001 - the demo data is there; say why the alert replay is not
        print(f"告警回放未完成：{type(exc).__name__}: {_safe(exc)}", file=sys.stderr)
        return
    for row in found:
        print(f"告警 #{row.id}：{row.label}（{'进行中' if row.status == 'firing' else '已恢复'}）。试试 /告警。")


def _demo_faq(settings: Settings, engine) -> None:  # noqa: ANN001
    """Run the FAQ refresh once, as csbot serve does at start-up, so /知识库 in the demo lists suggestions."""
    import time
    from datetime import datetime

    from bot.app import Bot
    from handlers import knowledge

    bot = Bot(settings, engine)
    started = time.perf_counter()
    try:
        run = knowledge.refresh_now(bot.services, datetime.now(settings.tz), knowledge.FaqOptions.of(bot.services))
    except Exception as exc:  # noqa: BLE001 - the demo data is there; say why the suggestions are not
        print(f"知识库建议未算出：{type(exc).__name__}: {_safe(exc)}", file=sys.stderr)
        return
    print(f"知识库建议：{run.qualified} 条（{run.current_questions:,} 次提问，用时 {time.perf_counter() - started:.1f} 秒）。"
          "试试 /知识库。")


def cmd_chat(settings: Settings) -> int:
    from bot.console_repl import run_repl

    return run_repl(_make_bot(settings))


def cmd_rebuild(settings: Settings, what: str) -> int:
    from analytics import keywords, rollups

    engine = _open(settings)
    if what in ("rollups", "all"):
        counts = rollups.rebuild(engine)
        print("汇总表已重建：" + "，".join(f"{k} {v:,} 行" for k, v in counts.items()))
    if what in ("keywords", "all"):
        keywords.rebuild(engine)
        print("热词计数已重建。")
    if what in ("qa", "all"):
        from analytics import qa

        print(f"质检结果已重建：会话 {qa.rebuild(engine):,} 个。")
    return 0


def cmd_serve(settings: Settings) -> int:
    from bot.web import run

    run(settings)
    return 0


def cmd_train(argv: list[str]) -> int:
    from analytics.textmodel.train_all import main as train_main

    return int(train_main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    quiet = logging.INFO if args.cmd == "serve" else logging.WARNING
    logging.basicConfig(level=logging.DEBUG if args.verbose else quiet,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import jieba  # sets its own logger to DEBUG on import; quiet it unless -v

    jieba.setLogLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from bot import logs

    logs.configure(settings.general.log_format)  # text or JSON lines, request ids, secrets redacted
    from analytics import qa

    qa.configure(qa_cli.params(settings.qa))
    if settings.text.complaint_rules or settings.text.user_words:
        from analytics import text

        try:
            text.configure(settings.text.complaint_rules, settings.text.user_words)
        except ValueError as exc:
            print(f"invalid configuration [text]: {exc}", file=sys.stderr)
            return 2
    try:
        if args.cmd == "ask":
            return cmd_ask(settings, " ".join(args.text))
        if args.cmd == "import":
            return cmd_import(settings, args.kind, args.path, args.mapping, enrich=not args.no_enrich)
        if args.cmd == "demo":
            return cmd_demo(settings, args)
        if args.cmd == "chat":
            return cmd_chat(settings)
        if args.cmd == "rebuild":
            return cmd_rebuild(settings, args.what)
        if args.cmd == "serve":
            if args.check_config:
                from bot.check_config import run as check_config

                return check_config(settings)
            return cmd_serve(settings)
        if args.cmd == "alerts":
            from bot.alerting import cmd_backtest

            return cmd_backtest(settings, _open(settings), args.start, args.end, args.json, args.overrides)
        if args.cmd == "digest":
            return digest_cli.run(settings, args, _make_bot)
        if args.cmd == "why":
            return why_cli.run(settings, args, _open, _make_bot)
        if args.cmd == "staffing":
            return staffing_cli.run(settings, args, _open, _make_bot)
        if args.cmd == "qa":
            return qa_cli.run(settings, args, _open, _make_bot)
        if args.cmd == "faq":
            return faq_cli.run(settings, args, _make_bot)
        if args.cmd in ("forget", "retention", "mask-stored", "backup"):
            return privacy_cli.run(settings, args, _open)
        if args.cmd == "train-sentiment":
            return cmd_train(args.args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        log.debug("failed", exc_info=True)
        print(f"csbot {args.cmd} 失败: {type(exc).__name__}: {_safe(exc)}（加 -v 查看详情）", file=sys.stderr)
        return 1
    return 2


def _safe(exc: Exception) -> str:
    from bot.redact import redact

    return redact(str(exc))[:300]


if __name__ == "__main__":
    sys.exit(main())

