"""Quality of ``analytics.faq.cluster`` against the TF-IDF average-linkage baseline, same script.

    python bench/faq/eval.py                 # every data set, shipped operating point
    python bench/faq/eval.py --json          # one JSON document
    python bench/faq/eval.py --clusters-only # dev fixture and cluster sets, with the repaired-gold view
    python bench/faq/eval.py --sweep 0.45,0.5,0.55,0.6,0.65,0.7   # thresholds of csbot's clustering

Data: ``../shared/datasets/paraphrase`` (``CSBOT_DATASETS`` overrides the folder; test/dev splits only:
bq_clusters.dev, atec_clusters.test, afqmc_pairs.test, atec_pairs.test) and the hand-written
``tests/fixtures/faq_dev.tsv``.  Without the shared folder only the dev fixture is scored, and the
script says so.  Metrics: bench/faq/evalmetrics.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalmetrics import (  # noqa: E402
    adjusted_rand,
    pair_decisions,
    pair_decisions_from,
    pairwise,
    read_groups,
    read_pairs,
    repaired_gold,
    tfidf_average_linkage,
    tfidf_pair_cosine,
)

from analytics.faq import DEFAULT, cluster  # noqa: E402
from analytics.faq.cluster import similarities  # noqa: E402

DEV = ROOT / "tests" / "fixtures" / "faq_dev.tsv"
CLUSTER_SETS = ("bq_clusters.dev", "atec_clusters.test")
PAIR_SETS = ("afqmc_pairs.test", "atec_pairs.test")


def datasets_dir() -> Path:
    env = os.environ.get("CSBOT_DATASETS")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


_BASELINE: dict[str, list[int]] = {}


def score_groups(name: str, questions: list[str], gold: list[str], threshold: float) -> dict:
    params = replace(DEFAULT, threshold=threshold)
    started = time.perf_counter()
    ours = cluster(questions, params)
    seconds = time.perf_counter() - started
    if name not in _BASELINE:  # the baseline does not depend on csbot's threshold
        _BASELINE[name] = tfidf_average_linkage(questions)
    base = _BASELINE[name]
    row = {"data": name, "questions": len(questions), "groups": len(set(gold)), "threshold": threshold,
           "seconds": round(seconds, 2)}
    for who, labels in (("csbot", ours), ("baseline", base)):
        s = pairwise(gold, labels)
        row[who] = {**{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(s).items()},
                    "ari": round(adjusted_rand(gold, labels), 4),
                    "clusters": len({x for x in labels if x != -1})}
    row["f1_ratio"] = round(row["csbot"]["f1"] / row["baseline"]["f1"], 2) if row["baseline"]["f1"] else None
    # Repaired gold (evalmetrics.repaired_gold): groups sharing an identical question unioned.  An extra,
    # labelled view; the raw figures above stay the score.
    fixed = repaired_gold(questions, gold)
    row["repaired_groups"] = len(set(fixed))
    for who, labels in (("csbot", ours), ("baseline", base)):
        s = pairwise(fixed, labels)
        row[f"{who}_repaired"] = {"precision": round(s.precision, 4), "recall": round(s.recall, 4),
                                  "f1": round(s.f1, 4), "ari": round(adjusted_rand(fixed, labels), 4)}
    rb = row["baseline_repaired"]["f1"]
    row["f1_ratio_repaired"] = round(row["csbot_repaired"]["f1"] / rb, 2) if rb else None
    return row


_BASELINE_COS: dict = {}


def score_pairs(name: str, pairs: list[tuple[str, str, int]], threshold: float) -> dict:
    """Each labelled pair is a decision.  ``csbot``: both questions got the same label when all the
    set's questions are clustered together; ``csbot_pair``: the clustering's pair similarity reaches the
    threshold; ``baseline``: the two questions alone would merge under the baseline's average linkage,
    i.e. char 1–3-gram TF-IDF cosine ≥ 1 − 0.7 (IDF fitted on all the set's questions) — average linkage
    over the whole 14k-question set needs a 14k × 14k distance matrix, too much for the shared machine."""
    questions = sorted({q for a, b, _ in pairs for q in (a, b)})
    params = replace(DEFAULT, threshold=threshold)
    ours = dict(zip(questions, cluster(questions, params), strict=True))
    sim = similarities([p[0] for p in pairs], [p[1] for p in pairs], fit_on=questions)
    if name not in _BASELINE_COS:
        _BASELINE_COS[name] = tfidf_pair_cosine(pairs, questions)
    base_cos = _BASELINE_COS[name]
    row = {"data": name, "pairs": len(pairs), "positive": sum(p[2] for p in pairs), "threshold": threshold}
    decisions = {
        "csbot": pair_decisions(pairs, ours),
        "csbot_pair": pair_decisions_from(pairs, sim >= threshold),
        "baseline": pair_decisions_from(pairs, base_cos >= 0.3),
    }
    for who, s in decisions.items():
        row[who] = {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(s).items()}
    row["f1_ratio"] = round(row["csbot"]["f1"] / row["baseline"]["f1"], 2) if row["baseline"]["f1"] else None
    return row


def run(thresholds: list[float], pair_sets: bool = True) -> dict:
    out: dict = {"operating_point": asdict(DEFAULT), "groups": [], "pairs": [], "skipped": None}
    questions, gold = read_groups(DEV)
    for t in thresholds:
        out["groups"].append(score_groups("faq_dev (hand-written)", questions, gold, t))
    folder = datasets_dir() / "paraphrase"
    if not folder.is_dir():
        out["skipped"] = f"{folder} not found: public paraphrase data sets skipped, dev fixture only"
        return out
    for name in CLUSTER_SETS:
        questions, gold = read_groups(folder / f"{name}.csv")
        for t in thresholds:
            out["groups"].append(score_groups(name, questions, gold, t))
            print(f"scored {name} at {t}", file=sys.stderr, flush=True)
    for name in PAIR_SETS if pair_sets else ():
        pairs = read_pairs(folder / f"{name}.csv")
        for t in thresholds:
            out["pairs"].append(score_pairs(name, pairs, t))
    return out


def _print(result: dict) -> None:
    if result["skipped"]:
        print(f"NOTE: {result['skipped']}")
    print("| data | threshold | csbot P / R / F1 / ARI | baseline P / R / F1 / ARI | F1 ratio |")
    print("|---|---|---|---|---|")
    for r in result["groups"]:
        c, b = r["csbot"], r["baseline"]
        print(f"| {r['data']} ({r['questions']} q, {r['groups']} groups) | {r['threshold']} | "
              f"{c['precision']:.3f} / {c['recall']:.3f} / **{c['f1']:.3f}** / {c['ari']:.3f} | "
              f"{b['precision']:.3f} / {b['recall']:.3f} / {b['f1']:.3f} / {b['ari']:.3f} | {r['f1_ratio']} |")
    print()
    print("Repaired gold (groups that share an identical question unioned; an extra view, not the score):")
    print()
    print("| data | threshold | gold groups raw → repaired | csbot P / R / F1 / ARI | baseline P / R / F1 / ARI | F1 ratio |")
    print("|---|---|---|---|---|---|")
    for r in result["groups"]:
        c, b = r["csbot_repaired"], r["baseline_repaired"]
        print(f"| {r['data']} | {r['threshold']} | {r['groups']} → {r['repaired_groups']} | "
              f"{c['precision']:.3f} / {c['recall']:.3f} / **{c['f1']:.3f}** / {c['ari']:.3f} | "
              f"{b['precision']:.3f} / {b['recall']:.3f} / {b['f1']:.3f} / {b['ari']:.3f} | "
              f"{r['f1_ratio_repaired']} |")
    if result["pairs"]:
        print()
        print("| pairs | threshold | csbot clustered P / R / F1 | csbot pair similarity P / R / F1 | "
              "baseline pair P / R / F1 | F1 ratio (clustered) |")
        print("|---|---|---|---|---|---|")
    for r in result["pairs"]:
        c, s, b = r["csbot"], r["csbot_pair"], r["baseline"]
        print(f"| {r['data']} ({r['pairs']} pairs, {r['positive']} same) | {r['threshold']} | "
              f"{c['precision']:.3f} / {c['recall']:.3f} / **{c['f1']:.3f}** | "
              f"{s['precision']:.3f} / {s['recall']:.3f} / {s['f1']:.3f} | "
              f"{b['precision']:.3f} / {b['recall']:.3f} / {b['f1']:.3f} | {r['f1_ratio']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sweep", help="comma-separated thresholds instead of the shipped one")
    parser.add_argument("--clusters-only", action="store_true",
                        help="skip the pair sets (the slow part): dev fixture and cluster sets only")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.sweep.split(",")] if args.sweep else [DEFAULT.threshold]
    result = run(thresholds, pair_sets=not args.clusters_only)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        _print(result)


if __name__ == "__main__":
    main()
