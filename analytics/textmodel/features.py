"""Feature strings for the linear text models.

A text becomes a set of strings: jieba words (``w:``), word bigrams (``b:``),
words inside a negation scope (``n:``, so 满意 after 不 is a different feature from
满意), character n-grams (``c:``) which are robust to segmentation errors and typos,
and character bigrams inside a negation scope (``m:``: the rest of the clause after
不/没/无/别/未, the segmentation-free version of ``n:``).  The same function is used at training time and at inference time, so the
shipped vocabulary and the runtime features always agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .tokenize import CsTokenizer, normalize

FEATURE_VERSION = 1

NEGATORS = frozenset(
    {"不", "没", "没有", "别", "未", "无", "不是", "并不", "并没有", "从不", "从没", "毫无", "不太",
     "不够", "不怎么", "没什么", "不算", "不会", "不能", "不用", "非", "莫", "甭", "不要"}
)
_CLAUSE_END = frozenset("，。！？!?,.;；~…、:：\n")
_CLAUSE_SPLIT = re.compile(r"[，。！？!?,.;；~…、:：\s]+")
_NEG_CHAR = re.compile("[不没无别未]")


def char_ngrams(text: str, orders: Sequence[int]) -> list[str]:
    """Character n-grams of the text with spaces removed."""
    s = text.replace(" ", "")
    out = []
    for n in orders:
        out.extend("c:" + s[i : i + n] for i in range(len(s) - n + 1))
    return out


def negated_char_bigrams(norm: str) -> list[str]:
    """Character bigrams of each clause after its first negator (``m:`` features)."""
    out: list[str] = []
    for clause in _CLAUSE_SPLIT.split(norm):
        m = _NEG_CHAR.search(clause)
        if m is None:
            continue
        tail = clause[m.end() :]
        if len(tail) == 1:
            out.append("m:" + tail)
        out.extend("m:" + tail[i : i + 2] for i in range(len(tail) - 1))
    return out


def word_features(tokens: Sequence[str]) -> list[str]:
    """Words, word bigrams within a clause and negation-scoped words."""
    out: list[str] = []
    prev = ""
    negated = False
    for tok in tokens:
        if tok in _CLAUSE_END or tok.strip() == "":
            prev, negated = "", False
            if tok in "?!":
                out.append("p:" + tok)
            continue
        out.append("w:" + tok)
        if prev:
            out.append("b:" + prev + "_" + tok)
        if negated and tok not in NEGATORS:
            out.append("n:" + tok)
        if tok in NEGATORS:
            negated = True
        prev = tok
    return out


def text_features(text: str, tokenizer: CsTokenizer, char_orders: Sequence[int] = (1, 2, 3),
                  words: bool = True, hmm: bool = True, neg_scope: bool = False) -> list[str]:
    """All feature strings of one text (duplicates allowed; callers take the set)."""
    norm = normalize(text)
    feats = word_features(tokenizer.cut_normalized(norm, hmm)) if words else []
    if char_orders:
        feats.extend(char_ngrams(norm, char_orders))
    if neg_scope:
        feats.extend(negated_char_bigrams(norm))
    if norm.endswith(("?", "吗", "呢")):
        feats.append("x:question_end")
    return feats
