"""Labelled alert scenarios: a shop's weeks written as CSV and imported through ``csbot import``'s code.

    python bench/alerts/gen_scenarios.py --out bench/alerts/data --db sqlite:///bench/alerts/data/alerts.db

What is in it (seeded; ``labels.json`` lists every planted event):

- **Normal weeks** — conversations with a daily curve (nights ~8 % of the afternoon peak) and a weekly one
  (weekends ×1.25), an over-dispersed hourly level (gamma noise, CV ≈ 0.2) on both the traffic and the
  complaint rate (base 5 % of conversations, filed within 20 minutes of the conversation's start), six
  categories, four channels, twelve products.
- **Spikes** — in the scored weeks, three or four a week: ×1.5 to ×10 of the complaint rate at the time,
  15 min to 6 h long, by day and by night; 80 % of the excess in one category (and one product).
- **A promotion day** — conversations ×3 all day, complaint rate unchanged: should page nobody.
- **A slow drift** — the complaint rate rising by 60 % over the last three weeks: not a spike.

The first ``--warmup-weeks`` weeks give the detectors their baseline and are not scored.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 8, 3, tzinfo=TZ)  # a Monday
CATEGORIES = {"物流": 0.35, "质量": 0.25, "服务态度": 0.15, "退款售后": 0.15, "价格优惠": 0.07, "发票": 0.03}
CHANNELS = {"淘宝": 0.5, "京东": 0.25, "抖音": 0.15, "拼多多": 0.10}
PRODUCTS = [f"商品{chr(0x41 + i)}" for i in range(12)]
PRODUCT_P = np.array([1 / (i + 1) for i in range(12)]) / sum(1 / (i + 1) for i in range(12))
AGENTS = [f"客服{i:02d}" for i in range(20)]
# conversations per hour at weekday hour h (local), before noise
HOURLY = np.array([30, 18, 10, 8, 8, 12, 25, 60, 150, 260, 330, 340, 300, 320, 360, 370, 350, 320, 280,
                   300, 340, 320, 220, 90], dtype=float)
BASE_RATE = 0.05
TEXTS = {"物流": "快递太慢了，三天还没发货", "质量": "衣服质量差，开线了", "服务态度": "客服态度很差",
         "退款售后": "退款一直不到账", "价格优惠": "优惠券用不了，价格不对", "发票": "发票一直没开"}


def _spikes(rng: np.random.Generator, first_day: int, days: int, avoid: set[int]) -> list[dict]:
    mults = [1.5, 2, 3, 3, 4, 5, 6, 8, 10]
    durations = [15, 30, 45, 60, 90, 120, 180, 240, 360]
    out: list[dict] = []
    day = first_day
    while day < first_day + days:
        day += int(rng.integers(1, 3))
        if day in avoid or day >= first_day + days:
            continue
        night = bool(rng.random() < 0.35)
        hour = int(rng.integers(0, 7)) if night else int(rng.integers(9, 22))
        start = START + timedelta(days=day, hours=hour, minutes=int(rng.integers(0, 60)))
        minutes = int(rng.choice(durations))
        out.append({"start": start, "end": start + timedelta(minutes=minutes), "mult": float(rng.choice(mults)),
                    "category": str(rng.choice(list(CATEGORIES), p=list(CATEGORIES.values()))),
                    "product": str(rng.choice(PRODUCTS[:6])), "night": night})
    return out


def generate(out: Path, weeks: int, warmup_weeks: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    days = weeks * 7
    scored_first = warmup_weeks * 7
    promo_day = scored_first + 9
    drift_first = days - 21
    spikes = _spikes(rng, scored_first, days - scored_first, {promo_day, promo_day + 1})
    hours = days * 24
    t0 = START
    cats, chans = list(CATEGORIES), list(CHANNELS)
    conv_f = (out / "conversations.csv").open("w", newline="", encoding="utf-8")
    comp_f = (out / "complaints.csv").open("w", newline="", encoding="utf-8")
    cw, pw = csv.writer(conv_f), csv.writer(comp_f)
    cw.writerow(["conversation_id", "started_at", "agent", "channel"])
    pw.writerow(["complaint_id", "created_at", "text", "channel", "category", "product"])
    n_conv = n_comp = 0
    for s in spikes:
        s["excess"] = 0
    for h in range(hours):
        at = t0 + timedelta(hours=h)
        day = h // 24
        level = HOURLY[at.hour] * (1.25 if at.weekday() >= 5 else 1.0) * rng.gamma(25, 1 / 25)
        if day == promo_day:
            level *= 3
        n = int(rng.poisson(level))
        rate = BASE_RATE * rng.gamma(25, 1 / 25)
        if day >= drift_first:
            rate *= 1 + 0.6 * (h - drift_first * 24) / (21 * 24)
        offsets = np.sort(rng.uniform(0, 3600, n))
        channels = rng.choice(chans, n, p=list(CHANNELS.values()))
        for off, channel in zip(offsets, channels, strict=True):
            n_conv += 1
            started = at + timedelta(seconds=float(off))
            cw.writerow([f"C{n_conv:08d}", started.isoformat(), AGENTS[n_conv % len(AGENTS)], channel])
            if rng.random() < rate:
                n_comp += 1
                cat = str(rng.choice(cats, p=list(CATEGORIES.values())))
                made = started + timedelta(seconds=float(rng.uniform(0, 1200)))
                pw.writerow([f"P{n_comp:08d}", made.isoformat(), TEXTS[cat], channel, cat,
                             str(rng.choice(PRODUCTS, p=PRODUCT_P))])
        # planted spikes: extra complaints at (mult − 1) × the hour's expected complaints, spread uniformly
        for s in spikes:
            lo, hi = max(s["start"], at), min(s["end"], at + timedelta(hours=1))
            if lo >= hi:
                continue
            frac = (hi - lo).total_seconds() / 3600
            extra = int(rng.poisson((s["mult"] - 1) * level * rate * frac))
            s["excess"] += extra
            for _ in range(extra):
                n_comp += 1
                focused = rng.random() < 0.8
                cat = s["category"] if focused else str(rng.choice(cats, p=list(CATEGORIES.values())))
                product = s["product"] if focused else str(rng.choice(PRODUCTS, p=PRODUCT_P))
                made = lo + timedelta(seconds=float(rng.uniform(0, (hi - lo).total_seconds())))
                pw.writerow([f"P{n_comp:08d}", made.isoformat(), TEXTS[cat],
                             str(rng.choice(chans, p=list(CHANNELS.values()))), cat, product])
    conv_f.close()
    comp_f.close()
    day0 = START + timedelta(days=scored_first)
    labels = {
        "scored_from": day0.date().isoformat(),
        "scored_to": (START + timedelta(days=days - 1)).date().isoformat(),
        "data_from": START.date().isoformat(),
        "weeks_scored": weeks - warmup_weeks,
        "conversations": n_conv, "complaints": n_comp,
        "promotion": [(START + timedelta(days=promo_day)).isoformat(),
                      (START + timedelta(days=promo_day + 1)).isoformat()],
        "drift": [(START + timedelta(days=drift_first)).isoformat(), (START + timedelta(days=days)).isoformat()],
        "spikes": [{**s, "start": s["start"].isoformat(), "end": s["end"].isoformat()} for s in spikes],
    }
    (out / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1), encoding="utf-8")
    return labels


def load(out: Path, db: str) -> None:
    """Import the CSVs through the normal import path (validation, upsert, rollups)."""
    from analytics.ingest import import_file
    from analytics.store.db import open_database

    engine = open_database(db)
    for kind in ("conversations", "complaints"):
        result = import_file(engine, kind, out / f"{kind}.csv", tz=TZ, enrich=False)
        print(f"{kind}: accepted {result.accepted}, rejected {result.rejected}", file=sys.stderr)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "alerts" / "data")
    p.add_argument("--db", help="import into this database URL (fresh)")
    p.add_argument("--weeks", type=int, default=14)
    p.add_argument("--warmup-weeks", type=int, default=5)
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args()
    labels = generate(args.out, args.weeks, args.warmup_weeks, args.seed)
    print(f"{labels['conversations']:,} conversations, {labels['complaints']:,} complaints, "
          f"{len(labels['spikes'])} spikes", file=sys.stderr)
    if args.db:
        load(args.out, args.db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
