"""Import throughput: load the generated files into a throwaway database and time each kind.

    python bench/gen_data.py --conversations 1000000 --out bench/data --seed 1
    python bench/bench_import.py --db sqlite --data bench/data
    python bench/bench_import.py --db postgresql --data bench/data

SQLite goes to a temporary file; PostgreSQL to a throwaway database ``csbot_bench_<random>`` created and
dropped through user postgres at 127.0.0.1 (override with CSBOT_BENCH_PG_URL). The import runs exactly
as ``csbot import`` runs it (``import_file`` with the default batch size, rollup maintenance included).
Prints wall and CPU seconds and rows/s per kind, as a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Engine, text  # noqa: E402

from analytics.ingest import import_file  # noqa: E402
from analytics.store.db import open_database  # noqa: E402

ORDER = ("conversations", "messages", "complaints", "orders", "returns", "reviews")
PG_ADMIN_URL = os.environ.get("CSBOT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TZ = ZoneInfo("Asia/Shanghai")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--data", type=Path, default=Path(__file__).with_name("data"))
    parser.add_argument("--conversations", type=int, default=1_000_000, help="rows to generate if --data is empty")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--kinds", default=",".join(ORDER), help="comma-separated, in import order")
    parser.add_argument("--enrich-messages", action="store_true",
                        help="score customer messages with analytics.text while importing (off: measure storage)")
    parser.add_argument("--reimport", action="store_true", help="import conversations a second time (all updates)")
    parser.add_argument("--no-rollups", action="store_true",
                        help="diagnostic: skip the per-batch rollup maintenance to see the import layer alone")
    args = parser.parse_args()

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    _ensure_data(args.data, args.conversations, args.seed, kinds)
    if args.no_rollups:
        _disable_rollup_hooks()
    print(f"# import benchmark: {args.db}, data {args.data}, batch {args.batch_size}, "
          f"messages enriched: {args.enrich_messages}, rollups: {not args.no_rollups}")
    print("| kind | rows | new | updated | rejected | stored | wall s | CPU s | rows/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total_rows, total_wall = 0, 0.0
    with _database(args.db) as engine:
        runs = [(k, k) for k in kinds] + ([("conversations", "conversations (re-import)")] if args.reimport else [])
        for kind, label in runs:
            enrich = args.enrich_messages if kind == "messages" else True
            wall, cpu = time.perf_counter(), time.process_time()
            result = import_file(engine, kind, args.data / f"{kind}.csv", tz=TZ, batch_size=args.batch_size,
                                 enrich=enrich)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rows = result.accepted + result.updated + result.rejected
            total_rows, total_wall = total_rows + rows, total_wall + wall
            print(f"| {label} | {rows:,} | {result.accepted:,} | {result.updated:,} | {result.rejected:,} "
                  f"| {_stored(engine, kind):,} | {wall:.1f} | {cpu:.1f} | {rows / wall:,.0f} |", flush=True)
    print(f"| **all** | {total_rows:,} | | | | | {total_wall:.1f} | | {total_rows / total_wall:,.0f} |")


def _ensure_data(data: Path, conversations: int, seed: int, kinds: list[str]) -> None:
    if all((data / f"{kind}.csv").exists() for kind in kinds):
        return
    from gen_data import generate  # type: ignore[import-not-found]

    print(f"generating {conversations:,} conversations into {data} …", file=sys.stderr)
    generate(data, conversations, seed=seed, end=datetime(2026, 11, 30) + timedelta(days=1), days=45)


def _disable_rollup_hooks() -> None:
    from analytics.ingest import loader

    class _NoRollups:
        @staticmethod
        def before_batch(*_args: object, **_kw: object) -> None:
            return None

        @staticmethod
        def after_batch(*_args: object, **_kw: object) -> None:
            return None

    loader.rollups = _NoRollups  # type: ignore[assignment]


@contextlib.contextmanager
def _database(kind: str) -> Iterator[Engine]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="csbot_bench_") as folder:
            engine = open_database(f"sqlite:///{folder}/bench.db")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    import psycopg

    name = f"csbot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = None
    try:
        engine = open_database(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
        yield engine
    finally:
        if engine is not None:
            engine.dispose()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stored(engine: Engine, kind: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {kind}")).scalar_one())


if __name__ == "__main__":
    main()
