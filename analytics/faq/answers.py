"""The candidate answer of a question cluster: the most representative agent reply, and whether it is a 快捷回复.

Replies are compared as char 1–2-gram TF-IDF vectors (IDF over the cluster's own distinct replies, so
the 亲/您好 every reply carries weighs little) by cosine similarity. Identical replies count with their
multiplicity, so the computation is over distinct texts with weights and needs no sampling:

- a reply's **representativeness** is its weighted mean similarity to the *other* replies;
  the candidate is the reply with the highest (ties: the shorter, then the earlier seen);
- the cluster's **consistency** is the weighted mean similarity over all pairs of replies.

A cluster is a 快捷回复 (auto-reply) when agents answer it consistently and briefly — consistency at
least ``quick_similarity`` and the median reply at most ``quick_max_chars`` characters — else a
知识库文章. Pure: texts in, numbers out; the caller masks personal data before calling.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

QUICK_REPLY = "快捷回复"
ARTICLE = "知识库文章"
REVIEW = "答案需复查"
MAX_DISTINCT = 200  # the most frequent distinct replies compared per cluster (the rest are rare variants)


@dataclass(frozen=True)
class AnswerPick:
    answer: str
    replies: int  # replies compared (with multiplicity)
    distinct: int
    representativeness: float  # the candidate's mean similarity to the other replies
    consistency: float  # mean pairwise similarity of all replies
    median_chars: float


def _grams(text: str) -> list[str]:
    chars = [c for c in text if not c.isspace()]
    return chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]


def similarity_matrix(texts: Sequence[str]) -> np.ndarray:
    """Cosine similarities of char 1–2-gram TF-IDF vectors (dense, ``len(texts)`` square)."""
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        for gram, n in Counter(_grams(text)).items():
            rows.append(i)
            cols.append(vocab.setdefault(gram, len(vocab)))
            vals.append(float(n))
    if not vocab:
        return np.eye(len(texts))
    x = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)))
    df = np.bincount(x.indices, minlength=len(vocab))
    idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    x = x @ sparse.diags(idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x = sparse.diags(1.0 / norms) @ x
    sim = (x @ x.T).toarray()
    np.fill_diagonal(sim, 1.0)
    return sim


def pick_answer(replies: Sequence[str]) -> AnswerPick | None:
    """The most representative of ``replies`` (texts as sent, already masked), or None when there are none."""
    counts = Counter(r for r in replies if r and r.strip())
    if not counts:
        return None
    first_seen = {text: i for i, text in reversed(list(enumerate(replies)))}
    distinct = sorted(counts, key=lambda t: (-counts[t], first_seen[t]))[:MAX_DISTINCT]
    w = np.array([counts[t] for t in distinct], dtype=float)
    total = float(w.sum())
    sim = similarity_matrix(distinct)
    if total <= 1:
        return AnswerPick(distinct[0], 1, 1, 1.0, 1.0, float(len(distinct[0])))
    # Σ_j w_j S_ij counts the reply's own copies (S_ii = 1) once too many: subtract itself.
    to_others = (sim @ w - 1.0) / (total - 1.0)
    best = min(range(len(distinct)), key=lambda i: (-round(float(to_others[i]), 9), len(distinct[i]),
                                                     first_seen[distinct[i]]))
    consistency = float((w @ sim @ w - total) / (total * (total - 1.0)))
    lengths = [len(t) for t in distinct for _ in range(int(counts[t]))]
    return AnswerPick(distinct[best], int(total), len(distinct), float(to_others[best]), consistency,
                      float(statistics.median(lengths)))


def kind_of(pick: AnswerPick, quick_similarity: float, quick_max_chars: int) -> str:
    """快捷回复 when agents answer consistently and briefly, else 知识库文章."""
    brief = pick.median_chars <= quick_max_chars
    consistent = pick.consistency >= quick_similarity and not math.isnan(pick.consistency)
    return QUICK_REPLY if brief and consistent and pick.replies >= 2 else ARTICLE
