"""Paraphrase clustering of customer questions: ``cluster(questions) -> list[int]`` (SPEC hook).

The algorithm, for questions ``q1 … qn``:

1. each question becomes its canonical form (:func:`analytics.faq.similarity.canonical`); identical
   canonical forms are one item (a shop's 200k questions hold far fewer distinct ones), remembered with
   how many questions it stands for;
2. the items become hashed TF-IDF vectors (:class:`analytics.faq.similarity.Featurizer`) and the pairs
   whose cosine reaches ``threshold`` are found by a sparse product, in row blocks (memory stays bounded);
3. the similarity of a pair is the cosine times the intent penalty (problem marker or question type
   disagree, :func:`analytics.faq.similarity.penalty`);
4. **average linkage**, cut at ``threshold``, inside each connected component of the graph of pairs at
   or above ``threshold`` — exactly what average linkage over all items gives, because two groups whose
   average similarity reaches the threshold must have one pair that does.  A component larger than
   ``max_block`` items is first split at a higher threshold (``+0.05`` until it fits);
5. a cluster that stands for fewer than ``min_size`` questions gets −1 ("joins no cluster").  Labels
   are numbered 0, 1, 2 … in the order of each cluster's first question, so the result is deterministic
   and independent of hash seeds or thread timing.

``threshold`` is the shipped operating point, chosen on measurements in ``bench/faq`` (docs/faq.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .similarity import Featurizer, analyse, features_of, pair_penalty, penalty


@dataclass(frozen=True)
class ClusterParams:
    """Knobs of :func:`cluster`; the defaults are the shipped operating point (docs/faq.md)."""

    threshold: float = 0.4
    min_size: int = 2
    max_block: int = 3000
    chunk_rows: int = 2048


DEFAULT = ClusterParams()


@dataclass
class Items:
    """Distinct questions (canonical form and intent markers), their weights, and per input question the
    item it is."""

    canons: list[str]
    problem: np.ndarray
    kind: np.ndarray
    weights: np.ndarray
    of_question: np.ndarray


def dedupe(questions: Sequence[str]) -> Items:
    """Group the questions by canonical form and markers, in order of first occurrence."""
    position: dict[tuple[str, bool, int], int] = {}
    canons: list[str] = []
    problem: list[bool] = []
    kind: list[int] = []
    weights: list[int] = []
    of_question = np.empty(len(questions), dtype=np.int64)
    for i, q in enumerate(questions):
        key = analyse(q)
        j = position.get(key)
        if j is None:
            j = position[key] = len(canons)
            canons.append(key[0])
            problem.append(key[1])
            kind.append(key[2])
            weights.append(0)
        weights[j] += 1
        of_question[i] = j
    return Items(canons, np.asarray(problem, dtype=bool), np.asarray(kind, dtype=np.int8),
                 np.asarray(weights, dtype=np.int64), of_question)


def candidate_pairs(x: sparse.csr_matrix, threshold: float, chunk_rows: int = 2048,
                    y: sparse.csr_matrix | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, cosine) of the pairs with cosine ≥ threshold; i < j when ``y`` is None (self-join)."""
    target = x if y is None else y
    t = sparse.csr_matrix(target.T)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for start in range(0, x.shape[0], chunk_rows):
        block = (x[start:start + chunk_rows] @ t).tocoo()
        keep = block.data >= threshold
        r = block.row[keep] + start
        c = block.col[keep]
        v = block.data[keep]
        if y is None:
            upper = r < c
            r, c, v = r[upper], c[upper], v[upper]
        rows.append(r)
        cols.append(c)
        vals.append(v)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64), np.concatenate(vals)


