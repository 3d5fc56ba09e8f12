"""csbot backup: a copy of a live SQLite database taken while an import writes, opened and compared."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import MetaData, func, select

from analytics import metrics, rollups
from analytics.ingest import ingest_records
from analytics.store.backup import BackupError, backup_sqlite, pg_dump_command
from analytics.store.db import open_database
from bot.cli import main

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)


def _conversations(start: int, n: int) -> list[dict]:
    return [{"conversation_id": f"C{i:06d}", "started_at": T0 + timedelta(minutes=i), "agent": f"客服{i % 7}",
             "channel": "淘宝" if i % 2 else "京东", "rating": 1 + i % 5, "resolved": i % 3 == 0}
            for i in range(start, start + n)]


def _counts(engine) -> dict[str, int]:  # noqa: ANN001
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in meta.sorted_tables}


def _figures(engine) -> dict[str, tuple]:  # noqa: ANN001
    out = {}
    for key in ("csat", "resolution", "conversations"):
        r = metrics.compute(engine, key, T0, T0 + timedelta(days=30))
        out[key] = (r.value, r.n)
    return out


def test_backup_while_writing_then_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = open_database(url)
    ingest_records(engine, "conversations", _conversations(0, 2000), tz=TZ)
    stop = threading.Event()

    def write() -> None:
        start = 2000
        while not stop.is_set() and start < 40_000:
            ingest_records(engine, "conversations", _conversations(start, 500), tz=TZ)
            start += 500

    writer = threading.Thread(target=write)
    writer.start()
    try:
        size = backup_sqlite(url, tmp_path / "during.db", pages=8)  # small steps: writes land in between
    finally:
        stop.set()
        writer.join()
    assert size > 0
    during = open_database(f"sqlite:///{tmp_path / 'during.db'}")
    n = _counts(during)["conversations"]
    assert 2000 <= n <= _counts(engine)["conversations"] and n % 500 == 0  # whole import batches only
    kept = _figures(during)
    rollups.rebuild(during)  # the copy is one moment: its rollups agree with its own rows
    assert _figures(during) == kept

    # Restore = the copy in place of the database file: same rows, same answers.
    monkeypatch.setenv("CSBOT_DATABASE__URL", url)
    assert main(["backup", str(tmp_path / "after.db")]) == 0
    restored = open_database(f"sqlite:///{tmp_path / 'after.db'}")
    assert _counts(restored) == _counts(engine)
    assert _figures(restored) == _figures(engine)
    with pytest.raises(BackupError, match="已存在"):
        backup_sqlite(url, tmp_path / "after.db")


def test_postgresql_is_refused_with_the_pg_dump_line(tmp_path: Path) -> None:
    url = "postgresql://csbot@db.internal:5433/csbot"
    with pytest.raises(BackupError, match="pg_dump") as err:
        backup_sqlite(url, tmp_path / "x.dump")
    assert pg_dump_command(url, str(tmp_path / "x.dump")) in str(err.value)
    assert "--host=db.internal --port=5433 --username=csbot csbot" in pg_dump_command(url, "x.dump")
