"""What keeping the rollups current costs an import: the same files imported with and without maintenance.

    python bench/scale/bench_ingest.py --conversations 200000 \\
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Files come from ``bench/gen_data.py`` (seeded, in time order like a CS export) and a shuffled copy of
them (every batch then touches every hour: the hard case for incremental maintenance). Each backend
imports all six kinds into a fresh database twice per order — once as shipped (rollups maintained
batch by batch, timing what is spent inside the two rollup hooks) and once with the hooks replaced by
no-ops — then re-imports the conversations file (every row an update), and checks that the maintained
rollups equal a rebuild. The machine is shared, so wall-clock differences between the two runs are
noisy; the time inside the hooks is the direct measure of the upkeep.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import gen_data  # noqa: E402
from sqlalchemy import select  # noqa: E402

from analytics import rollups  # noqa: E402
from analytics.ingest import import_file  # noqa: E402
from analytics.rollups import SPECS  # noqa: E402
from analytics.store.db import open_database  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
ORDER = ["conversations", "messages", "complaints", "orders", "returns", "reviews"]


def _snapshot(engine) -> dict[str, list[tuple]]:  # noqa: ANN001
    out = {}
    with engine.connect() as conn:
        for kind, spec in SPECS.items():
            table = spec.table
            keys = [table.c.grain, table.c.bucket, *[table.c[d] for d in spec.dims]]
            out[kind] = [tuple(round(v, 6) if isinstance(v, float) else v for v in r)
                         for r in conn.execute(select(table).order_by(*keys))]
    return out


def _timed(fn, spent: list[float]):  # noqa: ANN001, ANN202
    def hook(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        started = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            spent[0] += time.perf_counter() - started
    return hook


def _run(url: str, data: Path, maintain: bool) -> dict[str, float]:
    engine = open_database(url)
    saved = rollups.before_batch, rollups.after_batch
    spent = [0.0]  # seconds inside the two rollup hooks
    if maintain:
        rollups.before_batch, rollups.after_batch = _timed(saved[0], spent), _timed(saved[1], spent)
    else:
        rollups.before_batch = lambda conn, kind, rows: rollups.Pending()  # type: ignore[assignment]
        rollups.after_batch = lambda *args, **kw: None  # type: ignore[assignment]
    times: dict[str, float] = {}
    try:
        for kind in [*ORDER, "re-import conversations"]:
            spent[0] = 0.0
            started = time.perf_counter()
            import_file(engine, kind.split()[-1], data / f"{kind.split()[-1]}.csv", tz=TZ)
            times[kind] = time.perf_counter() - started
            times[f"{kind} hooks"] = spent[0]
        if maintain:
            incremental = _snapshot(engine)
            rollups.rebuild(engine)
            times["equal to rebuild"] = float(incremental == _snapshot(engine))
    finally:
        rollups.before_batch, rollups.after_batch = saved
        engine.dispose()
    return times


def _shuffled(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(7)
    for path in src.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        body = rows[1:]
        rnd.shuffle(body)
        with (dst / path.name).open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([rows[0], *body])


def _pg_url(admin: str) -> tuple[str, str]:
    name = f"csbot_bench_{uuid.uuid4().hex[:8]}"
    import psycopg

    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name, name


def _drop_pg(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--pg", help="admin URL of a PostgreSQL server (a throwaway database is created)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        counts = gen_data.generate(data, args.conversations, seed=1, end=datetime(2026, 12, 1),
                                   days=args.days)
        print("rows:", counts)
        _shuffled(data, Path(tmp) / "shuffled")
        backends = [("sqlite", None)] + ([("postgresql", args.pg)] if args.pg else [])
        print("| backend | file order | kind | import with rollups s | of which rollup upkeep s | share | "
              "import without rollups s |\n|---|---|---|---:|---:|---:|---:|")
        for backend, admin in backends:
            for order, folder in (("time", data), ("shuffled", Path(tmp) / "shuffled")):
                results = {}
                for maintain in (True, False):
                    if admin:
                        url, name = _pg_url(admin)
                    else:
                        url, name = f"sqlite:///{tmp}/{uuid.uuid4().hex}.db", ""
                    try:
                        results[maintain] = _run(url, folder, maintain)
                    finally:
                        if admin:
                            _drop_pg(admin, name)
                _report(backend, order, results)


def _report(backend: str, order: str, results: dict[bool, dict[str, float]]) -> None:
    with_, without = results[True], results[False]
    for kind in [*ORDER, "re-import conversations"]:
        a, hooks = with_[kind], with_[f"{kind} hooks"]
        print(f"| {backend} | {order} | {kind} | {a:.1f} | {hooks:.1f} | {100 * hooks / a:.0f} % | "
              f"{without[kind]:.1f} |")
    total, hooks = sum(with_[k] for k in ORDER), sum(with_[f"{k} hooks"] for k in ORDER)
    print(f"| {backend} | {order} | **all six kinds** | {total:.1f} | {hooks:.1f} | {100 * hooks / total:.0f} % | "
          f"{sum(without[k] for k in ORDER):.1f} |")
    print(f"| {backend} | {order} | rollups equal a rebuild: {bool(with_['equal to rebuild'])} | | | | |", flush=True)


if __name__ == "__main__":
    main()
