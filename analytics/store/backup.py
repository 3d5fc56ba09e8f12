"""A consistent copy of a live SQLite database (``csbot backup PATH``), with the SQLite online backup API.

``sqlite3.Connection.backup`` copies the database page by page while other connections keep reading and
writing; a write in between makes it restart the pages it changed, so the copy is the database as of one
moment (WAL mode: readers and the writer do not block the copy). PostgreSQL is backed up with its own
tool (:func:`pg_dump_command`): a logical dump taken in one snapshot while the bot runs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from analytics.store.db import normalize_url


class BackupError(Exception):
    """A backup that cannot be taken; the message is Chinese, for the command line."""


def pg_dump_command(url: str, path: str) -> str:
    """The ``pg_dump`` line for a PostgreSQL ``url`` (password left to PGPASSWORD / ~/.pgpass)."""
    parsed = make_url(normalize_url(url))
    parts = ["pg_dump", "--format=custom", f"--file={path}"]
    if parsed.host:
        parts.append(f"--host={parsed.host}")
    if parsed.port:
        parts.append(f"--port={parsed.port}")
    if parsed.username:
        parts.append(f"--username={parsed.username}")
    parts.append(parsed.database or "csbot")
    return " ".join(parts)


def backup_sqlite(url: str, path: str | Path, *, pages: int = 1024) -> int:
    """Copy the SQLite database at ``url`` to ``path`` (a new file) while it is in use; returns its size in bytes."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite":
        raise BackupError("csbot backup 只支持 SQLite。PostgreSQL 请用 pg_dump（不停机，一致快照）：\n  "
                          + pg_dump_command(url, str(path)) + "\n恢复：pg_restore --clean --if-exists --dbname=<库名> " + str(path))
    source_path = parsed.database
    if not source_path or source_path == ":memory:":
        raise BackupError("内存数据库无法备份")
    target = Path(path)
    if target.exists():
        raise BackupError(f"{target} 已存在，请换一个文件名（不覆盖已有备份）")
    if not Path(source_path).exists():
        raise BackupError(f"数据库文件不存在: {source_path}")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(str(target))
    try:
        source.backup(copy, pages=pages)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        (check,) = copy.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise BackupError(f"备份文件校验失败: {check}")
    finally:
        copy.close()
        source.close()
    return target.stat().st_size
