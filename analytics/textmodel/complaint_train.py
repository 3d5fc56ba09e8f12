"""Train the learned half of the complaint classifier (``complaint_model.npz``).

A multinomial logistic regression over the sentiment model's features, predicting the
seven SPEC categories.  Training rows (train splits only):

- complaints from :mod:`chatgen`, each with the category its template was written for;
- negative reviews from ``online_shopping_10_cats.train`` and ``waimai_10k.train``,
  labelled by the keyword rules where exactly one category matches (distant
  supervision: the model learns the words that co-occur with each reason, so it can
  place complaints that use none of the keywords), capped per category.

Lines equal to one of our held-out dev/test texts are dropped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import chatgen, corpora
from .complaints import CATEGORIES, RULES_FILE, ComplaintClassifier, load_rules
from .features import FEATURE_VERSION
from .model import LinearTextModel
from .tokenize import CsTokenizer, data_text, normalize
from .train import binary_matrix, build_vocab, featurize, file_digest, idf_scale, is_review_dev, scaled

log = logging.getLogger(__name__)


@dataclass
class ComplaintTrainConfig:
    seed: int = 20261125
    # Chosen on the complaint dev sets (bench/text/select_complaints.py): character 1-2-grams
    # with negation-scope bigrams beat jieba words + 1-3-grams (fewer, less specific features).
    char_orders: tuple[int, ...] = (1, 2)
    words: bool = False
    hmm: bool = False
    neg_scope: bool = True
    min_df: int = 2
    c: float = 4.0
    generated_chat: int = 12000
    generated_weight: float = 3.0
    per_category_cap: int = 3000
    max_reviews: int | None = None


def weak_labels(reviews: Sequence[corpora.Example], rules: ComplaintClassifier) -> list[tuple[str, str]]:
    """(text, category) for negative reviews whose keywords point to exactly one category."""
    out = []
    for ex in reviews:
        if ex.label != "neg":
            continue
        hits = rules.rule_hits(ex.text)
        if len(hits) == 1:
            out.append((ex.text, next(iter(hits))))
    return out


def assemble(cfg: ComplaintTrainConfig, reviews: Sequence[corpora.Example]) -> tuple[list[str], list[str], list[float]]:
    rng = np.random.default_rng(cfg.seed)
    held_out = corpora.held_out_texts()
    base, order = load_rules()
    rules = ComplaintClassifier(base, order)
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    lines = chatgen.generate(cfg.generated_chat, seed=cfg.seed + 1)
    for text, cat in chatgen.iter_complaints(lines):
        if normalize(text) not in held_out:
            texts.append(text)
            labels.append(cat)
            weights.append(cfg.generated_weight)
    by_cat: dict[str, list[str]] = {}
    # The dev fraction of the review train files holds our hand-labelled complaint dev set.
    reviews = [ex for ex in reviews if not is_review_dev(ex.text)]
    for text, cat in weak_labels(reviews, rules):
        by_cat.setdefault(cat, []).append(text)
    for cat in sorted(by_cat):
        pool = by_cat[cat]
        if len(pool) > cfg.per_category_cap:
            pool = [pool[i] for i in sorted(rng.choice(len(pool), cfg.per_category_cap, replace=False).tolist())]
        for text in pool:
            texts.append(text)
            labels.append(cat)
            weights.append(1.0)
    return texts, labels, weights


def fit(texts: Sequence[str], labels: Sequence[str], weights: Sequence[float], cfg: ComplaintTrainConfig,
        tokenizer: CsTokenizer | None = None) -> LinearTextModel:
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    tokenizer = tokenizer or CsTokenizer()
    feats = [set(f) for f in featurize(texts, tokenizer, cfg)]  # type: ignore[arg-type]
    vocab = build_vocab(feats, cfg.min_df)
    xb = binary_matrix(feats, {f: i for i, f in enumerate(vocab)})
    scale = idf_scale(xb)
    x = scaled(xb, scale)
    classes = [c for c in CATEGORIES if c in set(labels)]
    y = np.array([classes.index(lab) for lab in labels])
    clf = LogisticRegression(C=cfg.c, max_iter=2000, random_state=cfg.seed)
    clf.fit(x, y, sample_weight=np.asarray(weights))
    coef = clf.coef_.T if len(classes) > 2 else np.hstack([-clf.coef_.T, clf.coef_.T]) / 2
    bias = clf.intercept_ if len(classes) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]]) / 2
    log.info("complaint model: %d rows, %d features, %.1fs", len(texts), len(vocab), time.perf_counter() - started)
    counts = {c: int((y == i).sum()) for i, c in enumerate(classes)}
    meta = {
        "kind": "complaints",
        "outputs": classes,
        "feature_version": FEATURE_VERSION,
        "char_orders": list(cfg.char_orders),
        "words": cfg.words,
        "hmm": cfg.hmm,
        "neg_scope": cfg.neg_scope,
        "norm": "l2",
        "config": {k: v for k, v in cfg.__dict__.items()},
        "rows_per_category": counts,
    }
    return LinearTextModel(vocab, scale, coef, bias, meta)


def train_complaints(cfg: ComplaintTrainConfig) -> LinearTextModel:
    reviews = [ex for name in corpora.REVIEW_TRAIN for ex in corpora.review_split(name, "train")]
    if cfg.max_reviews:
        reviews = reviews[: cfg.max_reviews]
    texts, labels, weights = assemble(cfg, reviews)
    model = fit(texts, labels, weights, cfg)
    sent = corpora.datasets_dir() / "sentiment"
    model.meta["inputs"] = {
        **{f"sentiment/{n}.train.csv": file_digest(sent / f"{n}.train.csv") for n in corpora.REVIEW_TRAIN},
        "complaint_rules.json": hashlib.sha256(data_text(RULES_FILE).encode("utf-8")).hexdigest()[:16],
        "chatgen": f"seed {cfg.seed + 1}, {cfg.generated_chat} lines",
    }
    return model
