"""Derived text fields at import time: message sentiment, complaint categories, review sentiment.

``analytics.text`` is imported lazily; while it is not available the columns stay NULL and one
warning is logged (a transitional guard until the text module lands).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
_warned: set[str] = set()


def _text_function(name: str, *, quiet: bool = False) -> Any:
    try:
        import analytics.text as text_module

        return getattr(text_module, name)
    except (ImportError, AttributeError) as exc:
        if not quiet and name not in _warned:
            _warned.add(name)
            log.warning("analytics.text.%s is not available (%s); leaving derived columns empty", name, exc)
        return None


def _enrich_messages(rows: list[dict[str, Any]]) -> None:
    """Score customer messages: ``sentiment`` in [0, 1] and ``sentiment_label`` pos/neu/neg."""
    customer = [r for r in rows if r["sender"] == "customer" and r["text"]]
    if not customer:
        return
    texts = [r["text"] for r in customer]
    analyse = _text_function("analyse_sentiment", quiet=True)  # score and label from one model pass
    if analyse is not None:
        for row, res in zip(customer, analyse(texts), strict=True):
            row["sentiment"], row["sentiment_label"] = float(res.score), res.label
        return
    score, label = _text_function("sentiment"), _text_function("sentiment_label")
    if score is None or label is None:
        return
    for row, value, name in zip(customer, score(texts), label(texts), strict=True):
        row["sentiment"], row["sentiment_label"] = float(value), name


def _enrich_complaints(rows: list[dict[str, Any]]) -> None:
    """Fill an empty ``category`` from the classifier and mark ``category_source``."""
    empty = [r for r in rows if not r.get("category")]
    classify = _text_function("classify_complaints")
    if not empty or classify is None:
        return
    for row, category in zip(empty, classify([r["text"] for r in empty]), strict=True):
        row["category"], row["category_source"] = category, "classifier"


def _enrich_reviews(rows: list[dict[str, Any]]) -> None:
    """Score review texts (``sentiment``), so bad reviews can be read by tone as well as by rating."""
    with_text = [r for r in rows if r.get("text")]
    score = _text_function("sentiment")
    if not with_text or score is None:
        return
    for row, value in zip(with_text, score([r["text"] for r in with_text]), strict=True):
        row["sentiment"] = float(value)


ENRICHERS = {"messages": _enrich_messages, "complaints": _enrich_complaints, "reviews": _enrich_reviews}


# [privacy] mask_at_rest: the free-text columns of each kind (plus every kind's ``attrs`` strings).
MASKED_COLUMNS = {"messages": ("text",), "complaints": ("text",), "reviews": ("text",), "returns": ("reason",)}


def mask_rows(kind: str, rows: list[dict[str, Any]]) -> None:
    """Replace personal data in the rows' free text (phone numbers, addresses, ID and bank card numbers,
    e-mail, names) with mask_pii's labels before anything is derived or stored; order ids stay."""
    from analytics.textmodel.pii import mask_at_rest

    columns = MASKED_COLUMNS.get(kind, ())
    for row in rows:
        keep = (row["order_id"],) if isinstance(row.get("order_id"), str) else ()
        for name in columns:
            if isinstance(row.get(name), str):
                row[name] = mask_at_rest(row[name], keep)
        if isinstance(row.get("attrs"), dict):
            row["attrs"] = {k: mask_at_rest(v, keep) if isinstance(v, str) else v for k, v in row["attrs"].items()}
