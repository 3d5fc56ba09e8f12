"""The cost of one alert evaluation at a year of data (the scale bench's database), as the job runs it.

    python bench/alerts/bench_eval.py --db sqlite:////tmp/scale5m.db [--checks 30] [--end 2026-11-25T15:29+08:00]

Three figures, each over ``--checks`` consecutive minutes before the data's end:

- **check, kept hour counts** — :func:`analytics.alerts.evaluate.check` with the job's ``HourCache``
  (the last 3 whole hours re-read each time), the steady state of ``csbot serve``;
- **check, cold** — a new ``HourCache`` every time: what a check would cost if it read the five weeks
  of hour counts itself (the job reads them before its first check and every 4 h in the background,
  ``AlertJob.warm``, so no check does);
- **evaluation** — the whole job step, :meth:`bot.jobs.alerts.AlertJob.evaluate` (lease, signals for
  every series and the configured rules, alert states, commit), forced, warm cache;

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime, timedelta

from analytics.alerts import DetectorParams
from analytics.alerts.evaluate import HourCache, check
from analytics.store.db import open_database


def _stats(values: list[float]) -> dict:
    values = sorted(values)
    return {"median_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(values[min(len(values) - 1, int(len(values) * 0.95))] * 1000, 1),
            "max_ms": round(values[-1] * 1000, 1), "n": len(values)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--checks", type=int, default=30)
    ap.add_argument("--end", default="2026-11-25T15:29+08:00", help="the last check (the bench clock's data end)")
    args = ap.parse_args()
    engine = open_database(args.db)
    end = datetime.fromisoformat(args.end)
    params = DetectorParams()
    times = [end - timedelta(minutes=args.checks - 1 - i) for i in range(args.checks)]
    out: dict = {"db": engine.url.render_as_string(hide_password=True), "end": end.isoformat()}
    with engine.connect() as conn:
        cache = HourCache()
        check(conn, times[0] - timedelta(minutes=1), params, cache)  # warm-up: what start-up does
        warm = []
        for now in times:
            t = time.perf_counter()
            check(conn, now, params, cache)
            warm.append(time.perf_counter() - t)
        cold = []
        for now in times[-min(10, len(times)):]:
            t = time.perf_counter()
            check(conn, now, params, HourCache())
            cold.append(time.perf_counter() - t)
    out["check_kept_hours"], out["check_cold"] = _stats(warm), _stats(cold)

    from bot.config import Settings
    from bot.jobs.alerts import AlertJob

    settings = Settings(database={"url": args.db})
    job = AlertJob(settings, engine, owner="bench")
    t = time.perf_counter()
    job.warm(times[0] - timedelta(minutes=1))  # start-up (and the background refresh every 4 h)
    out["warm_ms"] = round((time.perf_counter() - t) * 1000, 1)
    job.evaluate(times[0] - timedelta(minutes=1), forced=True)
    steps = []
    for now in times:
        t = time.perf_counter()
        job.evaluate(now, forced=True)
        steps.append(time.perf_counter() - t)
    out["evaluation"] = _stats(steps)
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
