"""Three-way sentiment for customer-service chat from a two-head linear model.

Head ``polarity`` (logit of P(positive | the text is opinionated)) is trained on the
review corpora plus our labelled chat complaints/thanks; head ``neutral`` (logit of
P(the text is a plain question or statement)) on labelled chat text and real customer
questions.  They combine as

    score = 0.5 + (p_pos - 0.5) * (1 - p_neu)          in [0, 1], 1 = positive
    label = "neu" if p_neu >= neutral_threshold else ("pos" if p_pos >= 0.5 else "neg")

so a plain question sits near 0.5 and pulls neither the mean score nor the negative
share, while ``score >= 0.5`` is exactly the polarity head's decision (that is how the
binary review benchmarks are scored).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import LinearTextModel, shipped_model, sigmoid
from .tokenize import data_text, normalize

MODEL_FILE = "sentiment_model.npz"
NEUTRAL_FILE = "neutral_phrases.txt"
LABELS = ("neg", "neu", "pos")


@dataclass(frozen=True)
class SentimentResult:
    score: float
    label: str
    p_pos: float
    p_neu: float


_CLAUSES = re.compile(r"[\s,.!?;:~、，。！？；：…]+")
_TRAILING = "啊呀啦哈嘛呢哦~"


def load_neutral_phrases() -> frozenset[str]:
    """The shipped list of always-neutral short messages (``analytics/data/neutral_phrases.txt``)."""
    lines = (ln.split("#", 1)[0].strip() for ln in data_text(NEUTRAL_FILE).splitlines())
    return frozenset(normalize(ln) for ln in lines if ln)


def is_plain_neutral(text: str, phrases: frozenset[str]) -> bool:
    """True for messages without letters, or made only of listed acknowledgements/greetings."""
    norm = normalize(text)
    if not any(ch.isalpha() for ch in norm):
        return True
    clauses = [c for c in _CLAUSES.split(norm) if c]
    return all(c in phrases or c.rstrip(_TRAILING) in phrases for c in clauses)


def combine(p_pos: np.ndarray, p_neu: np.ndarray, neutral_threshold: float) -> tuple[np.ndarray, list[str]]:
    """Scores and labels from the two head probabilities (see the module docstring)."""
    score = 0.5 + (p_pos - 0.5) * (1.0 - p_neu)
    labels = [
        "neu" if n >= neutral_threshold else ("pos" if p >= 0.5 else "neg")
        for p, n in zip(p_pos.tolist(), p_neu.tolist(), strict=True)
    ]
    return score, labels


class SentimentModel:
    """Batch sentiment scoring over a :class:`LinearTextModel` with two outputs."""

    def __init__(self, model: LinearTextModel, neutral_phrases: frozenset[str] | None = None) -> None:
        outputs = model.outputs
        self.model = model
        self.neutral_phrases = load_neutral_phrases() if neutral_phrases is None else neutral_phrases
        self._pol = outputs.index("polarity")
        self._neu = outputs.index("neutral")
        self.neutral_threshold = float(model.meta.get("neutral_threshold", 0.5))

    @property
    def version(self) -> str:
        return str(self.model.meta.get("version", "unknown"))

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(p_pos, p_neu) per text; plain neutral messages (see ``is_plain_neutral``) are (0.5, 1.0)."""
        texts = list(texts)
        p_pos = np.full(len(texts), 0.5)
        p_neu = np.ones(len(texts))
        keep = [i for i, t in enumerate(texts) if not is_plain_neutral(t, self.neutral_phrases)]
        if keep:
            z = self.model.logits([texts[i] for i in keep])
            p_pos[keep] = sigmoid(z[:, self._pol])
            p_neu[keep] = sigmoid(z[:, self._neu])
        return p_pos, p_neu

    def analyse(self, texts: Sequence[str]) -> list[SentimentResult]:
        p_pos, p_neu = self.probabilities(texts)
        score, labels = combine(p_pos, p_neu, self.neutral_threshold)
        return [
            SentimentResult(float(s), lab, float(p), float(n))
            for s, lab, p, n in zip(score.tolist(), labels, p_pos.tolist(), p_neu.tolist(), strict=True)
        ]

    def scores(self, texts: Sequence[str]) -> list[float]:
        p_pos, p_neu = self.probabilities(texts)
        score, _ = combine(p_pos, p_neu, self.neutral_threshold)
        return [float(s) for s in score]

    def labels(self, texts: Sequence[str]) -> list[str]:
        p_pos, p_neu = self.probabilities(texts)
        return combine(p_pos, p_neu, self.neutral_threshold)[1]


_default: SentimentModel | None = None


def default_sentiment_model() -> SentimentModel:
    """The shipped model, loaded once per process."""
    global _default
    if _default is None:
        _default = SentimentModel(shipped_model(MODEL_FILE))
    return _default
