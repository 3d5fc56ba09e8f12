"""话术 that work (陪练 material): for the most frequent question clusters, which agent replies are followed
by a good rating and a resolution, and which are not.

A conversation's question is its first customer line that asks something (``analytics.faq.extract``); its
reply is the first agent line after it. Questions are clustered as paraphrases (``analytics.faq.cluster``,
the FAQ mining's clustering), replies inside a cluster by their normalised text
(greetings, particles and emoticons stripped, personal data masked), replies that differ only in a city,
a carrier or a tracking number merged (:func:`_reply_groups`), and each reply counted by what
followed: **good** = rated 4–5 and not marked unresolved; **not good** = rated 1–3 or marked unresolved;
conversations with neither a rating nor resolved = false are left out of the rates. See docs/qa.md.

Each conversation's question and normalised reply are kept at import in ``qa_scripts`` (:func:`store`, from
``analytics.qa.maintain`` wherever the 质检 rows are kept: import batches, forget and retention, ``csbot
rebuild qa``), so a call reads the window's latest conversations joined to those rows and only clusters:
extracting and normalising at query time was 1.5 s of a 2.1 s answer at 5M conversations (docs/qa.md).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, Engine, delete, insert, select

from analytics.store.models import Conversation, Message
from analytics.store.qa import QAScript

CONV, SCRIPT = Conversation.__table__, QAScript.__table__
MAX_CONVERSATIONS = 10_000  # the latest conversations of the window that are read
REPLY_SIMILARITY = 0.5
_CHUNK = 500

_LEAD = re.compile(r"^(?:亲亲|亲爱的|亲|您好呀|您好|你好|在吗|在的|请问|客服|麻烦问一下|hello|hi)[，,。！!~～\s]*", re.IGNORECASE)
_TAIL = re.compile(r"(?:\[[^\[\]]{1,4}\]|[哦呢呀啊吧～~。！!？?，,\s])+$")
_PUNCT = re.compile(r"[\s，,。！!？?～~、：:；;]+")


def normalise(text: str) -> str:
    """A line without greetings, trailing particles, emoticons and punctuation, personal data masked."""
    from analytics.text import mask_pii

    out = text.strip()
    for _ in range(3):  # on the raw text, so a masked [运单号] at the end is not taken for an emoticon
        stripped = _TAIL.sub("", _LEAD.sub("", out))
        if stripped == out:
            break
        out = stripped
    return _PUNCT.sub("，", mask_pii(out)).strip("，")


@lru_cache(maxsize=16384)
def _normalised_reply(text: str) -> str:
    return normalise(text)


def _faq_cluster(questions: Sequence[str], words: Sequence[tuple[str, ...]] | None = None) -> list[int]:
    from analytics.faq import cluster

    return cluster(questions, words=words)


@lru_cache(maxsize=16384)
def _is_question(text: str) -> str | None:
    """The normalised question in a customer line, or None for a greeting or an acknowledgement."""
    from analytics.faq import extract

    return extract(text)


@lru_cache(maxsize=16384)
def question_words(question: str) -> str:
    """The jieba words of the question's canonical form, space-separated (what the clustering vectorises;
    kept so a call needs no tokenizer). Words never hold a space: the canonical form's are removed first."""
    from analytics.faq.similarity import analyse, words

    return " ".join(words(analyse(question)[0]))


def first_pair(lines: Iterable[tuple[str | None, str]]) -> tuple[str, str, str] | None:
    """(question, its words, normalised reply) of a conversation's lines (sender, text) in time order: the
    first customer line that asks something and the first agent line after it; None when either is missing."""
    question = None
    for sender, text in lines:
        if question is None and sender == "customer":
            question = _is_question(text or "")
        elif question is not None and sender == "agent":
            return question, question_words(question), _normalised_reply(text or "")
    return None


