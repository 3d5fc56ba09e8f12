"""Model selection for the sentiment model on DEV data only (never the test splits).

Dev data: the fixed 10% of the review train files (``train.is_review_dev``), left out of
training in these runs, and the hand-written ``chat_sentiment_dev.tsv``.  Each variant
is trained on the rest and scored; the winner's settings become ``TrainConfig`` defaults.

    python bench/text/select_sentiment.py [--variants NAME ...]
"""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jieba  # noqa: E402
import numpy as np  # noqa: E402
from evalmetrics import accuracy, macro_f1  # noqa: E402

from analytics.textmodel import corpora, train  # noqa: E402
from analytics.textmodel.features import negated_char_bigrams, text_features  # noqa: E402
from analytics.textmodel.model import sigmoid  # noqa: E402
from analytics.textmodel.sentiment import combine  # noqa: E402
from analytics.textmodel.tokenize import CsTokenizer, normalize  # noqa: E402

CACHE = "/tmp/csbot_select_feats_hmm{}.pkl"


def keep_feature(f: str, words: bool, orders: tuple[int, ...]) -> bool:
    if f.startswith("c:"):
        return len(f) - 2 in orders
    return words


VARIANTS = {
    "words+c123": dict(words=True, char_orders=(1, 2, 3)),
    "c123": dict(words=False, char_orders=(1, 2, 3)),
    "c12": dict(words=False, char_orders=(1, 2)),
    "c1234": dict(words=False, char_orders=(1, 2, 3, 4)),
    "words+c23": dict(words=True, char_orders=(2, 3)),
    "words": dict(words=True, char_orders=()),
    "nohmm+c123": dict(words=True, hmm=False, char_orders=(1, 2, 3)),
    "nohmm+c12": dict(words=True, hmm=False, char_orders=(1, 2)),
    "nbsvm-c123": dict(words=False, char_orders=(1, 2, 3), scale_polarity="nb"),
    "nbsvm-c123-nonorm": dict(words=False, char_orders=(1, 2, 3), scale_polarity="nb", norm="none",
                              c_polarity=0.1, c_neutral=0.1),
    "nbsvm-nohmm+c123": dict(words=True, hmm=False, char_orders=(1, 2, 3), scale_polarity="nb"),
    "nbsvm-nohmm+c12": dict(words=True, hmm=False, char_orders=(1, 2), scale_polarity="nb"),
    "c12-neg": dict(words=False, char_orders=(1, 2), neg_scope=True),
    "c12-neg-C8": dict(words=False, char_orders=(1, 2), neg_scope=True, c_polarity=8.0, c_neutral=4.0),
    "c123-neg": dict(words=False, char_orders=(1, 2, 3), neg_scope=True),
    "c123-neg-C8": dict(words=False, char_orders=(1, 2, 3), neg_scope=True, c_polarity=8.0, c_neutral=4.0),
    "c123-neg-C8-chat10": dict(words=False, char_orders=(1, 2, 3), neg_scope=True, c_polarity=8.0, c_neutral=4.0,
                               chat_weight=10.0, generated_weight=4.0),
    "c12-C8": dict(words=False, char_orders=(1, 2), c_polarity=8.0, c_neutral=4.0),
    "c12-C16": dict(words=False, char_orders=(1, 2), c_polarity=16.0, c_neutral=8.0),
    "c123-C16": dict(words=False, char_orders=(1, 2, 3), c_polarity=16.0, c_neutral=8.0),
    "c1234-C8": dict(words=False, char_orders=(1, 2, 3, 4), c_polarity=8.0, c_neutral=4.0),
    "c123-C8": dict(words=False, char_orders=(1, 2, 3), c_polarity=8.0, c_neutral=4.0),
    "c123-C2": dict(words=False, char_orders=(1, 2, 3), c_polarity=2.0, c_neutral=1.0),
    "c123-chat10": dict(words=False, char_orders=(1, 2, 3), chat_weight=10.0, generated_weight=4.0),
    "c123-chat2": dict(words=False, char_orders=(1, 2, 3), chat_weight=2.0, generated_weight=1.0),
    "c123-nogen": dict(words=False, char_orders=(1, 2, 3), generated_chat=0),
    "words+c123-gen8k": dict(words=True, char_orders=(1, 2, 3), generated_chat=8000),
}


