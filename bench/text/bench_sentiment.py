"""Benchmark csbot's text models against stock SnowNLP and a multinomial NB baseline.

Reports, on the test splits of ../shared/datasets (never trained on):
- binary accuracy / macro-F1 on online_shopping_10_cats.test, waimai_10k.test and
  hotel_reviews.test for stock SnowNLP (score >= 0.5 -> positive), csbot (score >= 0.5
  -> positive, i.e. the polarity head) and the NB baseline (jieba unigrams+bigrams,
  MultinomialNB(alpha=1) trained on the two train splits);
- 3-way macro-F1 on our held-out chat set (bench/text/data/chat_sentiment_test.tsv) for
  csbot's labels and for SnowNLP with the best neutral band chosen on that very set
  (an upper bound for SnowNLP);
- messages per second of SnowNLP and csbot on one core (cold caches);
- the complaint classifier's per-class precision/recall (bench_complaints.py).

    python bench/text/bench_sentiment.py [--quick] [--json out.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jieba  # noqa: E402
import numpy as np  # noqa: E402
from evalmetrics import accuracy, macro_f1, per_class  # noqa: E402

from analytics.textmodel import corpora  # noqa: E402
from analytics.textmodel.model import LinearTextModel  # noqa: E402
from analytics.textmodel.sentiment import MODEL_FILE, SentimentModel  # noqa: E402
from analytics.textmodel.tokenize import CsTokenizer  # noqa: E402

CHAT_TEST = corpora.CHAT_DATA_DIR / "chat_sentiment_test.tsv"


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def fresh_csbot() -> SentimentModel:
    """A new model instance with its own tokenizer, so no segmentation is cached."""
    data = Path(__file__).resolve().parents[2] / "analytics" / "data" / MODEL_FILE
    return SentimentModel(LinearTextModel.load(data, tokenizer=CsTokenizer()))


def snownlp_scores(texts: list[str]) -> list[float]:
    from snownlp import SnowNLP

    return [SnowNLP(t).sentiments if t.strip() else 0.5 for t in texts]


class NBBaseline:
    """Multinomial NB over jieba unigrams + bigrams (the issue's baseline)."""

    def __init__(self, train: list[corpora.Example]) -> None:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import MultinomialNB

        self.vec = CountVectorizer(tokenizer=jieba.lcut, lowercase=False, ngram_range=(1, 2),
                                   token_pattern=None)
        x = self.vec.fit_transform([e.text for e in train])
        self.nb = MultinomialNB(alpha=1.0).fit(x, [e.label for e in train])

    def predict(self, texts: list[str]) -> list[str]:
        return list(self.nb.predict(self.vec.transform(texts)))


def binary_labels(scores: list[float]) -> list[str]:
    return ["pos" if s >= 0.5 else "neg" for s in scores]


def snownlp_three_way(scores: list[float], gold: list[str]) -> tuple[list[str], tuple[float, float]]:
    """SnowNLP labels with the neutral band [lo, hi) that maximises macro-F1 on ``gold``."""
    best = (-1.0, (0.5, 0.5))
    grid = np.round(np.arange(0.0, 1.0001, 0.05), 2).tolist()
    for lo in grid:
        for hi in grid:
            if hi < lo:
                continue
            labels = ["neg" if s < lo else ("pos" if s >= hi else "neu") for s in scores]
            f = macro_f1(gold, labels, ("neg", "neu", "pos"))
            if f > best[0]:
                best = (f, (lo, hi))
    lo, hi = best[1]
    return ["neg" if s < lo else ("pos" if s >= hi else "neu") for s in scores], (lo, hi)


def throughput(texts: list[str], repeats: int = 3) -> dict[str, float]:
    """Messages per second on one core for the same texts; best of ``repeats`` alternating runs.

    csbot runs in batches of 512 with a fresh model instance (empty caches) each time;
    SnowNLP scores one text at a time, as its API does.
    """
    snownlp_scores(["预热"])
    csbot_best = snow_best = float("inf")
    for _ in range(repeats):
        model = fresh_csbot()  # new tokenizer: no cached segmentation
        model.scores(["预热"])  # load lazily-initialised resources outside the timed region
        started = time.perf_counter()
        for i in range(0, len(texts), 512):
            model.scores(texts[i : i + 512])
        csbot_best = min(csbot_best, time.perf_counter() - started)
        started = time.perf_counter()
        snownlp_scores(texts)
        snow_best = min(snow_best, time.perf_counter() - started)
    out = {"n_texts": len(texts), "csbot_msgs_per_s": len(texts) / csbot_best,
           "snownlp_msgs_per_s": len(texts) / snow_best}
    out["speedup"] = out["csbot_msgs_per_s"] / out["snownlp_msgs_per_s"]
    out["mean_chars"] = float(np.mean([len(t) for t in texts]))
    return out


def run(quick: bool) -> dict:
    results: dict = {"review_sets": {}, "chat": {}, "speed": {}}
    model = fresh_csbot()
    results["model_version"] = model.version
    train = [e for n in corpora.REVIEW_TRAIN for e in corpora.review_split(n, "train")]
    nb = NBBaseline(train)
    for name in corpora.REVIEW_TEST:
        test = corpora.review_split(name, "test")
        if quick:
            test = [e for e in test if corpora.stable_fraction(e.text) < 0.1]
        gold = [e.label for e in test]
        texts = [e.text for e in test]
        row = {"n": len(test)}
        for system, pred in (
            ("snownlp", binary_labels(snownlp_scores(texts))),
            ("nb_baseline", nb.predict(texts)),
            ("csbot", binary_labels(model.scores(texts))),
        ):
            row[system] = {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred, ("neg", "pos"))}
        results["review_sets"][name] = row
        logging.info("%s: %s", name, json.dumps(row))
    chat = corpora.read_labelled_tsv(CHAT_TEST)
    gold = [e.label for e in chat]
    texts = [e.text for e in chat]
    three = ("neg", "neu", "pos")
    csbot_scores = model.scores(texts)
    csbot_labels = model.labels(texts)
    snow = snownlp_scores(texts)
    snow_labels, band = snownlp_three_way(snow, gold)
    snow_binary = binary_labels(snow)
    polar = [i for i, g in enumerate(gold) if g != "neu"]
    neutral = [i for i, g in enumerate(gold) if g == "neu"]
    results["chat"] = {
        "n": len(chat),
        "support": {c: gold.count(c) for c in three},
        "csbot": {"macro_f1": macro_f1(gold, csbot_labels, three), "accuracy": accuracy(gold, csbot_labels),
                  "per_class": per_class(gold, csbot_labels, three)},
        "snownlp_threshold_0.5": {"macro_f1": macro_f1(gold, snow_binary, three)},
        "snownlp_best_band": {"macro_f1": macro_f1(gold, snow_labels, three),
                              "accuracy": accuracy(gold, snow_labels), "band": band},
        "neutral_scored_below_0.5": {"snownlp": sum(snow[i] < 0.5 for i in neutral) / len(neutral),
                                     "csbot_labelled_neg": sum(csbot_labels[i] == "neg" for i in neutral) / len(neutral)},
        "binary_on_polar_lines": {
            "csbot": accuracy([gold[i] for i in polar], binary_labels([csbot_scores[i] for i in polar])),
            "nb_baseline": accuracy([gold[i] for i in polar], nb.predict([texts[i] for i in polar])),
            "snownlp": accuracy([gold[i] for i in polar], [snow_binary[i] for i in polar]),
        },
        "errors": [(t, g, p) for t, g, p in zip(texts, gold, csbot_labels, strict=True) if g != p],
    }
    # Same texts for both systems: our chat test lines plus food-delivery reviews.
    speed_texts = texts + [e.text for e in corpora.review_split("waimai_10k", "test")]
    results["speed"] = throughput(speed_texts[: 800 if quick else 2000], repeats=1 if quick else 3)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fixed 10%% sample of each review set")
    parser.add_argument("--json", type=Path, help="write the full results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    jieba.setLogLevel(logging.WARNING)
    if not corpora.datasets_available():
        print(f"shared datasets not found at {corpora.datasets_dir()}; set CSBOT_DATASETS")
        return 2
    pin_one_core()
    results = run(args.quick)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(report(results))
    return 0


def report(r: dict) -> str:
    lines = [f"model {r['model_version']}", "",
             "| test set | n | SnowNLP acc / F1 | NB baseline acc / F1 | csbot acc / F1 |", "|---|---|---|---|---|"]
    for name, row in r["review_sets"].items():
        cells = [f"{row[s]['accuracy']:.3f} / {row[s]['macro_f1']:.3f}" for s in ("snownlp", "nb_baseline", "csbot")]
        lines.append(f"| {name}.test | {row['n']} | " + " | ".join(cells) + " |")
    c = r["chat"]
    lines += ["", f"chat 3-way, held-out hand-written set (n={c['n']}, {c['support']}):", "",
              "| system | macro-F1 | notes |", "|---|---|---|",
              f"| csbot | {c['csbot']['macro_f1']:.3f} | accuracy {c['csbot']['accuracy']:.3f} |",
              f"| SnowNLP, score >= 0.5 -> pos else neg | {c['snownlp_threshold_0.5']['macro_f1']:.3f} | "
              f"scores {c['neutral_scored_below_0.5']['snownlp']:.0%} of the neutral lines below 0.5 |",
              f"| SnowNLP, best neutral band {c['snownlp_best_band']['band']} | "
              f"{c['snownlp_best_band']['macro_f1']:.3f} | band tuned on the test set itself: an upper bound |",
              "", "| class | precision | recall | support |", "|---|---|---|---|"]
    for cls, st in c["csbot"]["per_class"].items():
        lines.append(f"| {cls} | {st['precision']:.3f} | {st['recall']:.3f} | {st['support']} |")
    b = c["binary_on_polar_lines"]
    lines += ["", f"binary accuracy on the chat set's pos/neg lines: csbot {b['csbot']:.3f}, "
              f"NB baseline {b['nb_baseline']:.3f}, SnowNLP {b['snownlp']:.3f}"]
    s = r["speed"]
    lines += ["", f"speed (one core, {s['mean_chars']:.0f} chars/msg): csbot {s['csbot_msgs_per_s']:.0f} msg/s, "
              f"SnowNLP {s['snownlp_msgs_per_s']:.0f} msg/s, speed-up {s['speedup']:.1f}x"]
    lines += ["", "chat errors (text | gold | csbot):"] + [f"  {t} | {g} | {p}" for t, g, p in c["errors"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
