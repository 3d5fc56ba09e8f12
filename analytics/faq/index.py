"""Incremental clustering: new questions join the clusters found so far, history is not re-clustered.

``ClusterIndex`` keeps, per cluster, its exemplars — the distinct canonical questions in it, the most
frequent ``max_exemplars`` of them, with their counts — plus a pool of recent questions that joined no
cluster yet, and the IDF weights fitted on the history (so a new question is weighed as before).

- ``fit(questions) -> labels``: :func:`analytics.faq.cluster.cluster` on the history (same labels,
  same parameters), then the state above.
- ``assign(new_questions) -> labels``: a new question joins the existing cluster with the highest
  average similarity to its exemplars (cosine × intent penalty, the same similarity as the batch
  clustering) when that average reaches the threshold.  The rest are clustered together with the pool
  (the batch algorithm); a group that reaches ``min_size`` questions becomes a new cluster with the next
  free label.  Existing labels never change; a label is never reused.  Questions still alone go to the
  pool (the oldest drop out past ``max_pool``) and get −1.
- ``to_state() -> dict`` / ``ClusterIndex.from_state(dict)``: plain JSON-able values (str, int, float,
  lists, dicts) — store it as JSON.  The state holds canonical questions only, which are already masked
  (:func:`analytics.faq.extract.normalize`).  ``state["version"]`` is ``STATE_VERSION``; another
  version raises ``ValueError``.
- ``clusters()``: ``{label: [(canonical question, count), …]}`` for display and ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import sparse

from .cluster import DEFAULT, ClusterParams, dedupe, group_items, number_labels
from .similarity import Featurizer, penalty

STATE_VERSION = 1


@dataclass
class _Cluster:
    exemplars: list[str]
    problem: list[bool]
    kind: list[int]
    counts: list[int]
    size: int


@dataclass
class _Pool:
    canons: list[str] = field(default_factory=list)
    problem: list[bool] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


class ClusterIndex:
    """Clusters that grow with new questions without re-clustering the history (module docs)."""

    def __init__(self, params: ClusterParams = DEFAULT, max_exemplars: int = 50, max_pool: int = 20000) -> None:
        self.params = params
        self.max_exemplars = max_exemplars
        self.max_pool = max_pool
        self.featurizer = Featurizer()
        self._clusters: dict[int, _Cluster] = {}
        self._pool = _Pool()
        self._next_label = 0

    # --- batch ------------------------------------------------------------------------------------------
    def fit(self, questions: Sequence[str]) -> list[int]:
        """Cluster the history from scratch; the labels are those of ``cluster(questions)``."""
        items = dedupe(questions)
        self.featurizer = Featurizer.fit(items.canons)
        self._clusters = {}
        self._pool = _Pool()
        self._next_label = 0
        if not items.canons:
            return []
        x = self.featurizer.transform(items.canons)
        groups = group_items(x, items.problem, items.kind, self.params)
        labels = number_labels(groups[items.of_question], self.params.min_size)
        item_label = np.full(len(items.canons), -1, dtype=np.int64)
        item_label[items.of_question] = labels
        self._absorb(items.canons, items.problem, items.kind, items.weights, item_label)
        self._next_label = max(labels, default=-1) + 1
        return labels

    def _absorb(self, canons: Sequence[str], problem: np.ndarray, kind: np.ndarray, weights: np.ndarray,
                item_label: np.ndarray) -> None:
        for j, label in enumerate(item_label.tolist()):
            if label < 0:
                self._pool.canons.append(canons[j])
                self._pool.problem.append(bool(problem[j]))
                self._pool.kind.append(int(kind[j]))
                self._pool.counts.append(int(weights[j]))
                continue
            c = self._clusters.setdefault(label, _Cluster([], [], [], [], 0))
            self._add_exemplar(c, canons[j], bool(problem[j]), int(kind[j]), int(weights[j]))
        self._trim_pool()

    def _add_exemplar(self, c: _Cluster, canon: str, problem: bool, kind: int, count: int) -> None:
        c.size += count
        if canon in c.exemplars:
            c.counts[c.exemplars.index(canon)] += count
        else:
            c.exemplars.append(canon)
            c.problem.append(problem)
            c.kind.append(kind)
            c.counts.append(count)
        if len(c.exemplars) > self.max_exemplars:
            order = sorted(range(len(c.exemplars)), key=lambda i: (-c.counts[i], i))[: self.max_exemplars]
            order.sort()
            c.exemplars = [c.exemplars[i] for i in order]
            c.problem = [c.problem[i] for i in order]
            c.kind = [c.kind[i] for i in order]
            c.counts = [c.counts[i] for i in order]

    def _trim_pool(self) -> None:
        extra = len(self._pool.canons) - self.max_pool
        if extra > 0:
            for name in ("canons", "problem", "kind", "counts"):
                setattr(self._pool, name, getattr(self._pool, name)[extra:])

    # --- incremental -------------------------------------------------------------------------------------
    def assign(self, new_questions: Sequence[str]) -> list[int]:
        """Labels for new questions: an existing cluster, a new one, or −1 (module docs)."""
        if not new_questions:
            return []
        items = dedupe(new_questions)
        n = len(items.canons)
        item_label = np.full(n, -1, dtype=np.int64)
        x = self.featurizer.transform(items.canons)
        if self._clusters:
            labels = sorted(self._clusters)
            ex_canons: list[str] = []
            ex_problem: list[bool] = []
            ex_kind: list[int] = []
            ex_cluster: list[int] = []
            for k, label in enumerate(labels):
                c = self._clusters[label]
                ex_canons.extend(c.exemplars)
                ex_problem.extend(c.problem)
                ex_kind.extend(c.kind)
                ex_cluster.extend([k] * len(c.exemplars))
            ex = self.featurizer.transform(ex_canons)
            member = sparse.csr_matrix((np.ones(len(ex_cluster)), (np.arange(len(ex_cluster)), ex_cluster)),
                                       shape=(len(ex_cluster), len(labels)))
            sizes = np.asarray(member.sum(axis=0)).ravel()
            ex_problem_arr = np.asarray(ex_problem, dtype=bool)
            ex_kind_arr = np.asarray(ex_kind, dtype=np.int8)
            step = max(1, min(self.params.chunk_rows, 8_000_000 // max(1, len(ex_canons))))
            for start in range(0, n, step):
                stop = min(n, start + step)
                sim = (x[start:stop] @ ex.T).toarray()
                sim *= penalty(items.problem[start:stop], items.kind[start:stop], ex_problem_arr, ex_kind_arr)
                mean = np.asarray((member.T @ sim.T).T) / sizes
                best = np.argmax(mean, axis=1)
                ok = mean[np.arange(stop - start), best] >= self.params.threshold
                chosen = np.asarray(labels)[best]
                item_label[start:stop][ok] = chosen[ok]
        rest = np.flatnonzero(item_label < 0)
        if len(rest):
            self._cluster_rest(items, x, rest, item_label)
        for j, label in enumerate(item_label.tolist()):
            if label >= 0:
                self._add_exemplar(self._clusters[label], items.canons[j], bool(items.problem[j]),
                                   int(items.kind[j]), int(items.weights[j]))
        self._trim_pool()
        return item_label[items.of_question].tolist()

    def _cluster_rest(self, items, x: sparse.csr_matrix, rest: np.ndarray, item_label: np.ndarray) -> None:
        pool = self._pool
        n_pool = len(pool.canons)
        canons = pool.canons + [items.canons[j] for j in rest]
        problem = np.asarray(pool.problem + items.problem[rest].tolist(), dtype=bool)
        kind = np.asarray(pool.kind + items.kind[rest].tolist(), dtype=np.int8)
        weights = np.asarray(pool.counts + items.weights[rest].tolist(), dtype=np.int64)
        xs = sparse.vstack([self.featurizer.transform(pool.canons), x[rest]]).tocsr() if n_pool else x[rest]
        groups = group_items(xs, problem, kind, self.params)
        totals = np.bincount(groups, weights=weights)
        new_label: dict[int, int] = {}
        # Number new clusters in order of their first new question (deterministic).
        for pos in range(n_pool, len(canons)):
            g = int(groups[pos])
            if totals[g] >= self.params.min_size and g not in new_label:
                new_label[g] = self._next_label
                self._next_label += 1
        keep = _Pool()
        for pos in range(n_pool):
            g = int(groups[pos])
            if g in new_label:
                label = new_label[g]
                c = self._clusters.setdefault(label, _Cluster([], [], [], [], 0))
                self._add_exemplar(c, canons[pos], bool(problem[pos]), int(kind[pos]), int(weights[pos]))
            else:
                keep.canons.append(canons[pos])
                keep.problem.append(bool(problem[pos]))
                keep.kind.append(int(kind[pos]))
                keep.counts.append(int(weights[pos]))
        for k, j in enumerate(rest.tolist()):
            g = int(groups[n_pool + k])
            if g in new_label:
                item_label[j] = new_label[g]
                self._clusters.setdefault(new_label[g], _Cluster([], [], [], [], 0))
            else:
                keep.canons.append(items.canons[j])
                keep.problem.append(bool(items.problem[j]))
                keep.kind.append(int(items.kind[j]))
                keep.counts.append(int(items.weights[j]))
        self._pool = keep

    # --- inspection and persistence --------------------------------------------------------------------------
    def clusters(self) -> dict[int, list[tuple[str, int]]]:
        """``{label: [(canonical question, count), …]}``, most frequent first."""
        out: dict[int, list[tuple[str, int]]] = {}
        for label in sorted(self._clusters):
            c = self._clusters[label]
            out[label] = sorted(zip(c.exemplars, c.counts, strict=True), key=lambda t: (-t[1], t[0]))
        return out

    def to_state(self) -> dict:
        """The whole index as plain JSON-able values (module docs)."""
        return {
            "version": STATE_VERSION,
            "params": asdict(self.params),
            "max_exemplars": self.max_exemplars,
            "max_pool": self.max_pool,
            "next_label": self._next_label,
            "idf": {"n_docs": self.featurizer.n_docs, "index": self.featurizer.idf_index.tolist(),
                    "value": [round(float(v), 5) for v in self.featurizer.idf_value]},
            "clusters": [{"label": label, **asdict(c)} for label, c in sorted(self._clusters.items())],
            "pool": asdict(self._pool),
        }

    @classmethod
    def from_state(cls, state: dict) -> ClusterIndex:
        """The index saved by :meth:`to_state`."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported ClusterIndex state version {state.get('version')!r}")
        index = cls(ClusterParams(**state["params"]), state["max_exemplars"], state["max_pool"])
        idf = state["idf"]
        index.featurizer = Featurizer(np.asarray(idf["index"], dtype=np.int64),
                                      np.asarray(idf["value"], dtype=np.float32), int(idf["n_docs"]))
        index._next_label = int(state["next_label"])
        for c in state["clusters"]:
            index._clusters[int(c["label"])] = _Cluster(list(c["exemplars"]), [bool(v) for v in c["problem"]],
                                                        [int(v) for v in c["kind"]], [int(v) for v in c["counts"]],
                                                        int(c["size"]))
        index._pool = _Pool(**{k: list(v) for k, v in state["pool"].items()})
        return index
