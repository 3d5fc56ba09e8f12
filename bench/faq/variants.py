"""Clustering variants tried against the shipped ``analytics.faq.cluster`` (bench/faq/README.md's table).

    python bench/faq/variants.py                       # every variant, every threshold (≈ 10 min)
    python bench/faq/variants.py --only charweights    # one family: blocks, rescore, twopass, charweights

Each variant is scored like ``eval.py`` scores the shipped clustering — pairwise P / R / F1 and the F1
ratio against the char 1–3-gram TF-IDF + average-linkage baseline — on the hand-written
``tests/fixtures/faq_dev.tsv``, ``bq_clusters.dev`` and ``atec_clusters.test``.  Training uses
``atec_pairs.train`` only, and drops every pair that has a question of ``atec_clusters.test``,
``atec_pairs.test`` or ``afqmc_pairs.test`` (2,049 of 31,567 pairs): ``atec_clusters.test`` was built from
all ATEC pairs, and 202 of its 245 questions occur in the train file, so without that filter it would
not be a test set.  Every fit is deterministic (closed-form data, L-BFGS / liblinear from a fixed start);
nothing here is shipped.

Families:

- ``blocks`` — the TF-IDF split into char 1-, 2-, 3-gram, word and char-set blocks, each L2-normalised,
  weighted by a logistic regression on the blocks' cosines (negative weights clipped, weights summed
  to 1), so the similarity stays one dot product;
- ``rescore`` — the shipped dot product finds candidate pairs (≥ ``cand``); a logistic regression on 9
  pair features (that dot product, char-set and word Jaccard, length ratio, marker disagreements,
  squares and a product) re-scores them, and average linkage runs on its probability (pairs under
  ``cand`` count as 0);
- ``twopass`` — shipped clustering at a high threshold ``t1`` (tight clusters), then the clusters'
  centroids (count-weighted mean of their vectors, L2-normalised; markers by weighted majority)
  clustered again by average linkage at ``t2``;
- ``charweights`` — the char-set block with a *learned weight per character* (a weighted Ochiai
  coefficient ``Σ_{A∩B} w_c / √(W_A·W_B)``, still a dot product: entries ``√w_c / √W``), ``w_c =
  exp(θ_c)``, θ fitted by L-BFGS on the logistic loss of ``((1−α)·TF-IDF cosine + α·weighted Ochiai) ×
  intent penalty`` with an L2 penalty λ·|θ|² (characters seen fewer than 5 times keep w = 1), α either
  fitted or fixed at the shipped 0.3; clustered with α = 0.3, also with the weights clipped to [0.5, 2] or
  [0.25, 4].
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval import datasets_dir  # noqa: E402
from evalmetrics import pairwise, read_groups, read_pairs, tfidf_average_linkage  # noqa: E402

from analytics.faq import similarity as sim  # noqa: E402
from analytics.faq.cluster import (  # noqa: E402
    DEFAULT,
    _average_linkage,
    _components,
    candidate_pairs,
    cluster,
    dedupe,
    group_items,
    number_labels,
)

BLOCKS = ("c1", "c2", "c3", "w", "s")


def paraphrase_dir() -> Path:
    return datasets_dir() / "paraphrase"


def train_pairs() -> list[tuple[str, str, int]]:
    """atec_pairs.train without any pair touching a question of the test files (module docs)."""
    folder = paraphrase_dir()
    held = set(read_groups(folder / "atec_clusters.test.csv")[0])
    for name in ("atec_pairs.test.csv", "afqmc_pairs.test.csv"):
        held |= {q for a, b, _ in read_pairs(folder / name) for q in (a, b)}
    return [p for p in read_pairs(folder / "atec_pairs.train.csv") if p[0] not in held and p[1] not in held]


def eval_sets() -> dict[str, tuple[list[str], list[str]]]:
    sets = {"faq_dev": read_groups(ROOT / "tests" / "fixtures" / "faq_dev.tsv")}
    for name in ("bq_clusters.dev", "atec_clusters.test"):
        sets[name] = read_groups(paraphrase_dir() / f"{name}.csv")
    return sets


_BASELINE_F1: dict[str, float] = {}


def score(sets, labels_of, label: str) -> None:
    """Print one row: P / R / F1 / F1 ratio per data set."""
    cells = []
    for name, (questions, gold) in sets.items():
        s = pairwise(gold, labels_of(questions))
        if name not in _BASELINE_F1:
            _BASELINE_F1[name] = pairwise(gold, tfidf_average_linkage(questions)).f1
        cells.append(f"{name} {s.precision:.3f} / {s.recall:.3f} / {s.f1:.3f} ({s.f1 / _BASELINE_F1[name]:.2f}×)")
    print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def _text(canon: str) -> str:
    return sim.QUESTION_WORDS.sub("", canon.replace(" ", "")) or canon


def _csr(rows: list[list[int]], values: list[list[float]] | None = None) -> sparse.csr_matrix:
    ptr = np.cumsum([0] + [len(r) for r in rows])
    col = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(ptr[-1]))
    data = (np.ones(len(col), np.float32) if values is None
            else np.fromiter((v for r in values for v in r), dtype=np.float32, count=int(ptr[-1])))
    m = sparse.csr_matrix((data, col, ptr), shape=(len(rows), sim.DIM))
    m.sum_duplicates()
    return m


# --- blocks ----------------------------------------------------------------------------------------------
def _block_features(canon: str) -> dict[str, list[int]]:
    from analytics.textmodel.tokenize import default_tokenizer

    t = _text(canon)
    out = {f"c{n}": [sim._hash(f"c{t[i:i + n]}") for i in range(len(t) - n + 1)] for n in (1, 2, 3)}
    out["w"] = [sim._hash("w" + w) for w in default_tokenizer().cut(t, hmm=False) if w.strip()]
    out["s"] = sorted({sim._hash("s" + ch) for ch in t})
    return out


def blocks(canons: list[str], idf_from: list[str]) -> dict[str, sparse.csr_matrix]:
    feats = [_block_features(c) for c in canons]
    fit = [_block_features(c) for c in idf_from]
    out = {}
    for b in BLOCKS:
        m = _csr([f[b] for f in feats])
        if b == "s":
            m.data[:] = 1.0
        else:
            counts = np.zeros(sim.DIM, np.int32)
            for f in fit:
                counts[np.unique(np.asarray(f[b], dtype=np.int64))] += 1
            idf = (np.log((1 + len(fit)) / (1 + counts)) + 1).astype(np.float32)
            m.data = np.log1p(m.data) * idf[m.indices]
        out[b] = sim._l2(m)
    return out


def _weighted(bl: dict[str, sparse.csr_matrix], weights: dict[str, float]) -> sparse.csr_matrix:
    parts = [bl[b] * np.float32(np.sqrt(w)) for b, w in weights.items() if w > 0]
    return sparse.csr_matrix(sparse.hstack(parts, format="csr"), dtype=np.float32)


def fit_block_weights(pairs) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    a, b = dedupe([p[0] for p in pairs]), dedupe([p[1] for p in pairs])
    every = dedupe([q for p in pairs for q in p[:2]]).canons
    ba, bb = blocks(a.canons, every), blocks(b.canons, every)
    cos = np.stack([np.asarray(ba[k][a.of_question].multiply(bb[k][b.of_question]).sum(axis=1)).ravel()
                    for k in BLOCKS], 1)
    pen = sim.pair_penalty(a.problem[a.of_question], a.kind[a.of_question], b.problem[b.of_question],
                           b.kind[b.of_question])
    lr = LogisticRegression(C=10.0, max_iter=2000).fit(cos * pen[:, None], [p[2] for p in pairs])
    w = np.clip(lr.coef_[0], 0, None)
    return dict(zip(BLOCKS, (w / w.sum()).tolist(), strict=True))


def blocks_cluster(questions, weights, threshold):
    items = dedupe(questions)
    x = _weighted(blocks(items.canons, items.canons), weights)
    groups = group_items(x, items.problem, items.kind, replace(DEFAULT, threshold=threshold))
    return number_labels(groups[items.of_question], DEFAULT.min_size)


# --- rescore ---------------------------------------------------------------------------------------------
def _pair_matrix(d0, inter_s, ns_a, ns_b, inter_w, nw_a, nw_b, len_a, len_b, pa, ka, pb, kb) -> np.ndarray:
    js = inter_s / np.maximum(ns_a + ns_b - inter_s, 1)
    jw = inter_w / np.maximum(nw_a + nw_b - inter_w, 1)
    ratio = np.minimum(len_a, len_b) / np.maximum(np.maximum(len_a, len_b), 1)
    pm = (pa != pb).astype(np.float32)
    km = ((ka != kb) & (ka > 0) & (kb > 0)).astype(np.float32)
    return np.stack(np.broadcast_arrays(d0, js, jw, ratio, pm, km, d0 * d0, js * js, d0 * js), -1)


def _item_parts(canons, featurizer):
    x = featurizer.transform(canons)
    sets = [sorted(set(_block_features(c)["s"])) for c in canons]
    words = [sorted(set(_block_features(c)["w"])) for c in canons]
    lengths = np.array([len(_text(c)) for c in canons], np.float32)
    return (x, _csr(sets), np.array([len(s) for s in sets], np.float32), _csr(words),
            np.array([len(w) for w in words], np.float32), lengths)


def fit_rescorer(pairs) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    a, b = dedupe([p[0] for p in pairs]), dedupe([p[1] for p in pairs])
    fz = sim.Featurizer.fit(dedupe([q for p in pairs for q in p[:2]]).canons)
    xa, sa, nsa, wa, nwa, la = _item_parts(a.canons, fz)
    xb, sb, nsb, wb, nwb, lb = _item_parts(b.canons, fz)
    ia, ib = a.of_question, b.of_question

    def rowdot(m1, m2):
        return np.asarray(m1[ia].multiply(m2[ib]).sum(axis=1)).ravel()

    f = _pair_matrix(rowdot(xa, xb), rowdot(sa, sb), nsa[ia], nsb[ib], rowdot(wa, wb), nwa[ia], nwb[ib],
                     la[ia], lb[ib], a.problem[ia], a.kind[ia], b.problem[ib], b.kind[ib])
    lr = LogisticRegression(C=1.0, max_iter=3000).fit(f, [p[2] for p in pairs])
    return lr.coef_[0], float(lr.intercept_[0])


def rescore_cluster(questions, model, cand: float, threshold: float):
    coef, intercept = model
    items = dedupe(questions)
    x, sm, ns, wm, nw, ln = _item_parts(items.canons, sim.Featurizer.fit(items.canons))
    n, pr, kd = x.shape[0], items.problem, items.kind
    r, c, d0 = candidate_pairs(x, cand)

    def rowdot(m):
        return np.asarray(m[r].multiply(m[c]).sum(axis=1)).ravel()

    f = _pair_matrix(d0, rowdot(sm), ns[r], ns[c], rowdot(wm), nw[r], nw[c], ln[r], ln[c], pr[r], kd[r], pr[c], kd[c])
    keep = 1 / (1 + np.exp(-(f @ coef + intercept))) >= threshold
    comp = _components(n, r[keep], c[keep])
    out = np.full(n, -1, np.int64)
    next_id = 0
    order = np.argsort(comp, kind="stable")
    for members in np.split(order, np.flatnonzero(np.diff(comp[order])) + 1):
        if len(members) > 1:
            d = (x[members] @ x[members].T).toarray()
            fd = _pair_matrix(d, (sm[members] @ sm[members].T).toarray(), ns[members][:, None], ns[members][None, :],
                              (wm[members] @ wm[members].T).toarray(), nw[members][:, None], nw[members][None, :],
                              ln[members][:, None], ln[members][None, :], pr[members][:, None], kd[members][:, None],
                              pr[members][None, :], kd[members][None, :])
            p = 1 / (1 + np.exp(-(fd @ coef + intercept))) * (d >= cand)
            labels = _average_linkage(p, threshold)
        else:
            labels = np.zeros(1, np.int64)
        out[members] = labels + next_id
        next_id += int(labels.max()) + 1
    return number_labels(out[items.of_question], DEFAULT.min_size)


# --- twopass ---------------------------------------------------------------------------------------------
def two_pass(questions, t1: float, t2: float):
    items = dedupe(questions)
    x = sim.Featurizer.fit(items.canons).transform(items.canons)
    first = group_items(x, items.problem, items.kind, replace(DEFAULT, threshold=t1))
    k = int(first.max()) + 1
    w = items.weights.astype(np.float64)
    member = sparse.csr_matrix((w, (first, np.arange(len(first)))), shape=(k, len(first)))
    centroids = sim._l2(sparse.csr_matrix(member @ x))
    problem = np.bincount(first, weights=w * items.problem) / np.bincount(first, weights=w) >= 0.5
    kinds = np.zeros((k, len(sim.KIND_CODES)))
    np.add.at(kinds, (first, items.kind.astype(np.int64)), w)
    second = group_items(centroids, problem, kinds.argmax(1).astype(np.int8), replace(DEFAULT, threshold=t2))
    return number_labels(second[first][items.of_question], DEFAULT.min_size)


# --- charweights -----------------------------------------------------------------------------------------
def fit_char_weights(pairs, lam: float, alpha: float | None, min_count: int = 5) -> tuple[dict[int, float], float]:
    """({hashed char id: weight}, α) by L-BFGS on the logistic loss (module docs)."""
    from scipy.optimize import minimize

    a, b = dedupe([p[0] for p in pairs]), dedupe([p[1] for p in pairs])
    fz = sim.Featurizer.fit(dedupe([q for p in pairs for q in p[:2]]).canons)
    split = sim.DIM  # transform's first DIM columns are the TF-IDF part, scaled by √(1 − CHARSET_WEIGHT)
    xa, xb = fz.transform(a.canons)[:, :split][a.of_question], fz.transform(b.canons)[:, :split][b.of_question]
    cos = np.asarray(xa.multiply(xb).sum(axis=1)).ravel() / (1 - sim.CHARSET_WEIGHT)
    pen = sim.pair_penalty(a.problem[a.of_question], a.kind[a.of_question], b.problem[b.of_question],
                           b.kind[b.of_question])
    sa = [sim.char_set(a.canons[i]) for i in a.of_question]
    sb = [sim.char_set(b.canons[i]) for i in b.of_question]
    counts = Counter(ch for s in sa + sb for ch in s)
    vocab = {ch: i for i, ch in enumerate(sorted(ch for ch, n in counts.items() if n >= min_count))}
    v = len(vocab)

    def onehot(sets):
        ptr = np.cumsum([0] + [len(s) for s in sets])
        col = np.fromiter((vocab.get(ch, v) for s in sets for ch in s), np.int64, int(ptr[-1]))
        return sparse.csr_matrix((np.ones(len(col)), col, ptr), shape=(len(sets), v + 1))

    ma, mb = onehot(sa), onehot(sb)
    mi = ma.multiply(mb).tocsr()
    y = np.array([p[2] for p in pairs], dtype=np.float64)

    def loss(params):
        theta, raw, scale, bias = params[:v], params[v], params[v + 1], params[v + 2]
        al = 1 / (1 + np.exp(-raw))
        w = np.exp(np.append(theta, 0.0))
        wa, wb, inter = ma @ w, mb @ w, mi @ w
        root = np.sqrt(wa * wb)
        o = inter / root
        s = ((1 - al) * cos + al * o) * pen
        p = 1 / (1 + np.exp(-(scale * s + bias)))
        value = -np.sum(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)) + lam * np.sum(theta ** 2)
        g = p - y
        g_o = g * scale * al * pen
        g_w = mi.T @ (g_o / root) - 0.5 * (ma.T @ (g_o * o / wa) + mb.T @ (g_o * o / wb))
        g_raw = 0.0 if alpha is not None else np.sum(g * scale * pen * (o - cos)) * al * (1 - al)
        grad = np.concatenate([(g_w * w)[:v] + 2 * lam * theta, [g_raw, np.sum(g * s), np.sum(g)]])
        return value, grad

    start_alpha = alpha if alpha is not None else sim.CHARSET_WEIGHT
    x0 = np.concatenate([np.zeros(v), [np.log(start_alpha / (1 - start_alpha)), 5.0, -3.0]])
    res = minimize(loss, x0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    ids = sorted(vocab, key=vocab.get)
    return dict(zip(ids, np.exp(res.x[:v]).tolist(), strict=True)), float(1 / (1 + np.exp(-res.x[v])))


def char_weight_cluster(questions, weights: dict[int, float], alpha: float, threshold: float):
    items = dedupe(questions)
    fz = sim.Featurizer.fit(items.canons)
    tfidf = fz.transform(items.canons)[:, :sim.DIM] / np.float32(np.sqrt(1 - sim.CHARSET_WEIGHT))
    sets = [sim.char_set(c) for c in items.canons]
    charset = sim._l2(_csr([list(s) for s in sets], [[np.sqrt(weights.get(ch, 1.0)) for ch in s] for s in sets]))
    x = sparse.csr_matrix(sparse.hstack([tfidf * np.float32(np.sqrt(1 - alpha)),
                                         charset * np.float32(np.sqrt(alpha))], format="csr"), dtype=np.float32)
    groups = group_items(x, items.problem, items.kind, replace(DEFAULT, threshold=threshold))
    return number_labels(groups[items.of_question], DEFAULT.min_size)


def char_weight_pair_scores(weights: dict[int, float], alpha: float) -> str:
    """AUC / average precision on the two pair test sets: learned char weights against the shipped score."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from analytics.faq.cluster import similarities

    out = []
    for name in ("atec_pairs.test", "afqmc_pairs.test"):
        pairs = read_pairs(paraphrase_dir() / f"{name}.csv")
        y = [p[2] for p in pairs]
        questions = sorted({q for a, b, _ in pairs for q in (a, b)})
        a, b = dedupe([p[0] for p in pairs]), dedupe([p[1] for p in pairs])
        fz = sim.Featurizer.fit(dedupe(questions).canons)

        def rows(items, fz=fz):
            tfidf = fz.transform(items.canons)[:, :sim.DIM] / np.float32(np.sqrt(1 - sim.CHARSET_WEIGHT))
            sets = [sim.char_set(c) for c in items.canons]
            charset = sim._l2(_csr([list(s) for s in sets], [[np.sqrt(weights.get(ch, 1.0)) for ch in s]
                                                            for s in sets]))
            x = sparse.hstack([tfidf * np.float32(np.sqrt(1 - alpha)), charset * np.float32(np.sqrt(alpha))],
                              format="csr")
            return x[items.of_question]

        learned = np.asarray(rows(a).multiply(rows(b)).sum(axis=1)).ravel() * sim.pair_penalty(
            a.problem[a.of_question], a.kind[a.of_question], b.problem[b.of_question], b.kind[b.of_question])
        shipped = similarities([p[0] for p in pairs], [p[1] for p in pairs], fit_on=questions)
        out.append(f"{name} AUC / AP {roc_auc_score(y, learned):.3f} / {average_precision_score(y, learned):.3f} "
                   f"(shipped {roc_auc_score(y, shipped):.3f} / {average_precision_score(y, shipped):.3f})")
    return "; ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("shipped", "blocks", "rescore", "twopass", "charweights"))
    args = parser.parse_args()
    if not paraphrase_dir().is_dir():
        sys.exit(f"{paraphrase_dir()} not found: the variants need the paraphrase data sets")
    sets = eval_sets()
    pairs = train_pairs()
    print(f"train pairs after dropping test questions: {len(pairs)} ({sum(p[2] for p in pairs)} same)")
    print("| variant | " + " | ".join(f"{n} P / R / F1 (× baseline)" for n in sets) + " |")
    print("|---|" + "---|" * len(sets))
    family = args.only
    if family in (None, "shipped"):
        for t in (0.35, 0.4, 0.45):
            score(sets, lambda qs, t=t: cluster(qs, replace(DEFAULT, threshold=t)), f"shipped, t={t}")
    if family in (None, "blocks"):
        w = fit_block_weights(pairs)
        shown = ", ".join(f"{k} {v:.3f}" for k, v in w.items())
        for t in (0.5, 0.55):
            score(sets, lambda qs, t=t: blocks_cluster(qs, w, t), f"learned block weights ({shown}), t={t}")
    if family in (None, "rescore"):
        model = fit_rescorer(pairs)
        for cand, t in ((0.25, 0.3), (0.25, 0.26), (0.25, 0.22), (0.2, 0.18)):
            score(sets, lambda qs, c=cand, t=t: rescore_cluster(qs, model, c, t),
                  f"re-scored candidates, cand ≥ {cand}, p ≥ {t}")
    if family in (None, "twopass"):
        for t1, t2 in ((0.5, 0.45), (0.5, 0.5), (0.6, 0.4), (0.6, 0.45), (0.7, 0.4)):
            score(sets, lambda qs, a=t1, b=t2: two_pass(qs, a, b), f"two-pass, t1={t1} then centroids t2={t2}")
    if family in (None, "charweights"):
        for lam, alpha in ((1.0, None), (0.3, 0.3), (1.0, 0.3)):
            weights, fitted = fit_char_weights(pairs, lam, alpha)
            how = f"α fitted {fitted:.3f}" if alpha is None else "α fixed 0.3"
            print(f"char weights λ {lam}, {how}: {len(weights)} characters; pairs at α {fitted:.3f}: "
                  f"{char_weight_pair_scores(weights, fitted)}", flush=True)
            for t in (0.4, 0.42):
                score(sets, lambda qs, w=weights, t=t: char_weight_cluster(qs, w, sim.CHARSET_WEIGHT, t),
                      f"learned char weights (λ {lam}, {how}), α 0.3, t={t}")
            if lam == 1.0 and alpha is not None:
                # Tempered: the weights clipped, so no character moves far from 1 (退 reaches 41 unclipped).
                for lo, hi in ((0.5, 2.0), (0.25, 4.0)):
                    clipped = {k: min(hi, max(lo, w)) for k, w in weights.items()}
                    score(sets, lambda qs, w=clipped: char_weight_cluster(qs, w, sim.CHARSET_WEIGHT, 0.4),
                          f"learned char weights (λ {lam}, {how}) clipped to [{lo}, {hi}], α 0.3, t=0.4")


if __name__ == "__main__":
    main()
