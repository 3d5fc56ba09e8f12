"""Text analytics for customer-service chat (public API; the work is in ``analytics.textmodel``).

- :func:`sentiment` / :func:`sentiment_label` — batch sentiment from the shipped domain
  model (scores in [0, 1], 1 = positive; labels ``pos``/``neu``/``neg``, a plain
  question or statement is ``neu``).
- :func:`classify_complaints` — complaint reason per text: 物流, 质量, 服务态度, 退款售后,
  价格优惠, 发票, 其他 (keyword rules, then a learned model).
- :func:`mask_pii` — the one masking function for text leaving the database for a chat.
- :func:`tokenize` — jieba with the customer-service dictionary and stopwords (for 热词
  and FAQ mining); :func:`is_function_word` and :func:`in_dictionary` for keyword quality.
- :func:`configure` — apply ``[text] complaint_rules`` and ``[text] user_words``.

All functions are thread-safe and CPU-bound; call them from a worker thread when on
the event loop.  Models load lazily on first use and once per process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from analytics.textmodel import complaints as _complaints
from analytics.textmodel.complaints import CATEGORIES as COMPLAINT_CATEGORIES
from analytics.textmodel.complaints import ComplaintReason
from analytics.textmodel.pii import mask_pii
from analytics.textmodel.sentiment import SentimentResult, default_sentiment_model
from analytics.textmodel.tokenize import default_tokenizer

__all__ = [
    "COMPLAINT_CATEGORIES",
    "ComplaintReason",
    "SentimentResult",
    "analyse_sentiment",
    "classify_complaints",
    "configure",
    "explain_complaints",
    "in_dictionary",
    "is_function_word",
    "load_user_words",
    "mask_pii",
    "model_version",
    "sentiment",
    "sentiment_label",
    "tokenize",
]


def sentiment(texts: Sequence[str]) -> list[float]:
    """Sentiment score per text in [0, 1] (1 = positive, ~0.5 = neutral)."""
    return default_sentiment_model().scores(list(texts))


def sentiment_label(texts: Sequence[str]) -> list[str]:
    """``pos``, ``neu`` or ``neg`` per text."""
    return default_sentiment_model().labels(list(texts))


def analyse_sentiment(texts: Sequence[str]) -> list[SentimentResult]:
    """Score, label and the two head probabilities per text (one model pass)."""
    return default_sentiment_model().analyse(list(texts))


def classify_complaints(texts: Sequence[str]) -> list[str]:
    """Complaint category per text (one of :data:`COMPLAINT_CATEGORIES`)."""
    return _complaints.default_classifier().classify(list(texts))


def explain_complaints(texts: Sequence[str]) -> list[ComplaintReason]:
    """Category per text with the matched keywords and whether rules or the model decided."""
    return _complaints.default_classifier().explain(list(texts))


def tokenize(text: str) -> list[str]:
    """Content words of a text: jieba + customer-service dictionary, stopwords removed."""
    return default_tokenizer().tokenize(text)


def is_function_word(word: str) -> bool:
    """A dictionary numeral, measure word, pronoun, adverb, conjunction, particle, locative or time word."""
    return word in default_tokenizer().function_words()


def in_dictionary(word: str) -> bool:
    """A word the tokenizer knows (jieba's dictionary or ours), not a segment its HMM guessed."""
    return default_tokenizer().in_dictionary(word)


def load_user_words(words: Iterable[str]) -> None:
    """Add words (product names, shop jargon) to the tokenizer dictionary."""
    default_tokenizer().add_words(words)


def configure(complaint_rules: Mapping[str, Sequence[str]] | None = None,
              user_words: Sequence[str] | None = None) -> None:
    """Apply the ``[text]`` config section; raises ``ValueError`` for an unknown category."""
    _complaints.set_user_rules(complaint_rules)
    if user_words:
        load_user_words(user_words)


def model_version() -> str:
    """Version string of the shipped sentiment model."""
    return default_sentiment_model().version
