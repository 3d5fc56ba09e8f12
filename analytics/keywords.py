"""热词: keywords of customer messages (and of bad reviews), weighted against the whole history.

Texts are tokenized once, when they are imported (``before_batch``/``after_batch`` add what a batch
brings and subtract what it replaces, so re-imports and late rows stay exact), into per-hour document counts
(``term_hours``: how many documents of that hour contain the term). A query then reads
counts, never texts, so /热词 over a year costs the same as over a day.

Score of term t in window W: ``share_W(t) × (ln((1 + D_all) / (1 + D_t)) + 1)`` — the share of W's
documents containing t times the smoothed inverse document frequency (scikit-learn's definition)
over all history, where each day of history is one document (D_all days with texts, D_t days on
which t occurs). A word customers use every day gets the minimum weight 1, a word that comes and
goes up to ~ln(D_all) + 1, so a burst of "掉绒" outranks a steady "快递" of similar size; generic
filler is removed by the stopword list. Rising = share at least doubled vs the comparison window.
Texts are masked (analytics.text.mask_pii) before tokenizing, so addresses and names never surface.

A listed keyword must be a word (:func:`is_keyword`, applied when a list is read, so stored counts need
no rebuild): not a filler (``data/keyword_fillers.txt``: 还有, 好滴 …), not a function word of jieba's dictionary
(numerals and measure words such as 一圈, pronouns, adverbs, conjunctions, time words), not a verb with its
result (送到, 洗完), and, for a segment
the tokenizer only guessed, not a numeral + measure word, a degree adverb + one character (还慢) or a
phrase ending in a particle (买的). The top ``limit`` are chosen by score and listed by document count,
the number every reply shows next to the word.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from analytics.store.keyword_models import TermHour
from analytics.store.models import Message, Review
from analytics.store.sqlfunc import bucket_to_datetime, day_bucket, hour_bucket

TERMS = TermHour.__table__
SOURCES = ("message", "bad_review")
_PLACEHOLDER = re.compile(r"\[[^\[\]]{1,10}\]")  # what mask_pii leaves: [手机号], [地址] …
TOTAL = ""  # the row with term '' holds the number of documents in the hour
MAX_TERM_LEN = 32
MIN_DOCS = 3  # a term in fewer documents of the window is noise, not a trend
# Shapes of segments jieba's HMM guesses that are pieces of a phrase, not words.
_NUMERAL_MEASURE = re.compile(r"^[一二两三四五六七八九十百千几半每这那哪某]\w$")
_DEGREE_LEAD = frozenset("还很太都也就又再才更最挺真蛮超")
_PARTICLE_END = frozenset("的了吗呢吧啊呀哦嘛么着过")
# A verb with its result (送到, 洗完, 送来) is half a phrase; 没到 / 未到 / 迟到 (not or late arrived) are not.
_RESULT_END, _RESULT_KEEP = frozenset("完到来去"), frozenset("没未迟不")


@functools.cache
def keyword_stopwords() -> frozenset[str]:
    """Dropped when texts are counted (stored counts never hold them)."""
    return _word_file("keyword_stopwords.txt")


@functools.cache
def keyword_fillers() -> frozenset[str]:
    """Fillers dropped when a list is read (:func:`is_keyword`), so stored counts need no rebuild."""
    return _word_file("keyword_fillers.txt")


def _word_file(name: str) -> frozenset[str]:
    lines = (Path(__file__).with_name("data") / name).read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def is_keyword(term: str) -> bool:
    """Whether ``term`` may be listed as a keyword: a word that names something (see the module docstring)."""
    from analytics.text import in_dictionary, is_function_word

    low = term.lower()
    if len(low) < 2 or low in keyword_stopwords() or low in keyword_fillers() or len(set(low)) == 1:  # 哈哈
        return False
    if is_function_word(low) or (len(low) == 2 and low[1] in _RESULT_END and low[0] not in _RESULT_KEEP):
        return False
    if in_dictionary(low) or not any("\u4e00" <= c <= "\u9fff" for c in low):
        return True
    if _NUMERAL_MEASURE.match(low) or low[-1] in _PARTICLE_END:
        return False
    return not (len(low) == 2 and low[0] in _DEGREE_LEAD)


@dataclass
class TermScore:
    term: str
    docs: int
    share: float
    prev_share: float
    score: float

    @property
    def rising(self) -> bool:
        return self.docs >= 3 and self.share >= 2 * self.prev_share


def _texts_stmt(source: str, start: datetime, end: datetime):  # noqa: ANN202
    if source == "message":
        m = Message.__table__
        return select(m.c.sent_at, m.c.text).where(m.c.sender == "customer", m.c.sent_at >= start, m.c.sent_at < end)
    r = Review.__table__
    return select(r.c.created_at, r.c.text).where(r.c.rating <= 2, r.c.text.is_not(None),
                                                  r.c.created_at >= start, r.c.created_at < end)


def _hour(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _spans(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Merge hour starts into contiguous [start, end) spans so refreshing reads each text once."""
    spans: list[list[datetime]] = []
    for h in sorted({_hour(h) for h in hours}):
        if spans and spans[-1][1] == h:
            spans[-1][1] = h + timedelta(hours=1)
        else:
            spans.append([h, h + timedelta(hours=1)])
    return [(a, b) for a, b in spans]