def _average_linkage(sim: np.ndarray, threshold: float) -> np.ndarray:
    """Flat clusters (0-based labels) of average linkage on a dense similarity block, cut at threshold."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = sim.shape[0]
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    dist = 1.0 - np.clip(sim.astype(np.float64), 0.0, 1.0)
    np.fill_diagonal(dist, 0.0)
    tree = linkage(squareform(dist, checks=False), method="average")
    return fcluster(tree, t=1.0 - threshold, criterion="distance").astype(np.int64) - 1


def _components(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    from scipy.sparse.csgraph import connected_components

    graph = sparse.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def group_items(x: sparse.csr_matrix, problem: np.ndarray, kind: np.ndarray, params: ClusterParams) -> np.ndarray:
    """A group id per item (0-based, every item in some group; singletons are their own group)."""
    n = x.shape[0]
    # Only the columns in use: the hashed space has 2**20, and sparse transposes cost per column.
    used = np.unique(x.indices)
    x = sparse.csr_matrix((x.data, np.searchsorted(used, x.indices), x.indptr), shape=(n, max(1, len(used))))
    rows, cols, cos = candidate_pairs(x, params.threshold, params.chunk_rows)
    sim = cos * pair_penalty(problem[rows], kind[rows], problem[cols], kind[cols])
    keep = sim >= params.threshold
    rows, cols, sim = rows[keep], cols[keep], sim[keep]
    out = np.full(n, -1, dtype=np.int64)
    next_id = 0
    # Work list of (item indices, threshold used to split it).
    stack: list[tuple[np.ndarray, float]] = []
    comp = _components(n, rows, cols)
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    stack.extend((members, params.threshold) for members in np.split(order, bounds))
    edge_sim = sim
    while stack:
        members, level = stack.pop()
        if len(members) == 1:
            out[members[0]] = next_id
            next_id += 1
            continue
        if len(members) > params.max_block:
            # Split at a higher threshold using the known edges inside this component.
            inside = np.zeros(n, dtype=bool)
            inside[members] = True
            sel = inside[rows] & inside[cols] & (edge_sim >= level + 0.05)
            local = {int(m): i for i, m in enumerate(members)}
            r = np.fromiter((local[int(a)] for a in rows[sel]), dtype=np.int64, count=int(sel.sum()))
            c = np.fromiter((local[int(b)] for b in cols[sel]), dtype=np.int64, count=int(sel.sum()))
            sub = _components(len(members), r, c)
            sub_order = np.argsort(sub, kind="stable")
            sub_bounds = np.flatnonzero(np.diff(sub[sub_order])) + 1
            stack.extend((members[s], level + 0.05) for s in np.split(sub_order, sub_bounds))
            continue
        block = x[members]
        dense = (block @ block.T).toarray()
        dense *= penalty(problem[members], kind[members], problem[members], kind[members])
        labels = _average_linkage(dense, params.threshold)
        out[members] = labels + next_id
        next_id += int(labels.max()) + 1
    return out


def number_labels(groups_of_question: np.ndarray, min_size: int) -> list[int]:
    """Groups renumbered 0, 1, … by first question; groups smaller than min_size become −1."""
    sizes = np.bincount(groups_of_question) if len(groups_of_question) else np.zeros(0, dtype=np.int64)
    mapping: dict[int, int] = {}
    out: list[int] = []
    for g in groups_of_question.tolist():
        if sizes[g] < min_size:
            out.append(-1)
            continue
        if g not in mapping:
            mapping[g] = len(mapping)
        out.append(mapping[g])
    return out


def cluster(questions: Sequence[str], params: ClusterParams = DEFAULT,
            words: Sequence[tuple[str, ...]] | None = None) -> list[int]:
    """A cluster label per question, −1 for a question that joins no cluster (module docs).

    ``words``: per question the jieba words of its canonical form (:func:`analytics.faq.similarity.words`,
    kept by the caller), so no tokenizer is loaded; the labels are the same as without them."""
    if not questions:
        return []
    items = dedupe(questions)
    feats = None
    if words is not None:
        first = np.unique(items.of_question, return_index=True)[1]  # each item's first question
        feats = [features_of(c, tuple(words[int(q)])) for c, q in zip(items.canons, first, strict=True)]
    featurizer = Featurizer.fit(items.canons, feats)
    x = featurizer.transform(items.canons, feats)
    groups = group_items(x, items.problem, items.kind, params)
    return number_labels(groups[items.of_question], params.min_size)


def similarities(a: Sequence[str], b: Sequence[str], fit_on: Sequence[str] | None = None) -> np.ndarray:
    """The clustering's similarity of each pair (a[i], b[i]): cosine × intent penalty, IDF fitted on
    ``fit_on`` (default: all the questions of a and b)."""
    left, right = dedupe(a), dedupe(b)
    featurizer = Featurizer.fit(dedupe(list(fit_on) if fit_on is not None else [*a, *b]).canons)
    xa = featurizer.transform(left.canons)[left.of_question]
    xb = featurizer.transform(right.canons)[right.of_question]
    cos = np.asarray(xa.multiply(xb).sum(axis=1)).ravel()
    pa, ka = left.problem[left.of_question], left.kind[left.of_question]
    pb, kb = right.problem[right.of_question], right.kind[right.of_question]
    return cos * pair_penalty(pa, ka, pb, kb)
