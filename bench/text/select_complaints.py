"""Model selection for the complaint classifier on the DEV sets only.

Trains complaint-model variants (the training never sees the dev texts: chat dev lines are
held out and the dev reviews come from the train splits' dev fraction, which the complaint
training skips) and scores rule/model combinations on complaints_dev.tsv +
complaints_dev_refs.tsv.

    python bench/text/select_complaints.py [--variants NAME ...]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jieba  # noqa: E402
from bench_complaints import load_refs  # noqa: E402
from evalmetrics import accuracy, macro_f1  # noqa: E402

from analytics.textmodel import corpora  # noqa: E402
from analytics.textmodel.complaint_train import ComplaintTrainConfig, train_complaints  # noqa: E402
from analytics.textmodel.complaints import CATEGORIES, ComplaintClassifier, load_rules  # noqa: E402

VARIANTS = {
    "words+c123": dict(words=True, hmm=False, char_orders=(1, 2, 3)),
    "c123-neg": dict(words=False, char_orders=(1, 2, 3), neg_scope=True),
    "c123-neg-C8": dict(words=False, char_orders=(1, 2, 3), neg_scope=True, c=8.0),
    "c123-neg-C2": dict(words=False, char_orders=(1, 2, 3), neg_scope=True, c=2.0),
    "c12-neg": dict(words=False, char_orders=(1, 2), neg_scope=True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    args = parser.parse_args(argv)
    jieba.setLogLevel(60)
    dev = corpora.read_labelled_tsv(corpora.CHAT_DATA_DIR / "complaints_dev.tsv")
    dev += load_refs(corpora.CHAT_DATA_DIR / "complaints_dev_refs.tsv")
    gold = [e.label for e in dev]
    texts = [e.text for e in dev]
    base, order = load_rules()
    rules_only = ComplaintClassifier(base, order).classify(texts)
    print({"variant": "rules only", "accuracy": round(accuracy(gold, rules_only), 3),
           "macro_f1": round(macro_f1(gold, rules_only, CATEGORIES), 3)}, flush=True)
    for name in args.variants:
        model = train_complaints(replace(ComplaintTrainConfig(), **VARIANTS[name]))
        row = {"variant": name, "n_features": len(model.vocab)}
        for weight in (0.0, 0.25, 0.5, 1.0, 100.0):
            pred = ComplaintClassifier(base, order, model, rule_weight=weight).classify(texts)
            row[f"w={weight}"] = (round(accuracy(gold, pred), 3), round(macro_f1(gold, pred, CATEGORIES), 3))
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
