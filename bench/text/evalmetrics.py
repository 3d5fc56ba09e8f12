"""Plain-Python classification metrics for the text benchmarks (no scikit-learn needed)."""

from __future__ import annotations

from collections.abc import Sequence


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / max(len(gold), 1)


def per_class(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per class."""
    out = {}
    for c in classes:
        tp = sum(g == c and p == c for g, p in zip(gold, pred, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, pred, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[c] = {"precision": prec, "recall": rec, "f1": f1, "support": tp + fn}
    return out


def macro_f1(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> float:
    stats = per_class(gold, pred, classes)
    return sum(s["f1"] for s in stats.values()) / len(classes)
