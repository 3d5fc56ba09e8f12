"""Latency of every metric over 今天/本周/本月/今年 with rollups vs the same metric from raw rows.

    python bench/scale/bench_metrics.py --db sqlite:///bench/scale/data/scale.db --json bench/scale/sqlite.json
    python bench/scale/bench_metrics.py --db postgresql+psycopg://postgres@127.0.0.1:5432/csbot_scale

For each metric and period (resolved by ``analytics.periods`` at the bench clock, the generator's end)
and each filter set (none, and one channel / product):

- ``rollup``: ``metrics.compute`` as the bot calls it (rollups on), after one warm-up call;
- ``raw``: the same ``compute`` with rollups off (``rollups.disabled()``): the metric's own SQL over
  the raw rows, with the raw tables' indexes;
- ``scan``: a bare ``SELECT count(*), sum(col) FROM <table> WHERE <time> in window`` over the raw rows
  the metric covers (both tables for the return rate), i.e. the cheapest possible raw answer;
- ``same``: whether the rollup answer equals the raw answer (counts exactly, floats to 1e-9).

p50/p95 are over ``--reps`` timed calls in-process (excluding start-up); raw and scan use ``--raw-reps``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, text  # noqa: E402

from analytics import metrics, rollups  # noqa: E402
from analytics.periods import resolve  # noqa: E402
from analytics.store.db import make_engine  # noqa: E402

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
PERIODS = ["今天", "本周", "本月", "今年"]
# The raw rows each metric reads: (table, time column, a column the scan must read).
SCANS: dict[str, list[tuple[str, str, str]]] = {
    "conversations": [("conversations", "started_at", "rating")],
    "csat": [("conversations", "started_at", "rating")],
    "frt": [("conversations", "started_at", "first_response_seconds")],
    "resolution": [("conversations", "started_at", "rating")],
    "complaints": [("complaints", "created_at", "category")],
    "return_rate": [("returns", "created_at", "reason"), ("orders", "created_at", "amount_fen")],
    "repurchase": [("orders", "created_at", "customer_id")],
    "bad_reviews": [("reviews", "created_at", "rating")],
    "sales": [("orders", "created_at", "amount_fen")],
    "sentiment": [("messages", "sent_at", "sentiment")],
}


def _filters_for(key: str, which: str, engine: Engine) -> dict[str, str] | None:
    allowed = metrics.METRICS[key].filters
    if which == "none":
        return {}
    if which == "channel":
        return {"channel": "淘宝"} if "channel" in allowed else ({"product": _a_product(engine)}
                                                                 if "product" in allowed else None)
    if which == "agent":
        return {"agent": "小王"} if "agent" in allowed else None
    raise SystemExit(f"unknown filter set {which!r}")


_PRODUCT: list[str] = []


def _a_product(engine: Engine) -> str:
    if not _PRODUCT:
        _PRODUCT.extend(metrics.distinct_values(engine, "product")[:1] or ["保温杯 500ml"])
    return _PRODUCT[0]


def _time(fn: Callable[[], Any], reps: int) -> tuple[list[float], Any]:
    result = fn()  # warm-up (page cache, statement cache)
    laps = []
    for _ in range(reps):
        started = time.perf_counter()
        result = fn()
        laps.append((time.perf_counter() - started) * 1000)
    return laps, result


def _pct(laps: list[float], q: float) -> float:
    ordered = sorted(laps)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _same(a: metrics.MetricResult, b: metrics.MetricResult) -> bool:
    return (a.n == b.n and _close(a.value, b.value) and a.top == b.top and a.parts.keys() == b.parts.keys()
            and all(_close(a.parts[k], b.parts[k]) for k in a.parts))


def _scan(engine: Engine, key: str, start: datetime, end: datetime) -> Callable[[], Any]:
    def run() -> list[Any]:
        out = []
        with engine.connect() as conn:
            for table, column, col in SCANS[key]:
                stmt = text(f"SELECT count(*), count({col}) FROM {table} WHERE {column} >= :a AND {column} < :b")
                out.append(tuple(conn.execute(stmt, _bounds(engine, start, end)).one()))
        return out
    return run


def _bounds(engine: Engine, start: datetime, end: datetime) -> dict[str, Any]:
    from datetime import UTC

    a, b = start.astimezone(UTC), end.astimezone(UTC)
    if engine.dialect.name == "sqlite":  # the stored text form of UTCDateTime
        return {"a": a.strftime("%Y-%m-%d %H:%M:%S.%f"), "b": b.strftime("%Y-%m-%d %H:%M:%S.%f")}
    return {"a": a, "b": b}


def bench(engine: Engine, periods: list[str], filter_sets: list[str], reps: int, raw_reps: int,
          keys: list[str]) -> list[dict[str, Any]]:
    rows = []
    for which in filter_sets:
        for key in keys:
            flt = _filters_for(key, which, engine)
            if flt is None:
                continue
            for period in periods:
                start, end = resolve(period, NOW)
                fast, got = _time(lambda: metrics.compute(engine, key, start, end, flt), reps)  # noqa: B023
                with rollups.disabled():
                    slow, want = _time(lambda: metrics.compute(engine, key, start, end, flt), raw_reps)  # noqa: B023
                scan, counted = _time(_scan(engine, key, start, end), raw_reps)
                row = {
                    "metric": key, "period": period, "filters": flt, "n": got.n, "rows": counted[0][0],
                    "rollup_p50": _pct(fast, 0.5), "rollup_p95": _pct(fast, 0.95),
                    "raw_p50": _pct(slow, 0.5), "raw_p95": _pct(slow, 0.95), "scan_p50": _pct(scan, 0.5),
                    "same": _same(got, want),
                }
                row["x_raw"] = row["raw_p50"] / row["rollup_p50"]
                row["x_scan"] = row["scan_p50"] / row["rollup_p50"]
                rows.append(row)
                print(_line(row), flush=True)
    return rows


def _line(row: dict[str, Any]) -> str:
    flt = ",".join(f"{k}={v}" for k, v in row["filters"].items()) or "-"
    return (f"| {row['metric']} | {row['period']} | {flt} | {row['rows']:,} | {row['rollup_p50']:.1f} | "
            f"{row['rollup_p95']:.1f} | {row['raw_p50']:.0f} | {row['scan_p50']:.0f} | {row['x_raw']:.0f}× | "
            f"{row['x_scan']:.0f}× | {'yes' if row['same'] else 'NO'} |")


HEADER = ("| metric | period | filters | raw rows in window | rollup p50 ms | rollup p95 ms | raw p50 ms | "
          "bare scan p50 ms | raw/rollup | scan/rollup | same answer |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")


def summary(rows: list[dict[str, Any]]) -> str:
    lines = []
    for period in dict.fromkeys(r["period"] for r in rows):
        sel = [r for r in rows if r["period"] == period]
        worst = max(sel, key=lambda r: r["rollup_p95"])
        lines.append(f"{period}: rollup p95 max {worst['rollup_p95']:.1f} ms ({worst['metric']}); "
                     f"median scan/rollup {statistics.median(r['x_scan'] for r in sel):.0f}×; "
                     f"median raw/rollup {statistics.median(r['x_raw'] for r in sel):.0f}×; "
                     f"all equal: {all(r['same'] for r in sel)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--periods", default=",".join(PERIODS))
    parser.add_argument("--filters", default="none,channel", help="filter sets: none, channel, agent")
    parser.add_argument("--metrics", default=",".join(metrics.METRICS))
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--raw-reps", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    engine = make_engine(args.db)
    with engine.connect() as conn:
        missing = [k for k in rollups.KINDS if not rollups.is_ready(conn, k)]
    if missing:
        raise SystemExit(f"rollups not built for {missing}: run gen_scale.py without --no-rollups")
    print(f"{args.db} at {NOW.isoformat()}\n")
    print(HEADER)
    rows = bench(engine, args.periods.split(","), args.filters.split(","), args.reps, args.raw_reps,
                 args.metrics.split(","))
    print()
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps({"db": engine.dialect.name, "now": NOW.isoformat(), "rows": rows},
                                        ensure_ascii=False, indent=1))
    engine.dispose()


if __name__ == "__main__":
    main()
