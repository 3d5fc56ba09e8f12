"""Train the shipped sentiment model (``csbot train-sentiment``).

Needs scikit-learn (``pip install csbot[train]``) and the shared datasets; the runtime
never imports this module.  Training is deterministic for a given seed and inputs:
features are built by :mod:`analytics.textmodel.features`, the vocabulary is sorted,
samples are drawn with a seeded generator and liblinear is seeded.

Data (train splits only, never a ``.test`` file):
- polarity head: ``online_shopping_10_cats.train`` + ``waimai_10k.train`` (pos/neg) plus
  the pos/neg lines of our chat set, up-weighted because chat is the target domain;
- neutral head: neutral chat lines and a sample of real customer questions from
  ``atec_pairs.train`` (label 1) against the chat pos/neg lines and a sample of the
  reviews (label 0).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

from . import chatgen, corpora
from .features import FEATURE_VERSION, text_features
from .model import LinearTextModel
from .tokenize import CsTokenizer, normalize

log = logging.getLogger(__name__)

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "sentiment_model.npz"  # in the package


@dataclass
class TrainConfig:
    seed: int = 20261125
    char_orders: tuple[int, ...] = (1, 2, 3)
    # Chosen on the dev sets (bench/text/select_sentiment.py, docs/text.md): character 1-3-grams
    # plus negation-scope bigrams match word features in accuracy at ~5x the speed.
    words: bool = False
    hmm: bool = False
    neg_scope: bool = True
    min_df: int = 2
    c_polarity: float = 8.0
    c_neutral: float = 4.0
    chat_weight: float = 5.0
    generated_chat: int = 4000
    generated_weight: float = 2.0
    atec_sample: int = 4000
    review_sample_for_neutral: int = 6000
    neutral_threshold: float = 0.3  # middle of the dev-set plateau 0.25-0.40
    prune_below: float = 0.0  # > 0 drops near-zero features and refits (smaller file)
    scale_polarity: str = "idf"  # "idf" or "nb" (NB-SVM log-count ratio)
    scale_neutral: str = "idf"
    norm: str = "l2"  # "l2" or "none"
    max_reviews: int | None = None  # cap per review file (tests train a tiny model)
    holdout_dev: bool = False  # leave the 10% review dev split out (model selection runs)
    chat_files: list[Path] = field(default_factory=lambda: [corpora.CHAT_DATA_DIR / "chat_sentiment_train.tsv"])


@dataclass
class Corpus:
    texts: list[str]
    polarity: list[int | None]  # 1 pos, 0 neg, None = not used by the polarity head
    neutral: list[int | None]  # 1 neutral, 0 opinionated, None = not used by the neutral head
    weight: list[float]
    sources: dict[str, int] = field(default_factory=dict)

    def add(self, text: str, pol: int | None, neu: int | None, weight: float, source: str) -> None:
        self.texts.append(text)
        self.polarity.append(pol)
        self.neutral.append(neu)
        self.weight.append(weight)
        self.sources[source] = self.sources.get(source, 0) + 1


def _sample(items: Sequence, n: int, rng: np.random.Generator) -> list:
    if n >= len(items):
        return list(items)
    picks = rng.choice(len(items), size=n, replace=False)
    return [items[i] for i in sorted(picks.tolist())]


def is_review_dev(text: str) -> bool:
    """The fixed 10% of the review train files used as a dev split during model selection."""
    return corpora.stable_fraction(text) < 0.1


def assemble(cfg: TrainConfig, reviews: dict[str, list[corpora.Example]], questions: list[str],
             chat: list[corpora.Example]) -> Corpus:
    """The training rows of both heads, with per-row weights."""
    rng = np.random.default_rng(cfg.seed)
    corpus = Corpus([], [], [], [])
    pooled = []
    for name, rows in reviews.items():
        if cfg.holdout_dev:
            rows = [ex for ex in rows if not is_review_dev(ex.text)]
        rows = _sample(rows, cfg.max_reviews, rng) if cfg.max_reviews else rows
        for ex in rows:
            corpus.add(ex.text, int(ex.label == "pos"), None, 1.0, name)
        pooled.extend(range(len(corpus.texts) - len(rows), len(corpus.texts)))
    for i in _sample(pooled, cfg.review_sample_for_neutral, rng):
        corpus.neutral[i] = 0
    for q in _sample(questions, cfg.atec_sample, rng):
        corpus.add(q, None, 1, 1.0, "atec_pairs.train")
    held_out = corpora.held_out_texts()
    for ex in chat:
        if normalize(ex.text) in held_out:
            continue
        pol = {"pos": 1, "neg": 0}.get(ex.label)
        corpus.add(ex.text, pol, int(ex.label == "neu"), cfg.chat_weight, ex.source)
    for line in chatgen.generate(cfg.generated_chat, seed=cfg.seed):
        if normalize(line.text) in held_out:
            corpus.sources["chatgen_dropped_as_held_out"] = corpus.sources.get("chatgen_dropped_as_held_out", 0) + 1
            continue
        pol = {"pos": 1, "neg": 0}.get(line.label)
        corpus.add(line.text, pol, int(line.label == "neu"), cfg.generated_weight, "chatgen")
    return corpus


def featurize(texts: Sequence[str], tokenizer: CsTokenizer, cfg: TrainConfig) -> list[set[str]]:
    return [set(text_features(t, tokenizer, cfg.char_orders, cfg.words, cfg.hmm, cfg.neg_scope)) for t in texts]


def build_vocab(feature_sets: Sequence[set[str]], min_df: int) -> list[str]:
    df: dict[str, int] = {}
    for fs in feature_sets:
        for f in fs:
            df[f] = df.get(f, 0) + 1
    return sorted(f for f, n in df.items() if n >= min_df and "\n" not in f)


def binary_matrix(feature_sets: Sequence[set[str]], index: dict[str, int]) -> sparse.csr_matrix:
    indptr, indices = [0], []
    for fs in feature_sets:
        indices.extend(sorted(index[f] for f in fs if f in index))
        indptr.append(len(indices))
    data = np.ones(len(indices))
    return sparse.csr_matrix((data, np.asarray(indices, dtype=np.int64), indptr),
                             shape=(len(feature_sets), len(index)))


def idf_scale(x: sparse.csr_matrix) -> np.ndarray:
    """Smoothed IDF as scikit-learn computes it: ln((1 + n) / (1 + df)) + 1."""
    df = np.asarray((x > 0).sum(axis=0)).ravel()
    return np.log((1.0 + x.shape[0]) / (1.0 + df)) + 1.0


def nb_ratio(x: sparse.csr_matrix, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """NB log-count ratio r = log((p / |p|_1) / (q / |q|_1)) over binary features (Wang & Manning 2012)."""
    p = alpha + np.asarray(x[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[y == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def scaled(x: sparse.csr_matrix, scale: np.ndarray, l2: bool = True) -> sparse.csr_matrix:
    x = sparse.csr_matrix(x @ sparse.diags(scale))
    if l2:
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        x = sparse.csr_matrix(sparse.diags(1.0 / norms) @ x)
    return x


def fit_head(x: sparse.csr_matrix, y: np.ndarray, w: np.ndarray, c: float, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=1000)
    clf.fit(x, y, sample_weight=w)
    return clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])


def _head_rows(labels: list[int | None], corpus: Corpus) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.array([i for i, v in enumerate(labels) if v is not None])
    return rows, np.array([labels[i] for i in rows]), np.array([corpus.weight[i] for i in rows])


def fit_heads(xb: sparse.csr_matrix, corpus: Corpus, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scale, weights, bias), each with one column per head (polarity, neutral)."""
    idf = idf_scale(xb)
    heads = ((corpus.polarity, cfg.c_polarity, cfg.scale_polarity), (corpus.neutral, cfg.c_neutral, cfg.scale_neutral))
    scale = np.zeros((xb.shape[1], 2))
    weights = np.zeros((xb.shape[1], 2))
    bias = np.zeros(2)
    for k, (labels, c, kind) in enumerate(heads):
        rows, y, w = _head_rows(labels, corpus)
        scale[:, k] = idf if kind == "idf" else nb_ratio(xb[rows], y)
        x = scaled(xb[rows], scale[:, k], cfg.norm == "l2")
        weights[:, k], bias[k] = fit_head(x, y, w, c, cfg.seed)
    return scale, weights, bias


