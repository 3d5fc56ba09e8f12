"""Complaint reasons: transparent keyword rules plus a learned model.

Categories (SPEC): 物流, 质量, 服务态度, 退款售后, 价格优惠, 发票, 其他.

Keyword rules live in ``analytics/data/complaint_rules.json``; a text's rule evidence
for a category is the summed length of its keywords found in the text (a longer
keyword is more specific), as a share of all matched keyword length.  The learned model
(``complaint_model.npz``: softmax regression over the sentiment model's features) gives
a probability per category.  The answer is

    argmax_c  p_model(c) + RULE_WEIGHT * rule_share(c)

(RULE_WEIGHT chosen on the dev sets, see docs/text.md), so rules break ties and decide
where the model is unsure.  Keywords the user adds in config (``[text]
complaint_rules``) are explicit instructions and win outright.  Without a model file
the rules decide alone (ties go to the earlier category in ``order``), 其他 if none
matches.  :meth:`ComplaintClassifier.explain` says which keywords matched and why.
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
RULE_WEIGHT = 0.25


@dataclass(frozen=True)
class ComplaintReason:
    category: str
    source: str  # "config", "rules", "model+rules", "model" or "default"
    keywords: tuple[str, ...]  # matched keywords of the chosen category
    confidence: float  # the winning score's share of all scores


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


def _clean(rules: Mapping[str, Sequence[str]] | None, order: Sequence[str]) -> dict[str, list[str]]:
    rules = rules or {}
    return {c: sorted({normalize(w) for w in rules.get(c, ()) if normalize(w)}) for c in order}


class ComplaintClassifier:
    """Rules + learned model; see the module docstring."""

    def __init__(self, rules: Mapping[str, Sequence[str]], order: Sequence[str],
                 model: LinearTextModel | None = None, user_rules: Mapping[str, Sequence[str]] | None = None,
                 rule_weight: float = RULE_WEIGHT) -> None:
        self.order = [c for c in order if c in CATEGORIES] + [c for c in CATEGORIES if c not in order]
        self.rules = _clean(rules, self.order)
        self.user_rules = _clean(user_rules, self.order)
        self.model = model
        self.rule_weight = rule_weight

    @staticmethod
    def _hits(rules: Mapping[str, list[str]], norm: str) -> dict[str, list[str]]:
        return {c: found for c, words in rules.items() if (found := [w for w in words if w in norm])}

    def rule_hits(self, text: str) -> dict[str, list[str]]:
        """Keywords found per category (categories without hits omitted)."""
        return self._hits(self.rules, normalize(text))

    def _rule_share(self, hits: Mapping[str, list[str]]) -> dict[str, float]:
        scores = {c: float(sum(len(w) for w in ws)) for c, ws in hits.items()}
        total = sum(scores.values())
        return {c: s / total for c, s in scores.items()} if total else {}

    def _best_by_rules(self, hits: Mapping[str, list[str]], source: str) -> ComplaintReason:
        share = self._rule_share(hits)
        best = max(self.order, key=lambda c: (share.get(c, 0.0), -self.order.index(c)))
        return ComplaintReason(best, source, tuple(hits[best]), share[best])

    def _decide(self, norm: str, probs: np.ndarray | None, outputs: list[str]) -> ComplaintReason:
        user = self._hits(self.user_rules, norm)
        if user:
            return self._best_by_rules(user, "config")
        hits = self._hits(self.rules, norm)
        if probs is None:
            return self._best_by_rules(hits, "rules") if hits else ComplaintReason(OTHER, "default", (), 0.0)
        share = self._rule_share(hits)
        scores = {c: float(p) + self.rule_weight * share.get(c, 0.0) for c, p in zip(outputs, probs, strict=True)}
        for c, s in share.items():
            scores.setdefault(c, self.rule_weight * s)
        best = max(scores, key=lambda c: (scores[c], -self.order.index(c)))
        source = "model+rules" if best in hits else "model"
        return ComplaintReason(best, source, tuple(hits.get(best, ())), scores[best] / sum(scores.values()))

    def explain(self, texts: Sequence[str]) -> list[ComplaintReason]:
        """A reason per text, with the matched keywords and what decided."""
        texts = list(texts)
        norms = [normalize(t) for t in texts]
        probs: np.ndarray | None = None
        outputs: list[str] = []
        if self.model is not None and texts:
            probs = softmax(self.model.logits(texts))
            outputs = self.model.outputs
        out = []
        for i, norm in enumerate(norms):
            if not any(ch.isalnum() for ch in norm):
                out.append(ComplaintReason(OTHER, "default", (), 0.0))
            else:
                out.append(self._decide(norm, None if probs is None else probs[i], outputs))
        return out

    def classify(self, texts: Sequence[str]) -> list[str]:
        return [r.category for r in self.explain(texts)]


_lock = threading.Lock()
_default: ComplaintClassifier | None = None
_user_rules: dict[str, list[str]] = {}


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
                _default = ComplaintClassifier(base, order, _shipped_model(), user_rules=_user_rules)
    return _default


def set_user_rules(extra: Mapping[str, Sequence[str]] | None) -> None:
    """Replace the config-supplied keywords (validated first) and rebuild the classifier."""
    global _default, _user_rules
    merge_rules({}, extra)  # raises ValueError on an unknown category, before changing anything
    with _lock:
        _user_rules = {k: list(v) for k, v in (extra or {}).items()}
        _default = None
