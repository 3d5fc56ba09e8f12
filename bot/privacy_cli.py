"""``csbot forget customer=ID [--dry-run]``, ``csbot retention [--dry-run]``, ``csbot mask-stored`` and
``csbot backup PATH`` (docs/privacy.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime

from bot.cli_output import say
from bot.config import Settings

KIND_NAMES = {"conversations": "会话", "messages": "消息", "orders": "订单", "returns": "退货", "reviews": "评价",
              "complaints": "投诉", "audit_log": "审计记录"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    f = sub.add_parser("forget", help="delete one customer's rows and text everywhere: csbot forget customer=U123")
    f.add_argument("who", metavar="customer=ID")
    f.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    r = sub.add_parser("retention", help="run the [retention] sweep now (the server runs it daily)")
    r.add_argument("--dry-run", action="store_true", help="only print the settings and cut-off times")
    sub.add_parser("mask-stored", help="mask personal data in text stored before [privacy] mask_at_rest was on")
    b = sub.add_parser("backup", help="copy the SQLite database while it is in use (PostgreSQL: prints pg_dump)")
    b.add_argument("path")


def counts_text(counts: dict[str, int]) -> str:
    return "，".join(f"{name} {counts[k]:,}" for k, name in KIND_NAMES.items() if counts.get(k)) or "无"


def run(settings: Settings, args: argparse.Namespace, open_db: Callable) -> int:  # type: ignore[type-arg]
    if args.cmd == "backup":
        return _backup(settings, args.path)
    if args.cmd == "retention":
        return _retention(settings, open_db, args.dry_run)
    if args.cmd == "mask-stored":
        from analytics.privacy import mask_stored

        done = mask_stored(open_db(settings), settings.tz)
        say("已遮盖个人信息：" + ("，".join(f"{KIND_NAMES[k]} {n:,} 条" for k, n in done.items()) or "没有需要遮盖的文本"))
        return 0
    return _forget(settings, open_db, args.who, args.dry_run)


def _forget(settings: Settings, open_db: Callable, who: str, dry_run: bool) -> int:  # type: ignore[type-arg]
    from analytics.privacy import forget_customer

    key, _, customer = who.partition("=")
    if key.strip() not in ("customer", "客户") or not customer.strip():
        say("用法: csbot forget customer=U123 [--dry-run]", sys.stderr)
        return 2
    result = forget_customer(open_db(settings), customer.strip(), dry_run=dry_run)
    if dry_run:
        say(f"{result.reference}: 将删除 {counts_text(result.deleted)}（未改动；去掉 --dry-run 执行）")
        return 0
    say(f"{result.reference}: 已删除 {counts_text(result.deleted)}；其他表中抹去 "
        + ("，".join(f"{t} {n} 行" for t, n in result.redacted.items()) or "无"))
    return 0


def _retention(settings: Settings, open_db: Callable, dry_run: bool) -> int:  # type: ignore[type-arg]
    from analytics.privacy import sweep
    from analytics.privacy.retention import cutoff
    from bot.jobs.retention import retention_days

    days = retention_days(settings)
    now = datetime.now(settings.tz)
    active = {k: d for k, d in days.items() if d > 0}
    if not active:
        say("[retention] 未设置保留天数（全部 0 = 永久保留），不删除任何数据。")
        return 0
    for kind, d in active.items():
        say(f"{KIND_NAMES[kind]}: 保留 {d} 天，删除 {cutoff(now, d).astimezone(settings.tz):%Y-%m-%d %H:%M} 之前的",
              file=sys.stderr)
    if dry_run:
        return 0
    say("已删除 " + counts_text(sweep(open_db(settings), days, now)))
    return 0


def _backup(settings: Settings, path: str) -> int:
    from analytics.store.backup import BackupError, backup_sqlite

    try:
        size = backup_sqlite(settings.database.url, path)
    except BackupError as exc:
        say(str(exc), sys.stderr)
        return 2
    say(f"已备份到 {path}（{size / 1_048_576:.1f} MB）。恢复：停止 csbot，把该文件复制为 [database] url 指向的文件"
          "（并删除旁边的 -wal / -shm 文件），再启动。")
    return 0
