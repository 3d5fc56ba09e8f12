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
# jieba dictionary classes (first letter of the tag) of words that name no topic: numerals and measure
# words (一圈, 半天), pronouns (有人), adverbs (真的, 快点), conjunctions (不管), prepositions, particles,
# modal words, interjections, onomatopoeia, locatives (以后) and time words (平时).
FUNCTION_CLASSES = frozenset("mqrdcpuyeoft")


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
        self._function_words: frozenset[str] | None = None

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

    def in_dictionary(self, word: str) -> bool:
        """Whether ``word`` is a dictionary word (jieba's or ours), not one the HMM guessed."""
        return self._engine().FREQ.get(word, 0) > 0

    def function_words(self) -> frozenset[str]:
        """Words jieba's dictionary puts in a :data:`FUNCTION_CLASSES` class, minus our user dictionary's.
        Read once from the dictionary file (~20k of its 350k words; the full tag table would cost ~40 MB)."""
        if self._function_words is None:
            ours = set(_read_word_list("cs_userdict.txt")) | set(self._extra_words)
            words = set()
            with self._engine().get_dict_file() as f:
                for raw in f:
                    parts = raw.decode("utf-8").split()
                    if len(parts) >= 3 and parts[2][:1] in FUNCTION_CLASSES and parts[0] not in ours:
                        words.add(parts[0])
            self._function_words = frozenset(words)
        return self._function_words

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