def store(conn: Connection, ids: Collection[str], pairs: Mapping[str, tuple[str, str, str]]) -> None:
    """Replace the ``qa_scripts`` rows of these conversations by ``pairs`` (those that have a pair)."""
    ids = sorted(set(ids))
    for i in range(0, len(ids), _CHUNK):
        conn.execute(delete(SCRIPT).where(SCRIPT.c.conversation_id.in_(ids[i:i + _CHUNK])))
    rows = [{"conversation_id": cid, "question": q, "words": w, "reply": r} for cid, (q, w, r) in pairs.items()]
    for i in range(0, len(rows), 2000):
        conn.execute(insert(SCRIPT), rows[i:i + 2000])


def backfill(conn: Connection, page: int = 5000) -> int:
    """Fill ``qa_scripts`` for every stored conversation from its messages, ``page`` conversations at a time
    (migration 0017 on a database imported before it; the scale bench's directly loaded year). Replaces
    the rows it writes; returns how many conversations have a pair."""
    msg = Message.__table__
    last, filled = None, 0
    while True:
        stmt = select(CONV.c.conversation_id).order_by(CONV.c.conversation_id).limit(page)
        if last is not None:
            stmt = stmt.where(CONV.c.conversation_id > last)
        ids = list(conn.execute(stmt).scalars())
        if not ids:
            return filled
        last = ids[-1]
        lines: dict[str, list[tuple[str, str]]] = {}
        for i in range(0, len(ids), _CHUNK):
            rows = conn.execute(select(msg.c.conversation_id, msg.c.sender, msg.c.text)
                                .where(msg.c.conversation_id.in_(ids[i:i + _CHUNK]), msg.c.sender != "bot")
                                .order_by(msg.c.conversation_id, msg.c.sent_at, msg.c.message_id))
            for cid, sender, text in rows:
                lines.setdefault(cid, []).append((sender, text or ""))
        pairs = {cid: pair for cid, own in lines.items() if (pair := first_pair(own)) is not None}
        store(conn, ids, pairs)
        filled += len(pairs)


@dataclass
class ReplyStats:
    text: str
    uses: int = 0
    judged: int = 0
    good: int = 0

    @property
    def good_rate(self) -> float | None:
        return self.good / self.judged if self.judged else None


@dataclass
class ClusterScripts:
    question: str  # the cluster's most frequent question
    conversations: int
    judged: int
    good: int
    replies: list[ReplyStats] = field(default_factory=list)  # by uses

    @property
    def good_rate(self) -> float | None:
        return self.good / self.judged if self.judged else None


@dataclass(frozen=True)
class Pair:
    question: str
    reply: str
    good: bool | None  # None: not judged


def outcome(rating: int | None, resolved: bool | None) -> bool | None:
    """True: rated 4–5 and not marked unresolved; False: rated 1–3 or marked unresolved; None: neither."""
    if rating is not None:
        return rating >= 4 and resolved is not False
    return False if resolved is False else None


def _stored(engine: Engine, start: datetime, end: datetime, limit: int) -> tuple[list[Pair], list[tuple[str, ...]]]:
    """The pairs of the window's latest ``limit`` conversations and their questions' words, in the clustering's
    input order (its labels, hence which of two equal clusters ranks first, depend on it): from the latest
    conversation back, a run of ``_CHUNK`` conversations at a time, each run in conversation-id order (code
    points) — the order the messages used to be read in, so ties fall as they did."""
    latest = (select(CONV.c.conversation_id, CONV.c.started_at, CONV.c.rating, CONV.c.resolved)
              .where(CONV.c.started_at >= start, CONV.c.started_at < end)
              .order_by(CONV.c.started_at.desc(), CONV.c.conversation_id).limit(limit).subquery())
    stmt = (select(latest.c.conversation_id, latest.c.started_at, SCRIPT.c.question, SCRIPT.c.words, SCRIPT.c.reply,
                   latest.c.rating, latest.c.resolved)
            .select_from(latest.outerjoin(SCRIPT, SCRIPT.c.conversation_id == latest.c.conversation_id)))
    with engine.connect() as conn:
        rows = sorted(conn.execute(stmt).all(), key=lambda row: row[0])
    rows.sort(key=lambda row: row[1], reverse=True)  # stable: equal times stay in id order
    ordered = [row for i in range(0, len(rows), _CHUNK) for row in sorted(rows[i:i + _CHUNK], key=lambda row: row[0])]
    kept = [row for row in ordered if row[2] is not None]
    return ([Pair(q, r, outcome(rating, resolved)) for _, _, q, _, r, rating, resolved in kept],
            [tuple(w.split()) for _, _, _, w, _, _, _ in kept])


