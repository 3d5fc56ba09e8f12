"""Latency of `/为什么` at scale: the decomposition alone and the whole chat answer (text + waterfall PNG).

    python bench/why/bench_why.py --db sqlite:////tmp/scale5m.db --json bench/why/results/sqlite_5m.json

The data is bench/scale/gen_scale.py's year (5M conversations); the clock is its end, 2026-11-25 15:30
Asia/Shanghai, like bench/scale/bench_metrics.py. Measured in-process after one warm-up call:

- ``explain``: ``analytics.explain.explain(engine, key, window)`` for every metric over 本周 and 本月
  (two windows: the period and its comparison window, read from the rollups);
- ``command``: ``Bot.ask("/为什么 满意度 本月")`` — routing, the decomposition in a thread, the text and
  the waterfall rendered in the chart pool, as a chat user waits for it;
- ``chart``: the waterfall alone (6 steps) rendered to PNG — the scale data has no planted driver, so
  its answers carry no chart; this is what one adds.

Each decomposition is also checked: its parts sum to the change in every dimension (1e-9).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analytics import explain  # noqa: E402
from analytics.periods import resolve_window  # noqa: E402
from analytics.store.db import make_engine  # noqa: E402

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _time(fn, reps: int) -> dict[str, float]:  # noqa: ANN001
    fn()  # warm-up: statement cache, pool, fonts
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return {"p50": round(statistics.median(samples), 1), "p95": round(_pct(samples, 0.95), 1),
            "max": round(max(samples), 1), "reps": reps}


def bench_explain(engine, reps: int, periods: list[str]) -> list[dict]:  # noqa: ANN001
    out = []
    for period in periods:
        window = resolve_window(period, NOW)
        for key, metric in explain.WHY_METRICS.items():
            if metric.form == "none":
                continue
            found = explain.explain(engine, key, window)
            for dim, splits in found.parts.items():
                total = sum(s.mix + s.rate for s in splits)
                assert abs(total - (found.change or 0)) <= 1e-9 * max(1.0, abs(found.change or 0)), (key, dim)
            row = {"metric": key, "period": period, **_time(lambda k=key, w=window: explain.explain(engine, k, w), reps),
                   "change": found.change, "noise": found.noise,
                   "drivers": [f"{p.dimension}={p.value} {p.kind} {p.contribution:+.4g}" for p in found.drivers]}
            out.append(row)
            print(f"explain {key:15s} {period}: p50 {row['p50']:7.1f} ms  p95 {row['p95']:7.1f} ms  "
                  f"drivers {row['drivers'] or ('noise' if found.noise else 'spread')}", file=sys.stderr)
    return out


def bench_command(engine, reps: int, text: str) -> dict:  # noqa: ANN001
    from bot.app import Bot
    from bot.config import Settings

    charts = Path(tempfile.mkdtemp(prefix="why-bench-"))
    bot = Bot(Settings(), engine, clock=lambda: NOW, chart_dir=charts)
    loop = asyncio.new_event_loop()
    reply = loop.run_until_complete(bot.ask(text))
    assert reply is not None and reply.ok, reply
    row = {"command": text, **_time(lambda: loop.run_until_complete(bot.ask(text)), reps),
           "charts": len(reply.charts), "answer": reply.text}
    print(f"command {text}: p50 {row['p50']:.1f} ms  p95 {row['p95']:.1f} ms  ({row['charts']} chart)",
          file=sys.stderr)
    print(reply.render_text(), file=sys.stderr)
    return row


def bench_chart(reps: int) -> dict:
    """The waterfall a driver answer attaches (7 steps), rendered to PNG: what a reply with drivers adds."""
    from analytics import charts

    out = Path(tempfile.mkdtemp(prefix="why-chart-")) / "w.png"
    steps = [("老周·自身", -0.8), ("晓雯·自身", -0.6), ("大刘·自身", -0.3), ("婷婷·自身", -0.3), ("小李·自身", -0.2),
             ("其他", -0.4)]
    row = {"chart": "waterfall, 6 steps", **_time(lambda: charts.waterfall_chart(
        ("10月", 84.2), steps, ("上月", 81.6), title="满意度变化分解（按客服）", unit="%", path=out,
        subtitle="上月 11-01 00:00 ~ 12-01 00:00 对比 10月", higher_is_better=True, step_unit=" 点"), reps)}
    print(f"waterfall PNG: p50 {row['p50']:.1f} ms  p95 {row['p95']:.1f} ms", file=sys.stderr)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--periods", default="本周,本月")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args()
    engine = make_engine(args.db)
    result = {"db": args.db.split("://")[0], "now": NOW.isoformat(),
              "explain": bench_explain(engine, args.reps, args.periods.split(",")),
              "command": [bench_command(engine, args.reps, "/为什么 满意度 本月"),
                          bench_command(engine, args.reps, "/为什么 首响 本月")],
              "chart": bench_chart(args.reps)}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
