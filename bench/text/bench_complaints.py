"""Complaint-reason classifier: per-class precision/recall on our labelled sets.

Sets (never trained on):
- ``complaints_test.tsv``: hand-written chat complaints;
- ``complaints_test_refs.tsv``: negative reviews from the datasets' TEST splits that we
  labelled by hand (stored as file + sha256 prefix, joined back to the text here);
- complaints drawn from the demo generator (``analytics.demo.feedback.complaint_text``),
  labelled with the category it drew them for (its 其他 holds 赠品/发错货, which our
  guideline files under 价格优惠/物流);
- ``complaints_dev.tsv`` and ``complaints_dev_refs.tsv`` (reviews from the 10% dev fraction
  of the train splits): the dev sets used to choose how rules and model combine.

Systems: keyword rules alone (no hit -> 其他), the learned model alone, and the shipped
combination (rules first, then the model when it is confident, else 其他).

    python bench/text/bench_complaints.py [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from evalmetrics import accuracy, macro_f1, per_class  # noqa: E402

from analytics.textmodel import corpora  # noqa: E402
from analytics.textmodel.complaints import CATEGORIES, ComplaintClassifier, default_classifier  # noqa: E402
from analytics.textmodel.model import LinearTextModel, softmax  # noqa: E402

DATA = corpora.CHAT_DATA_DIR


def load_refs(path: Path) -> list[corpora.Example]:
    """Join (category, file, sha prefix) rows back to the dataset texts."""
    wanted: dict[tuple[str, str], str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            cat, file, digest = line.split("\t")
            wanted[(file, digest)] = cat
    out = []
    for file in sorted({f for f, _ in wanted}):
        name, split, _ = file.rsplit(".", 2)
        for ex in corpora.review_split(name, split):
            key = (file, hashlib.sha256(ex.text.encode("utf-8")).hexdigest()[:16])
            if key in wanted:
                out.append(corpora.Example(ex.text, wanted.pop(key), file))
    if wanted:
        raise SystemExit(f"{len(wanted)} labelled review(s) not found in the datasets")
    return out


def demo_set(per_category: int = 60, seed: int = 20261125) -> list[corpora.Example]:
    """Distinct complaints from the demo generator (analytics/demo, written independently of
    our training templates), labelled with the category the generator drew them for."""
    import random

    from analytics.demo.feedback import complaint_text
    from analytics.demo.shop import PRODUCTS

    rng = random.Random(seed)
    seen: dict[str, str] = {}
    for cat in CATEGORIES:
        for _ in range(per_category * 5):
            if sum(c == cat for c in seen.values()) >= per_category:
                break
            seen.setdefault(complaint_text(rng, cat, rng.choice(PRODUCTS)), cat)
    return [corpora.Example(t, c, "demo") for t, c in seen.items()]


def systems(clf: ComplaintClassifier) -> dict:
    rules_only = ComplaintClassifier(clf.rules, clf.order, model=None)

    def model_only(texts: list[str]) -> list[str]:
        probs = softmax(clf.model.logits(texts))
        outputs = clf.model.outputs
        return [outputs[int(np.argmax(row))] for row in probs]

    out = {"rules": rules_only.classify, "combined": clf.classify}
    if clf.model is not None:
        out["model"] = model_only
    return out


def evaluate(examples: list[corpora.Example], clf: ComplaintClassifier) -> dict:
    gold = [e.label for e in examples]
    texts = [e.text for e in examples]
    present = [c for c in CATEGORIES if c in set(gold)]  # macro-F1 over the categories the set contains
    res = {"n": len(examples), "macro_over": present}
    for name, fn in systems(clf).items():
        pred = fn(texts)
        res[name] = {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred, present),
                     "per_class": per_class(gold, pred, CATEGORIES)}
        if name == "combined":
            res["errors"] = [(t, g, p) for t, g, p in zip(texts, gold, pred, strict=True) if g != p]
    return res


def report(results: dict) -> str:
    lines = []
    for set_name, r in results.items():
        lines.append(f"\n## {set_name} (n={r['n']}; macro-F1 over {len(r['macro_over'])} categories present)")
        lines.append("| system | accuracy | macro-F1 |")
        lines.append("|---|---|---|")
        for sysname in ("rules", "model", "combined"):
            if sysname in r:
                lines.append(f"| {sysname} | {r[sysname]['accuracy']:.3f} | {r[sysname]['macro_f1']:.3f} |")
        lines.append("\n| category | support | precision | recall |")
        lines.append("|---|---|---|---|")
        for cat, s in r["combined"]["per_class"].items():
            if s["support"] == 0:
                continue
            lines.append(f"| {cat} | {s['support']} | {s['precision']:.3f} | {s['recall']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--errors", action="store_true", help="print the combined system's mistakes on the DEV set")
    parser.add_argument("--model", type=Path, help="evaluate this complaint_model.npz instead of the shipped one")
    args = parser.parse_args(argv)
    clf = default_classifier()
    if args.model:
        clf = ComplaintClassifier(clf.rules, clf.order, LinearTextModel.load(args.model))
    sets = {
        "complaints_dev.tsv": corpora.read_labelled_tsv(DATA / "complaints_dev.tsv"),
        "complaints_test.tsv (chat, hand-written)": corpora.read_labelled_tsv(DATA / "complaints_test.tsv"),
    }
    try:
        sets["demo generator complaints (analytics/demo)"] = demo_set()
    except ImportError:
        print("analytics.demo not available: skipping the demo-generator set")
    if corpora.datasets_available():
        sets["complaints_dev_refs.tsv (dataset reviews, dev)"] = load_refs(DATA / "complaints_dev_refs.tsv")
        sets["complaints_test_refs.tsv (dataset reviews)"] = load_refs(DATA / "complaints_test_refs.tsv")
    else:
        print(f"shared datasets not found at {corpora.datasets_dir()}: skipping the review-based set")
    results = {name: evaluate(exs, clf) for name, exs in sets.items()}
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(report(results))
    if args.errors:
        print("\n# errors on the dev set")
        for t, g, p in results["complaints_dev.tsv"]["errors"]:
            print(f"  {g} -> {p}: {t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
