"""Backtest the 排班 forecast on the scale bench's year: each of the last N whole weeks forecast from the
data before it, against a same-hour-last-week baseline.

    python bench/scale/gen_scale.py --db sqlite:////tmp/st_scale.db --conversations 300000
    python bench/staffing/backtest.py --db sqlite:////tmp/st_scale.db --weeks 6 [--event 2026-11-11=3] [--no-holidays] [--json]

For every week (Monday 00:00 to Sunday 24:00, local time) ``analytics.staffing.forecast.fit`` sees only the
hours before its Monday (read once from the hour rollups, as ``/排班`` reads them) and forecasts its 168
hours. Reported per week and overall:

- **MAPE by hour** over the hours with at least ``--min-volume`` conversations (small night hours would
  dominate a percentage error with a count of 2 vs 3);
- **MAPE of the daily peak**: each day's highest forecast hour vs its highest actual hour (the number the
  roster is built around);
- **agents**: the hours whose agents needed from the forecast are fewer than from the actual count
  (under-staffed), with the handle time and concurrency measured as ``/排班`` measures them;
- the same for the **baseline**: the same hour one week earlier.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from analytics.staffing import Event, Params, staffing  # noqa: E402
from analytics.staffing.data import history, measure  # noqa: E402
from analytics.staffing.forecast import History, fit  # noqa: E402
from analytics.store.db import make_engine  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)  # the scale bench's clock


def _mape(pairs: list[tuple[float, float]]) -> float | None:
    """Mean |forecast − actual| / actual over (forecast, actual) pairs, in percent."""
    pairs = [(f, a) for f, a in pairs if a > 0]
    return None if not pairs else 100 * sum(abs(f - a) / a for f, a in pairs) / len(pairs)


def _needed(rate: float, m) -> int:  # noqa: ANN001
    return staffing(rate, m.handle_seconds, concurrency=max(1.0, m.concurrency or 1.0)).agents


def oracle(conversations: int, days: int = 365):  # noqa: ANN201
    """The generator's own expected count per local hour (bench/scale/gen_scale.py: N × day share × hour
    share, plus the rows it folds back a week from after the clock): a forecast no model can beat, whose
    MAPE is the Poisson noise floor of the data."""
    sys.path.insert(0, str(ROOT / "bench" / "scale"))
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_scale import Shop

    shop = Shop(1, days, NOW, conversations)
    first = (NOW - timedelta(days=days)).date()

    def rate(day: date, hour: int) -> float:
        i = (day - first).days
        return conversations * shop.day_p[i] * shop.hour_p[hour] if 0 <= i < len(shop.day_p) else 0.0

    def expected(day: date, hour: int) -> float:
        later = datetime.combine(day + timedelta(days=7), datetime.min.time(), tzinfo=TZ) + timedelta(hours=hour)
        folded = min(1.0, max(0.0, (later + timedelta(hours=1) - NOW).total_seconds() / 3600))
        return rate(day, hour) + folded * rate(day + timedelta(days=7), hour)

    return expected


def backtest(engine, weeks: int, params: Params, min_volume: float, truth=None) -> dict:  # noqa: ANN001
    with engine.connect() as conn:
        full = history(conn, NOW, 60, TZ)  # the whole year, one statement
        seen = measure(conn, NOW)
    monday = NOW.date() - timedelta(days=NOW.weekday())  # this week is partial: backtest the weeks before it
    starts = [monday - timedelta(days=7 * k) for k in range(weeks, 0, -1)]
    keys = ["model", "baseline", "model_peak", "baseline_peak"] + (["oracle", "oracle_peak"] if truth else [])
    rows, everything = [], {k: [] for k in keys}
    under = {"model": 0, "baseline": 0}
    off2 = {"model": 0, "baseline": 0}  # off by two agents or more, either way
    hours_total = 0
    for start in starts:
        before = History({k: v for k, v in full.counts.items() if k[0] < start}, full.first_day, (start, 0))
        model = fit(before, params)
        week = {k: [] for k in keys}
        for d in range(7):
            day = start + timedelta(days=d)
            actual = [full.get((day, h)) for h in range(24)]
            forecast = [model.predict(day, h) for h in range(24)]
            baseline = [full.get((day - timedelta(days=7), h)) for h in range(24)]
            for h in range(24):
                hours_total += 1
                need = _needed(actual[h], seen)
                for key, value in (("model", forecast[h]), ("baseline", baseline[h])):
                    got = _needed(value, seen)
                    under[key] += got < need
                    off2[key] += abs(got - need) >= 2
                if actual[h] >= min_volume:
                    week["model"].append((forecast[h], actual[h]))
                    week["baseline"].append((baseline[h], actual[h]))
                    if truth:
                        week["oracle"].append((truth(day, h), actual[h]))
            week["model_peak"].append((max(forecast), max(actual)))
            week["baseline_peak"].append((max(baseline), max(actual)))
            if truth:
                week["oracle_peak"].append((max(truth(day, h) for h in range(24)), max(actual)))
        for key, pairs in week.items():
            everything[key] += pairs
        rows.append({"week": start.isoformat(), "hours_scored": len(week["model"]), "level": round(model.level, 3),
                     **{f"mape_{k}": round(_mape(v) or 0, 1) for k, v in week.items()}})
    return {"weeks": rows, "overall": {f"mape_{k}": round(_mape(v) or 0, 1) for k, v in everything.items()},
            "hours": hours_total, "understaffed_hours": under, "off_by_2_or_more": off2,
            "handle_seconds": round(seen.handle_seconds or 0, 1), "concurrency": round(seen.concurrency or 0, 2),
            "params": {"history_weeks": params.history_weeks, "holidays": params.holidays,
                       "events": [[e.day.isoformat(), e.factor] for e in params.events]},
            "min_volume": min_volume}


def _table(result: dict) -> str:
    lines = ["| week from | hours scored | level | MAPE hour (model) | MAPE hour (last week) | "
             "MAPE daily peak (model) | MAPE daily peak (last week) |", "|---|---|---|---|---|---|---|"]
    for r in result["weeks"]:
        lines.append(f"| {r['week']} | {r['hours_scored']} | {r['level']} | {r['mape_model']} % | {r['mape_baseline']} % | "
                     f"{r['mape_model_peak']} % | {r['mape_baseline_peak']} % |")
    o = result["overall"]
    lines.append(f"| **all** | | | **{o['mape_model']} %** | {o['mape_baseline']} % | **{o['mape_model_peak']} %** | "
                 f"{o['mape_baseline_peak']} % |")
    if "mape_oracle" in o:
        lines.append(f"| noise floor (the generator's own expected counts) | | | {o['mape_oracle']} % | | "
                     f"{o['mape_oracle_peak']} % | |")
    u = result["understaffed_hours"]
    lines.append(f"\nunder-staffed hours (agents from the forecast < agents from the actual count), of {result['hours']}: "
                 f"model {u['model']}, last week {u['baseline']}; off by ≥ 2 agents: model "
                 f"{result['off_by_2_or_more']['model']}, last week {result['off_by_2_or_more']['baseline']} "
                 f"(handle {result['handle_seconds']} s, concurrency {result['concurrency']})")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True)
    p.add_argument("--weeks", type=int, default=6)
    p.add_argument("--history-weeks", type=int, default=8)
    p.add_argument("--event", action="append", default=[], metavar="YYYY-MM-DD=FACTOR")
    p.add_argument("--no-holidays", action="store_true")
    p.add_argument("--min-volume", type=float, default=20)
    p.add_argument("--oracle", type=int, metavar="CONVERSATIONS",
                   help="also score the generator's expected counts (pass gen_scale's --conversations)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    events = tuple(Event(date.fromisoformat(d), float(f)) for d, f in (e.split("=") for e in args.event))
    params = Params(history_weeks=args.history_weeks, holidays=not args.no_holidays, events=events)
    began = time.perf_counter()
    truth = oracle(args.oracle) if args.oracle else None
    result = backtest(make_engine(args.db), args.weeks, params, args.min_volume, truth)
    result["seconds"] = round(time.perf_counter() - began, 2)
    sys.stdout.write((json.dumps(result, ensure_ascii=False) if args.json else _table(result)
                      + f"\n({result['seconds']} s)") + "\n")


if __name__ == "__main__":
    main()