def _terms(text: str | None) -> set[str]:
    from analytics.text import mask_pii, tokenize

    stop = keyword_stopwords()
    clean = _PLACEHOLDER.sub(" ", mask_pii(text or ""))
    return {t for t in tokenize(clean) if 1 < len(t) <= MAX_TERM_LEN and t.lower() not in stop}


def document_keywords(text: str | None) -> set[str]:
    """The keywords one text contributes (each once, personal data masked): what 热词 counts, for a caller
    counting a handful of texts itself (an alert's complaints)."""
    return {t for t in _terms(text) if is_keyword(t)}


# -- maintenance at import: add what a batch brings, subtract what it replaces -----------------------
_KIND_SOURCE = {"messages": "message", "reviews": "bad_review"}


def _counts_source(source: str, row: Mapping[str, Any]) -> tuple[datetime, str | None] | None:
    """(time, text) when the row is a document of ``source`` (a customer message, a bad review)."""
    if source == "message":
        return (row["sent_at"], row.get("text")) if row.get("sender") == "customer" else None
    rating = row.get("rating")
    return (row["created_at"], row.get("text")) if rating is not None and rating <= 2 and row.get("text") else None


def _contributions(source: str, rows: Iterable[Mapping[str, Any]]) -> Counter[tuple[datetime, str]]:
    out: Counter[tuple[datetime, str]] = Counter()
    for row in rows:
        doc = _counts_source(source, row)
        if doc is None:
            continue
        hour = _hour(doc[0])
        out[(hour, TOTAL)] += 1
        out.update((hour, t) for t in _terms(doc[1]))
    return out


def before_batch(conn: Connection, kind: str, rows: list[Mapping[str, Any]]) -> Counter[tuple[datetime, str]] | None:
    """Inside the batch transaction, before the upsert: the term counts of the rows about to be replaced."""
    source = _KIND_SOURCE.get(kind)
    if source is None:
        return None
    table = Message.__table__ if kind == "messages" else Review.__table__
    id_col = table.c.message_id if kind == "messages" else table.c.review_id
    ids = list({row[id_col.name] for row in rows})
    old = []
    for i in range(0, len(ids), 5000):
        old += [dict(r._mapping) for r in conn.execute(select(table).where(id_col.in_(ids[i:i + 5000])))]
    return _contributions(source, old)


def after_batch(conn: Connection, kind: str, rows: list[Mapping[str, Any]],
                old: Counter[tuple[datetime, str]] | None) -> None:
    """Inside the batch transaction, after the upsert: apply (new − old) to ``term_hours``."""
    source = _KIND_SOURCE.get(kind)
    if source is None or old is None:
        return
    id_name = "message_id" if kind == "messages" else "review_id"
    latest = {row[id_name]: row for row in rows}  # an id repeated in a batch is written once, last wins
    delta = _contributions(source, latest.values())
    delta.subtract(old)
    changes = [{"source": source, "hour": h, "term": t, "docs": n} for (h, t), n in delta.items() if n]
    if not changes:
        return
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert_fn(TERMS)
    stmt = stmt.on_conflict_do_update(index_elements=["source", "hour", "term"],
                                      set_={"docs": TERMS.c.docs + stmt.excluded.docs})
    for i in range(0, len(changes), 5000):
        conn.execute(stmt, changes[i:i + 5000])
    hours = sorted({c["hour"] for c in changes})
    conn.execute(delete(TERMS).where(TERMS.c.source == source, TERMS.c.docs <= 0,
                                     TERMS.c.hour >= hours[0], TERMS.c.hour <= hours[-1]))


