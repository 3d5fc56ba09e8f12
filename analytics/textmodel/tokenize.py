"""Customer-service tokenizer: jieba with our user dictionary, stopwords, one-time init.

One private ``jieba.Tokenizer`` instance (the global jieba dictionary is left alone),
initialised lazily under a lock, so importing :mod:`analytics.text` costs nothing and
concurrent first calls from worker threads initialise it exactly once.  Segmentations
are cached (LRU) because chat text repeats a lot (greetings, "在吗", "好的谢谢"), and the
cache is dropped whenever the dictionary changes.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import jieba

log = logging.getLogger(__name__)

_CACHE_SIZE = 65536
_SPACE_RE = re.compile(r"\s+")
# A token that is only punctuation, symbols or digits carries no topic.
_NOISE_RE = re.compile(r"^[\W_\d]+$")


def data_text(name: str) -> str:
    """Text of a shipped resource file under ``analytics/data``."""
    return resources.files("analytics").joinpath("data", name).read_text(encoding="utf-8")


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower-case, whitespace collapsed to one space."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _SPACE_RE.sub(" ", text).strip()


def _read_word_list(name: str) -> list[str]:
    words = []
    for line in data_text(name).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.append(line.split()[0])
    return words


class CsTokenizer:
    """jieba segmenter with the customer-service dictionary; thread-safe and cached."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._jieba: jieba.Tokenizer | None = None
        self._extra_words: list[str] = []
        self.stopwords: frozenset[str] = frozenset(_read_word_list("stopwords.txt"))
        self._cut_cached = lru_cache(maxsize=_CACHE_SIZE)(self._cut_uncached)

    def _engine(self) -> jieba.Tokenizer:
        engine = self._jieba
        if engine is not None:
            return engine
        with self._lock:
            if self._jieba is None:
                engine = jieba.Tokenizer()
                engine.initialize()
                for word in _read_word_list("cs_userdict.txt") + self._extra_words:
                    engine.add_word(word)
                self._jieba = engine
                log.debug("jieba initialised with the customer-service dictionary")
            return self._jieba

    def add_words(self, words: Iterable[str]) -> None:
        """Add domain words (product names, jargon) to the dictionary."""
        new = [w.strip() for w in words if w and w.strip()]
        if not new:
            return
        with self._lock:
            self._extra_words.extend(new)
            if self._jieba is not None:
                for word in new:
                    self._jieba.add_word(word)
            self._cut_cached.cache_clear()

    def _cut_uncached(self, text: str, hmm: bool) -> tuple[str, ...]:
        engine = self._engine()
        with self._lock:
            return tuple(t for t in engine.lcut(text, HMM=hmm) if t.strip())

    def cut(self, text: str, hmm: bool = True) -> tuple[str, ...]:
        """All tokens of the normalised text (punctuation kept, spaces dropped).

        ``hmm=True`` lets jieba guess words missing from the dictionary (better for hot
        words); ``hmm=False`` is about twice as fast (the sentiment features use it).
        """
        return self._cut_cached(normalize(text), hmm)

    def cut_normalized(self, norm: str, hmm: bool = True) -> tuple[str, ...]:
        """Like :meth:`cut` for text already passed through :func:`normalize`."""
        return self._cut_cached(norm, hmm)

    def tokenize(self, text: str) -> list[str]:
        """Content tokens: stopwords, punctuation and bare numbers removed."""
        stop = self.stopwords
        return [t for t in self.cut(text) if t not in stop and not _NOISE_RE.match(t)]


_default: CsTokenizer | None = None
_default_lock = threading.Lock()


def default_tokenizer() -> CsTokenizer:
    """The process-wide tokenizer (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = CsTokenizer()
    return _default
