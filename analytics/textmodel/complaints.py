"""Complaint reasons: transparent keyword rules first, a learned model for the rest.

Categories (SPEC): 物流, 质量, 服务态度, 退款售后, 价格优惠, 发票, 其他.

The rules live in ``analytics/data/complaint_rules.json`` and can be extended from
config (``[text] complaint_rules``).  A text's rule score for a category is the sum of
the lengths of its keywords found in the text (a longer keyword is more specific);
the best category wins, ties go to the earlier category in ``order``.  When no keyword
matches, the learned model (``complaint_model.npz``, a softmax over the same features
as the sentiment model) decides if it is confident enough, otherwise the answer is 其他.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .model import LinearTextModel, shipped_model, softmax
from .tokenize import data_text, normalize

CATEGORIES = ("物流", "质量", "服务态度", "退款售后", "价格优惠", "发票", "其他")
OTHER = "其他"
RULES_FILE = "complaint_rules.json"
MODEL_FILE = "complaint_model.npz"


@dataclass(frozen=True)
class ComplaintReason:
    category: str
    source: str  # "rules", "model" or "default"
    keywords: tuple[str, ...]
    confidence: float


def load_rules() -> tuple[dict[str, list[str]], list[str]]:
    """The shipped rules and category order."""
    data = json.loads(data_text(RULES_FILE))
    return {k: list(v) for k, v in data["rules"].items()}, list(data["order"])


def merge_rules(base: Mapping[str, Sequence[str]], extra: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """Base rules plus user keywords; unknown categories are rejected (typos would vanish)."""
    merged = {k: list(v) for k, v in base.items()}
    for cat, words in (extra or {}).items():
        if cat not in CATEGORIES:
            raise ValueError(f"未知的投诉类别: {cat}（可选: {'、'.join(CATEGORIES)}）")
        bucket = merged.setdefault(cat, [])
        for w in words:
            w = normalize(w)
            if w and w not in bucket:
                bucket.append(w)
    return merged


class ComplaintClassifier:
    """Rules + learned model; see the module docstring."""

    def __init__(self, rules: Mapping[str, Sequence[str]], order: Sequence[str],
                 model: LinearTextModel | None = None, min_model_confidence: float = 0.5) -> None:
        self.order = [c for c in order if c in CATEGORIES] + [c for c in CATEGORIES if c not in order]
        self.rules = {c: sorted({normalize(w) for w in rules.get(c, ()) if normalize(w)}) for c in self.order}
        self.model = model
        self.min_model_confidence = min_model_confidence

    def rule_hits(self, text: str) -> dict[str, list[str]]:
        """Keywords found per category (categories without hits omitted)."""
        norm = normalize(text)
        hits = {}
        for cat in self.order:
            found = [w for w in self.rules[cat] if w in norm]
            if found:
                hits[cat] = found
        return hits

    def _by_rules(self, text: str) -> ComplaintReason | None:
        hits = self.rule_hits(text)
        if not hits:
            return None
        scores = {c: sum(len(w) for w in ws) for c, ws in hits.items()}
        best = max(self.order, key=lambda c: (scores.get(c, 0), -self.order.index(c)))
        total = sum(scores.values())
        return ComplaintReason(best, "rules", tuple(hits[best]), scores[best] / total)

    def explain(self, texts: Sequence[str]) -> list[ComplaintReason]:
        """A reason per text with where it came from."""
        out: list[ComplaintReason | None] = [self._by_rules(t) for t in texts]
        rest = [i for i, r in enumerate(out) if r is None]
        if rest and self.model is not None:
            probs = softmax(self.model.logits([texts[i] for i in rest]))
            outputs = self.model.outputs
            for i, row in zip(rest, probs, strict=True):
                k = int(np.argmax(row))
                if outputs[k] != OTHER and row[k] >= self.min_model_confidence:
                    out[i] = ComplaintReason(outputs[k], "model", (), float(row[k]))
        return [r or ComplaintReason(OTHER, "default", (), 0.0) for r in out]

    def classify(self, texts: Sequence[str]) -> list[str]:
        return [r.category for r in self.explain(texts)]


_lock = threading.Lock()
_default: ComplaintClassifier | None = None
_extra_rules: dict[str, list[str]] = {}


def _shipped_model() -> LinearTextModel | None:
    if not resources.files("analytics").joinpath("data", MODEL_FILE).is_file():
        return None
    return shipped_model(MODEL_FILE)


def default_classifier() -> ComplaintClassifier:
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                base, order = load_rules()
                _default = ComplaintClassifier(merge_rules(base, _extra_rules), order, _shipped_model())
    return _default


def set_extra_rules(extra: Mapping[str, Sequence[str]] | None) -> None:
    """Replace the config-supplied keywords (validated) and rebuild the classifier."""
    global _default, _extra_rules
    base, _ = load_rules()
    merge_rules(base, extra)  # validate before changing anything
    with _lock:
        _extra_rules = {k: list(v) for k, v in (extra or {}).items()}
        _default = None
