"""Time to a finished 日报 / 周报 — numbers, text and the composite chart PNG on disk — at scale.

    python bench/digests/bench_digests.py --db sqlite:////tmp/scale5m.db --json bench/digests/results/sqlite_5m.json
    python bench/digests/bench_digests.py --db postgresql+psycopg://postgres@127.0.0.1:5432/csbot_digest_bench

What is timed is ``handlers.digest.digest_reply`` exactly as /日报, /周报, ``csbot digest`` and the
scheduled job call it (in-process, the database read in a thread, the chart in the chart pool), at the
bench clock 2026-11-25 15:30 Asia/Shanghai (the end of ``bench/scale/gen_scale.py``'s data): the 日报 of
11-24 and the 周报 of 11-16 – 11-22, plain and with ``渠道=淘宝``, the 周报 with the agent league. One
warm-up call, then ``--repeat`` timed calls back to back → p50 / p95; ``chart_ms`` is the part spent
awaiting ``charts.render``; ``cpu_p50_ms`` the process's CPU time per digest (all threads: the database
thread and the chart pool), steadier than wall time on a shared machine. The database is opened with ``make_engine`` (no migration: the bench only
reads). Every digest's eight numbers are checked equal to ``metrics.compute`` for the same window
(what /满意度 昨天 etc. answer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analytics import charts, digests, metrics  # noqa: E402
from analytics.store.db import make_engine  # noqa: E402
from handlers.base import Services  # noqa: E402
from handlers.digest import digest_reply  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)
CASES = [  # (label, kind, day, filters, show_agents)
    ("日报", "日报", date(2026, 11, 24), {}, False),
    ("日报 渠道=淘宝", "日报", date(2026, 11, 24), {"渠道": "淘宝"}, False),
    ("周报 + 客服排行", "周报", date(2026, 11, 18), {}, True),
    ("周报 渠道=淘宝 + 客服排行", "周报", date(2026, 11, 18), {"渠道": "淘宝"}, True),
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class RenderClock:
    """Wraps ``charts.render`` to add up the time spent awaiting chart PNGs."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._render = charts.render

    async def __call__(self, *args: Any, **kwargs: Any) -> Path:
        started = time.perf_counter()
        try:
            return await self._render(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def check(services: Services, kind: str, day: date, filters: dict[str, str]) -> int:
    """The digest's numbers equal metrics.compute over the same window; returns how many were compared."""
    period = digests.daily_period(day, TZ) if kind == "日报" else digests.weekly_period(day, TZ)
    flt = {metrics.FILTER_KEYS[k]: v for k, v in filters.items()}
    d = digests.build(services.engine, period, TZ, filters=flt, sections=digests.SECTIONS)
    for key, row in d.rows.items():
        want = metrics.compute(services.engine, key, period.start, period.end, flt)
        same = want.value == row.current.value or (
            want.value is not None and abs(want.value - row.current.value) <= 1e-9 * max(1.0, abs(want.value)))
        if want.n != row.current.n or not same:
            raise SystemExit(f"{kind} {key}: digest {row.current.value} (n={row.current.n}) != "
                             f"metric {want.value} (n={want.n})")
    return len(d.rows)


async def run_case(services: Services, clock: RenderClock, kind: str, day: date, filters: dict[str, str],
                   show_agents: bool, repeat: int) -> dict[str, Any]:
    async def once() -> tuple[float, float, float, int]:
        clock.seconds = 0.0
        started, cpu = time.perf_counter(), time.process_time()
        reply = await digest_reply(services, kind, now=NOW, day=day, filters=filters, show_agents=show_agents)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        if not reply.charts or not reply.charts[0].path.exists():
            raise SystemExit(f"{kind}: no chart ({reply.text[:80]})")
        return total, clock.seconds, cpu, len(reply.text.encode())

    first, _, _, _ = await once()
    totals, renders, cpus = [], [], []
    for _ in range(repeat):
        total, render, cpu, size = await once()
        totals.append(total * 1000)
        renders.append(render * 1000)
        cpus.append(cpu * 1000)
    return {"first_ms": round(first * 1000, 1), "p50_ms": round(statistics.median(totals), 1),
            "p95_ms": round(_pct(totals, 0.95), 1), "max_ms": round(max(totals), 1),
            "chart_p50_ms": round(statistics.median(renders), 1), "cpu_p50_ms": round(statistics.median(cpus), 1),
            "text_bytes": size}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(args.db)
    out: dict[str, Any] = {"db": engine.dialect.name, "repeat": args.repeat, "python": platform.python_version(),
                           "load_before": os.getloadavg()[0], "rows": {}}
    with engine.connect() as conn:
        out["conversations"] = conn.exec_driver_sql(f"SELECT count(*) FROM {metrics.CONV.name}").scalar_one()
    clock = RenderClock()
    charts.render = clock  # type: ignore[assignment]  # handlers.digest calls charts.render at call time
    with tempfile.TemporaryDirectory() as tmp:
        services = Services(engine=engine, tz=TZ, chart_dir=Path(tmp), min_agent_n=20)
        for label, kind, day, filters, show_agents in CASES:
            compared = check(services, kind, day, filters)
            row = await run_case(services, clock, kind, day, filters, show_agents, args.repeat)
            row["numbers_checked"] = compared
            out["rows"][label] = row
            print(f"{label:<26} p50 {row['p50_ms']:>7.1f} ms  p95 {row['p95_ms']:>7.1f} ms  "
                  f"(chart {row['chart_p50_ms']:.0f} ms, CPU {row['cpu_p50_ms']:.0f} ms, first {row['first_ms']:.0f} ms, "
                  f"{compared} numbers = metrics.compute)", flush=True)
    charts.shutdown()
    out["load_after"] = os.getloadavg()[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="database URL (e.g. the scale bench's 5M database)")
    p.add_argument("--repeat", type=int, default=15, help="timed calls per digest after one warm-up (default 15)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    result = asyncio.run(main_async(args))
    print(f"{result['db']}, {result['conversations']:,} conversations; load average "
          f"{result['load_before']:.1f} before, {result['load_after']:.1f} after")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
