"""Clustering figures for bench/faq: pairwise precision / recall / F1, adjusted Rand index, and the
plain char 1–3-gram TF-IDF + average-linkage baseline the issue compares against.

Pairwise metrics count pairs of questions: a predicted pair is two questions with the same label
other than −1; a true pair is two questions in the same gold group.  For a pair data set (q1, q2,
label) every labelled pair is one decision: predicted "same" when both questions got the same label
(≠ −1) in one clustering of all the set's questions.  The adjusted Rand index treats every −1 as a
cluster of its own.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from math import comb
from pathlib import Path


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    f1: float
    predicted_pairs: int
    true_pairs: int


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(gold: Sequence, pred: Sequence[int]) -> PairScores:
    """Pairwise precision, recall and F1 of predicted labels (−1 = alone) against gold groups."""
    both = Counter((g, p) for g, p in zip(gold, pred, strict=True) if p != -1)
    tp = sum(comb(v, 2) for v in both.values())
    predicted = sum(comb(v, 2) for v in Counter(p for p in pred if p != -1).values())
    true = sum(comb(v, 2) for v in Counter(gold).values())
    p = tp / predicted if predicted else 0.0
    r = tp / true if true else 0.0
    return PairScores(p, r, _f1(p, r), predicted, true)


def singletons_apart(pred: Sequence[int]) -> list[int]:
    """Labels with every −1 replaced by a fresh label of its own."""
    top = max(pred, default=-1) + 1
    out = []
    for p in pred:
        if p == -1:
            out.append(top)
            top += 1
        else:
            out.append(p)
    return out


def adjusted_rand(gold: Sequence, pred: Sequence[int]) -> float:
    """Adjusted Rand index (Hubert & Arabie), −1 labels as singletons."""
    pred = singletons_apart(pred)
    n = len(gold)
    if n < 2:
        return 1.0
    index = sum(comb(v, 2) for v in Counter(zip(gold, pred, strict=True)).values())
    a = sum(comb(v, 2) for v in Counter(gold).values())
    b = sum(comb(v, 2) for v in Counter(pred).values())
    expected = a * b / comb(n, 2)
    top = (a + b) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)


def pair_decisions(pairs: Sequence[tuple[str, str, int]], labels_of: dict[str, int]) -> PairScores:
    """Precision / recall / F1 of "same cluster" over labelled pairs (module docs)."""
    tp = fp = fn = 0
    for q1, q2, label in pairs:
        a, b = labels_of[q1], labels_of[q2]
        same = a != -1 and a == b
        tp += same and label == 1
        fp += same and label == 0
        fn += (not same) and label == 1
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return PairScores(p, r, _f1(p, r), tp + fp, tp + fn)


def pair_decisions_from(pairs: Sequence[tuple[str, str, int]], same: Sequence[bool]) -> PairScores:
    """Precision / recall / F1 of per-pair "same" decisions."""
    tp = sum(1 for (_, _, label), s in zip(pairs, same, strict=True) if s and label == 1)
    fp = sum(1 for (_, _, label), s in zip(pairs, same, strict=True) if s and label == 0)
    fn = sum(1 for (_, _, label), s in zip(pairs, same, strict=True) if not s and label == 1)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return PairScores(p, r, _f1(p, r), tp + fp, tp + fn)


def tfidf_pair_cosine(pairs: Sequence[tuple[str, str, int]], questions: Sequence[str]):
    """Char 1–3-gram TF-IDF cosine of each pair, IDF fitted on ``questions`` (the baseline's vectors)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).fit(questions)
    a = vec.transform([p[0] for p in pairs])
    b = vec.transform([p[1] for p in pairs])
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def tfidf_average_linkage(questions: Sequence[str], threshold: float = 0.7) -> list[int]:
    """The baseline: char 1–3-gram TF-IDF, cosine average linkage cut at distance ``threshold``
    (0.7 as in the datasets' README), singleton clusters −1.  Dense: for test-sized sets only."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(questions) < 2:
        return [-1] * len(questions)
    x = TfidfVectorizer(analyzer="char", ngram_range=(1, 3)).fit_transform(questions).toarray()
    empty = ~x.any(axis=1)
    x[empty, 0] = 1.0  # a text with no characters left would make the cosine undefined
    labels = fcluster(linkage(x, "average", metric="cosine"), threshold, "distance")
    sizes = np.bincount(labels)
    return [int(lab) if sizes[lab] > 1 else -1 for lab in labels]


def _plain(text: str) -> str:
    """NFKC, lower case, punctuation, symbols and spaces removed: "the same question" for repaired gold."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def repaired_gold(questions: Sequence[str], gold: Sequence) -> list:
    """Gold groups unioned when they hold the same question (identical after :func:`_plain`).

    The public cluster sets were built by connecting labelled pairs, so one question can sit in several
    groups (``换手机号。`` in one, ``换手机号`` in another); no clustering can put it in both, and every
    clustering that keeps it together is charged false positives.  This view joins such groups
    (union–find over groups sharing a text).  It is a *repaired* gold, reported beside the raw one,
    never instead of it; it uses no model of csbot's (only NFKC and punctuation), so it favours no
    similarity."""
    parent: dict = {g: g for g in gold}

    def find(g):
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    first: dict[str, object] = {}
    for q, g in zip(questions, gold, strict=True):
        key = _plain(q)
        if key in first:
            a, b = find(first[key]), find(g)
            if a != b:
                parent[b] = a
        else:
            first[key] = g
    return [find(g) for g in gold]


def read_groups(path: Path) -> tuple[list[str], list[str]]:
    """(questions, gold group ids) of a cluster file: ``cluster_id,…,question`` CSV or the dev TSV."""
    delimiter = "\t" if path.suffix == ".tsv" else ","
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    key = "group_id" if "group_id" in rows[0] else "cluster_id"
    return [r["question"] for r in rows], [r[key] for r in rows]


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["q1"], r["q2"], int(r["label"])) for r in csv.DictReader(f)]