def fit_model(corpus: Corpus, cfg: TrainConfig, tokenizer: CsTokenizer | None = None,
              feats: list[set[str]] | None = None) -> LinearTextModel:
    """Featurise (unless ``feats`` is given), fit both heads and return the runtime model."""
    started = time.perf_counter()
    if feats is None:
        feats = featurize(corpus.texts, tokenizer or CsTokenizer(), cfg)
    vocab = build_vocab(feats, cfg.min_df)
    xb = binary_matrix(feats, {f: i for i, f in enumerate(vocab)})
    log.info("featurised %d texts, %d features in %.1fs", len(feats), len(vocab), time.perf_counter() - started)
    scale, weights, bias = fit_heads(xb, corpus, cfg)
    keep = np.abs(weights).max(axis=1) >= cfg.prune_below
    if not keep.all():
        # Refit on the kept features so that the row norms seen in training are exactly
        # the ones the runtime computes from the shipped vocabulary.
        xb = xb[:, keep]
        scale, weights, bias = fit_heads(xb, corpus, cfg)
        vocab = [f for f, k in zip(vocab, keep.tolist(), strict=True) if k]
    meta = {
        "kind": "sentiment",
        "outputs": ["polarity", "neutral"],
        "feature_version": FEATURE_VERSION,
        "char_orders": list(cfg.char_orders),
        "words": cfg.words,
        "hmm": cfg.hmm,
        "neg_scope": cfg.neg_scope,
        "norm": cfg.norm,
        "neutral_threshold": cfg.neutral_threshold,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in cfg.__dict__.items()
                   if k != "chat_files"},
        "sources": corpus.sources,
    }
    return LinearTextModel(vocab, scale, weights, bias, meta, tokenizer=None)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def train_sentiment(cfg: TrainConfig) -> LinearTextModel:
    reviews = {name: corpora.review_split(name, "train") for name in corpora.REVIEW_TRAIN}
    questions = corpora.atec_questions("train")
    chat = [ex for path in cfg.chat_files for ex in corpora.read_labelled_tsv(path)]
    model = fit_model(assemble(cfg, reviews, questions, chat), cfg)
    model.meta["inputs"] = {
        **{f"sentiment/{n}.train.csv": file_digest(corpora.datasets_dir() / "sentiment" / f"{n}.train.csv")
           for n in corpora.REVIEW_TRAIN},
        "paraphrase/atec_pairs.train.csv": file_digest(corpora.datasets_dir() / "paraphrase" / "atec_pairs.train.csv"),
        **{p.name: file_digest(p) for p in cfg.chat_files},
    }
    return model


def write_model(model: LinearTextModel, out: Path, version: str) -> Path:
    """Write the ``.npz`` and a human-readable provenance JSON next to it."""
    model.meta["version"] = version
    model.save(out)
    prov = {k: v for k, v in model.meta.items()}
    prov["n_features"] = len(model.vocab)
    prov["sha256"] = hashlib.sha256(out.read_bytes()).hexdigest()
    prov_path = out.with_suffix(".provenance.json")
    prov_path.write_text(json.dumps(prov, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return prov_path