def refresh(conn: Connection, source: str, hours: Iterable[datetime]) -> None:
    """Recount the given UTC hours of ``source`` from the raw texts (idempotent; handles re-imports)."""
    for start, end in _spans(hours):
        conn.execute(delete(TERMS).where(TERMS.c.source == source, TERMS.c.hour >= start, TERMS.c.hour < end))
        counts: dict[datetime, Counter[str]] = {}
        for at, text in conn.execute(_texts_stmt(source, start, end)):
            bucket = counts.setdefault(_hour(at), Counter())
            bucket[TOTAL] += 1
            bucket.update(_terms(text))
        rows = [{"source": source, "hour": h, "term": t, "docs": n} for h, c in counts.items() for t, n in c.items()]
        for i in range(0, len(rows), 5000):
            conn.execute(insert(TERMS), rows[i:i + 5000])


def rebuild(engine: Engine, source: str | None = None) -> None:
    """Recount every hour that has texts (``csbot keywords rebuild``)."""
    for src in [source] if source else SOURCES:
        with engine.begin() as conn:
            conn.execute(delete(TERMS).where(TERMS.c.source == src))
            col = _texts_stmt(src, datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)).selected_columns[0]
            bucket = hour_bucket(col, engine.dialect.name)
            stmt = _texts_stmt(src, datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
            hours = [bucket_to_datetime(v) for v in conn.execute(stmt.with_only_columns(bucket).distinct()).scalars()]
            refresh(conn, src, hours)


def _window_counts(conn: Connection, source: str, start: datetime, end: datetime) -> tuple[int, Counter[str]]:
    """Document counts per term over the hours touching [start, end)."""
    stmt = (select(TERMS.c.term, func.sum(TERMS.c.docs))
            .where(TERMS.c.source == source, TERMS.c.hour >= _hour(start), TERMS.c.hour < end)
            .group_by(TERMS.c.term))
    counts = Counter({t: int(n) for t, n in conn.execute(stmt)})
    return counts.pop(TOTAL, 0), counts


def top_terms(engine: Engine, source: str, start: datetime, end: datetime, prev_start: datetime, prev_end: datetime,
              limit: int = 10, candidates: int = 300, word_filter: Callable[[str], bool] | None = is_keyword,
              ) -> tuple[int, list[TermScore]]:
    """(documents in the window, the top ``limit`` terms by share × daily IDF, listed by document count).

    ``word_filter`` keeps the terms that may be listed (``None``: every stored term, as before the
    filter existed; bench/text/keyword_quality.py measures the difference)."""
    with engine.connect() as conn:
        n, counts = _window_counts(conn, source, start, end)
        if not n:
            return 0, []
        n_prev, prev = _window_counts(conn, source, prev_start, prev_end)
        ranked = (t for t, _ in counts.most_common())
        pool = [t for t in ranked if word_filter is None or word_filter(t)][:candidates]
        day = day_bucket(TERMS.c.hour, conn.dialect.name)
        stmt = (select(TERMS.c.term, func.count(func.distinct(day)))
                .where(TERMS.c.source == source, TERMS.c.term.in_(pool + [TOTAL])).group_by(TERMS.c.term))
        days_with = {t: int(v) for t, v in conn.execute(stmt)}
    days_all = days_with.pop(TOTAL, 1)
    scored = []
    for term in pool:
        if counts[term] < MIN_DOCS:
            continue
        share = counts[term] / n
        idf = math.log((1 + days_all) / (1 + days_with.get(term, 0))) + 1.0
        scored.append(TermScore(term, counts[term], share, prev[term] / n_prev if n_prev else 0.0, share * idf))
    scored.sort(key=lambda s: (-s.score, s.term))
    return n, sorted(scored[:limit], key=lambda s: (-s.docs, s.term))
