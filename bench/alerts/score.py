"""Score the alert detectors on the labelled scenarios of gen_scenarios.py.

    python bench/alerts/score.py --data bench/alerts/data --db sqlite:///bench/alerts/data/alerts.db [--set k=v …]

csbot's detector is run exactly as an operator would: ``csbot alerts backtest --json`` (a subprocess)
over the scored weeks. Two plain rules are replayed on the same data for comparison, both through the
same lifecycle (``analytics.alerts.decide``, same hold and resolve time): a **static threshold**
(complaints in the last 60 minutes ≥ the largest hourly count of the warm-up weeks) and **mean + 3σ**
(the last 60 minutes above the mean + 3 standard deviations of the hourly counts of the 7 days before).

Matching: an alert belongs to a spike when it opens between the spike's start and 30 minutes after its
end; each spike counts once (more alerts on it are "extra"). Other alerts are false — on the promotion
day and in the drift weeks they are counted separately too. Targets of issue 13: recall ≥ 0.95 on spikes
≥ ×3 lasting ≥ 30 min with ≥ 10 excess complaints, median delay ≤ 10 min, ≤ 1 false alert a week, none on
the promotion day, one alert per spike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GRACE = timedelta(minutes=30)


def run_csbot(db: str, start: str, end: str, overrides: list[str]) -> list[dict]:
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False, encoding="utf-8") as cfg:
        cfg.write(f'[general]\ntimezone = "Asia/Shanghai"\n[database]\nurl = "{db}"\n')
    cmd = [sys.executable, "-m", "bot.cli", "--config", cfg.name, "alerts", "backtest", "--from", start,
           "--to", end, "--json", *[a for o in overrides for a in ("--set", o)]]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.unlink(cfg.name)
    print(done.stderr.strip().splitlines()[0] if done.stderr.strip() else "", file=sys.stderr)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def plain_rules(db: str, labels: dict) -> dict[str, list[dict]]:
    """The static threshold and mean + 3σ on overall complaints, replayed minute by minute."""
    from analytics.alerts import Breach, LifecycleParams, SeriesKey, Signal, decide
    from analytics.alerts.data import epoch_minute, from_epoch_minute, read_minutes
    from analytics.store.db import make_engine

    tz = datetime.fromisoformat(labels["promotion"][0]).tzinfo
    data_from = datetime.fromisoformat(labels["data_from"]).replace(tzinfo=tz)
    scored_from = datetime.fromisoformat(labels["scored_from"]).replace(tzinfo=tz)
    scored_to = datetime.fromisoformat(labels["scored_to"]).replace(tzinfo=tz) + timedelta(days=1)
    with make_engine(db).connect() as conn:
        counts = read_minutes(conn, data_from, scored_to, ("complaints",))
    per_minute = counts.row(counts.events, SeriesKey("complaints"))
    cum = np.concatenate(([0.0], np.cumsum(per_minute)))
    hourly = per_minute[: per_minute.size // 60 * 60].reshape(-1, 60).sum(1)
    warm_hours = int((scored_from - data_from).total_seconds() // 3600)
    static = float(hourly[:warm_hours].max())
    params = LifecycleParams()
    out: dict[str, list[dict]] = {"static threshold": [], "mean + 3σ": []}
    first = epoch_minute(scored_from) - counts.first
    last = epoch_minute(scored_to) - counts.first
    for name in out:
        state = None
        for i in range(first, last + 1):
            observed = cum[i] - cum[i - 60]
            if name == "static threshold":
                limit = static
            else:
                h = i // 60
                past = hourly[max(0, h - 168):h]
                limit = float(past.mean() + 3 * past.std())
            now = from_epoch_minute(counts.first + i)
            breach = observed >= limit if name == "static threshold" else observed > limit
            if state is None and not breach:
                continue
            lead = Breach(SeriesKey("complaints"), 60, float(observed), limit, 0.0) if breach else None
            d = decide(state, Signal("complaints", now, bool(breach), lead), now, params)
            if d.action.value == "send_firing":
                out[name].append({"opened_at": now.astimezone(tz).isoformat(), "resolved_at": None,
                                  "series": "投诉", "observed": float(observed), "expected": limit, "score": 0})
            state = d.state
    return out


def score(alerts: list[dict], labels: dict) -> dict:
    spikes = [{**s, "start": datetime.fromisoformat(s["start"]), "end": datetime.fromisoformat(s["end"])}
              for s in labels["spikes"]]
    promo = [datetime.fromisoformat(t) for t in labels["promotion"]]
    drift = [datetime.fromisoformat(t) for t in labels["drift"]]
    hits: dict[int, list[datetime]] = {}
    false, on_promo, on_drift = [], 0, 0
    for a in alerts:
        at = datetime.fromisoformat(a["opened_at"])
        match = next((i for i, s in enumerate(spikes) if s["start"] <= at <= s["end"] + GRACE), None)
        if match is None:
            false.append(a)
            on_promo += promo[0] <= at < promo[1]
            on_drift += drift[0] <= at < drift[1]
        else:
            hits.setdefault(match, []).append(at)

    def target(s: dict) -> bool:
        return s["mult"] >= 3 and (s["end"] - s["start"]) >= timedelta(minutes=30) and s["excess"] >= 10

    targets = [i for i, s in enumerate(spikes) if target(s)]
    found = [i for i in targets if i in hits]
    delays = [(min(hits[i]) - spikes[i]["start"]).total_seconds() / 60 for i in found]
    matched = sum(len(v) for v in hits.values())
    return {
        "alerts": len(alerts),
        "recall_target": len(found) / len(targets) if targets else None,
        "targets": len(targets),
        "recall_all": len(hits) / len(spikes),
        "precision": matched / len(alerts) if alerts else None,
        "median_delay_min": median(delays) if delays else None,
        "false_per_week": len(false) / labels["weeks_scored"],
        "promotion_alerts": on_promo,
        "drift_alerts": on_drift,
        "spikes_with_extra_alerts": sum(1 for v in hits.values() if len(v) > 1),
        "target_spikes_with_extra_alerts": sum(1 for i in found if len(hits[i]) > 1),
        "missed": [f"{spikes[i]['start']:%m-%d %H:%M} ×{spikes[i]['mult']} {int((spikes[i]['end'] - spikes[i]['start']).total_seconds() // 60)}min excess {spikes[i]['excess']}"
                   for i in targets if i not in hits],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=ROOT / "bench" / "alerts" / "data")
    p.add_argument("--db", required=True)
    p.add_argument("--set", dest="overrides", action="append", default=[], help="[alerts] override for csbot")
    p.add_argument("--no-plain", action="store_true", help="skip the static and mean + 3σ rules")
    args = p.parse_args()
    labels = json.loads((args.data / "labels.json").read_text(encoding="utf-8"))
    results = {"csbot": score(run_csbot(args.db, labels["scored_from"], labels["scored_to"], args.overrides), labels)}
    if not args.no_plain:
        for name, alerts in plain_rules(args.db, labels).items():
            results[name] = score(alerts, labels)
    print(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