def superset_features(texts: list[str], hmm: bool) -> dict[str, set[str]]:
    path = Path(CACHE.format(int(hmm)))
    cache: dict[str, set[str]] = pickle.loads(path.read_bytes()) if path.exists() else {}
    tok = CsTokenizer()
    missing = [t for t in dict.fromkeys(texts) if t not in cache]
    for t in missing:
        cache[t] = set(text_features(t, tok, (1, 2, 3, 4), True, hmm))
    if missing:
        path.write_bytes(pickle.dumps(cache))
    return cache


def evaluate(name: str, cfg: train.TrainConfig, data: dict, feats_all: dict[str, set[str]]) -> dict:
    corpus = train.assemble(cfg, data["reviews"], data["questions"], data["chat"])
    feats = [{f for f in feats_all[t] if keep_feature(f, cfg.words, cfg.char_orders)} for t in corpus.texts]
    if cfg.neg_scope:
        for fs, t in zip(feats, corpus.texts, strict=True):
            fs.update(negated_char_bigrams(normalize(t)))
    started = time.perf_counter()
    model = train.fit_model(corpus, cfg, feats=feats)
    fit_s = time.perf_counter() - started
    model.tokenizer = CsTokenizer()
    row = {"variant": name, "n_features": len(model.vocab), "fit_s": round(fit_s, 1)}
    for set_name, exs in data["review_dev"].items():
        z = model.logits([e.text for e in exs])
        pred = ["pos" if p >= 0.5 else "neg" for p in sigmoid(z[:, 0])]
        row[set_name] = round(accuracy([e.label for e in exs], pred), 4)
    z = model.logits([e.text for e in data["chat_dev"]])
    gold = [e.label for e in data["chat_dev"]]
    best = (0.0, 0.5)
    curve = {}
    for t in np.arange(0.15, 0.81, 0.05):
        _, labels = combine(sigmoid(z[:, 0]), sigmoid(z[:, 1]), float(t))
        curve[round(float(t), 2)] = round(macro_f1(gold, labels, ("neg", "neu", "pos")), 3)
        best = max(best, (curve[round(float(t), 2)], round(float(t), 2)))
    row["threshold_curve"] = curve
    _, labels = combine(sigmoid(z[:, 0]), sigmoid(z[:, 1]), 0.5)
    row["chat_f1@0.5"] = round(macro_f1(gold, labels, ("neg", "neu", "pos")), 4)
    row["chat_f1_best"], row["best_threshold"] = round(best[0], 4), best[1]
    return row


def nb_baseline_dev(data: dict) -> dict:
    """Multinomial NB over jieba unigrams+bigrams, trained on the train splits minus dev."""
    from bench_sentiment import NBBaseline

    train_rows = [e for rows in data["reviews"].values() for e in rows if not train.is_review_dev(e.text)]
    nb = NBBaseline(train_rows)
    row = {"variant": "nb_baseline"}
    for set_name, exs in data["review_dev"].items():
        row[set_name] = round(accuracy([e.label for e in exs], nb.predict([e.text for e in exs])), 4)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--nb-baseline", action="store_true", help="also score the issue's NB baseline on dev")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    jieba.setLogLevel(logging.WARNING)
    reviews = {n: corpora.review_split(n, "train") for n in corpora.REVIEW_TRAIN}
    data = {
        "reviews": reviews,
        "questions": corpora.atec_questions("train"),
        "chat": corpora.read_labelled_tsv(corpora.CHAT_DATA_DIR / "chat_sentiment_train.tsv"),
        "review_dev": {n: [e for e in rows if train.is_review_dev(e.text)] for n, rows in reviews.items()},
        "chat_dev": corpora.read_labelled_tsv(corpora.CHAT_DATA_DIR / "chat_sentiment_dev.tsv"),
    }
    base = train.TrainConfig(holdout_dev=True)
    if args.nb_baseline:
        print(nb_baseline_dev(data), flush=True)
    for v in args.variants:
        cfg = replace(base, **VARIANTS[v])
        texts = train.assemble(cfg, data["reviews"], data["questions"], data["chat"]).texts
        feats_all = superset_features(texts, cfg.hmm)
        print(evaluate(v, cfg, data, feats_all), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