def _pairs(engine: Engine, start: datetime, end: datetime, limit: int) -> list[Pair]:
    return _stored(engine, start, end, limit)[0]


def _bigrams(text: str) -> frozenset[str]:
    from analytics.faq import normalize

    norm = normalize(text)
    return frozenset(norm[i:i + 2] for i in range(len(norm) - 1)) or frozenset({norm})


def _reply_groups(replies: list[str], similarity: float = REPLY_SIMILARITY) -> list[str]:
    """A group key per reply: replies whose character bigrams (after the FAQ normalisation, which turns
    numbers into placeholders) overlap by at least ``similarity`` (Jaccard) join the most used reply they
    resemble — 您的快递是中通…目前在西安 and 您的快递是圆通…目前在郑州 are one 话术, 付款后48小时内发出 and
    一般付款后48小时内发货，预售的按页面时间发 are two."""
    leaders: list[tuple[str, frozenset[str]]] = []
    key_of: dict[str, str] = {}
    for reply, _ in Counter(replies).most_common():
        grams = _bigrams(reply)
        for leader, lgrams in leaders:
            if len(grams & lgrams) >= similarity * len(grams | lgrams):
                key_of[reply] = leader
                break
        else:
            leaders.append((reply, grams))
            key_of[reply] = reply
    return [key_of[r] for r in replies]


def scripts(engine: Engine, start: datetime, end: datetime, *, clusters: int = 5, replies: int = 50,
            cluster_fn: Callable[[Sequence[str]], list[int]] = _faq_cluster,
            limit: int = MAX_CONVERSATIONS) -> tuple[int, list[ClusterScripts]]:
    """(conversations read, the ``clusters`` largest question clusters with their ``replies`` most used replies).

    Reads the window's latest ``limit`` conversations that have a question and a reply (``qa_scripts``);
    ``cluster_fn`` labels the questions (−1 = no cluster; default the FAQ clustering)."""
    pairs, words = _stored(engine, start, end, limit)
    return len(pairs), summarise(pairs, clusters=clusters, replies=replies, cluster_fn=cluster_fn, words=words)


def summarise(pairs: Sequence[Pair], *, clusters: int = 5, replies: int = 50,
              cluster_fn: Callable[[Sequence[str]], list[int]] = _faq_cluster,
              words: Sequence[tuple[str, ...]] | None = None) -> list[ClusterScripts]:
    """The ``clusters`` largest question clusters of these pairs (in this order) with their replies' counts
    (``words``: the questions' stored words, handed to the default clustering so it loads no tokenizer)."""
    questions = [p.question for p in pairs]
    if not pairs:
        labels = []
    elif words is not None and cluster_fn is _faq_cluster:
        labels = _faq_cluster(questions, words)
    else:
        labels = cluster_fn(questions)
    members: dict[int, list[Pair]] = {}
    for pair, label in zip(pairs, labels, strict=True):
        if label >= 0:
            members.setdefault(label, []).append(pair)
    ranked = sorted(members.values(), key=lambda m: -len(m))[:clusters]
    out = []
    for group in ranked:
        keys = _reply_groups([p.reply for p in group])
        stats: dict[str, ReplyStats] = {}
        for p, key in zip(group, keys, strict=True):
            s = stats.setdefault(key, ReplyStats(key))
            s.uses += 1
            if p.good is not None:
                s.judged += 1
                s.good += int(p.good)
        question = Counter(p.question for p in group).most_common(1)[0][0]
        judged = [p for p in group if p.good is not None]
        top = sorted(stats.values(), key=lambda s: (-s.uses, s.text))[:replies]
        out.append(ClusterScripts(question, len(group), len(judged), sum(1 for p in judged if p.good), top))
    return out
