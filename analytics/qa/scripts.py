"""话术 that work (陪练 material): for the most frequent question clusters, which agent replies are followed
by a good rating and a resolution, and which are not.

A conversation's question is its first customer line that asks something (``analytics.faq.extract``); its
reply is the first agent line after it. Questions are clustered as paraphrases (``analytics.faq.cluster``,
the FAQ mining's clustering), replies inside a cluster by their normalised text
(greetings, particles and emoticons stripped, personal data masked), replies that differ only in a city,
a carrier or a tracking number merged (:func:`_reply_groups`), and each reply counted by what
followed: **good** = rated 4–5 and not marked unresolved; **not good** = rated 1–3 or marked unresolved;
conversations with neither a rating nor resolved = false are left out of the rates. See docs/qa.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select

from analytics.store.models import Conversation, Message

CONV, MSG = Conversation.__table__, Message.__table__
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


def _faq_cluster(questions: Sequence[str]) -> list[int]:
    from analytics.faq import cluster

    return cluster(questions)


def _is_question(text: str) -> str | None:
    """The normalised question in a customer line, or None for a greeting or an acknowledgement."""
    from analytics.faq import extract

    return extract(text)


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
class _Pair:
    question: str
    reply: str
    good: bool | None  # None: not judged


def _outcome(rating: int | None, resolved: bool | None) -> bool | None:
    if rating is not None:
        return rating >= 4 and resolved is not False
    return False if resolved is False else None


def _pairs(engine: Engine, start: datetime, end: datetime, limit: int) -> list[_Pair]:
    with engine.connect() as conn:
        heads = conn.execute(select(CONV.c.conversation_id, CONV.c.rating, CONV.c.resolved)
                             .where(CONV.c.started_at >= start, CONV.c.started_at < end)
                             .order_by(CONV.c.started_at.desc()).limit(limit)).all()
        outcome = {cid: _outcome(rating, resolved) for cid, rating, resolved in heads}
        lines: dict[str, list[tuple[str, str]]] = {}
        ids = list(outcome)
        for i in range(0, len(ids), _CHUNK):
            stmt = (select(MSG.c.conversation_id, MSG.c.sender, MSG.c.text)
                    .where(MSG.c.conversation_id.in_(ids[i:i + _CHUNK]), MSG.c.sender != "bot")
                    .order_by(MSG.c.conversation_id, MSG.c.sent_at, MSG.c.message_id))
            for cid, sender, text in conn.execute(stmt):
                lines.setdefault(cid, []).append((sender, text or ""))
    out = []
    for cid, own in lines.items():
        question = None
        for sender, text in own:
            if question is None and sender == "customer":
                question = _is_question(text)
            elif question is not None and sender == "agent":
                out.append(_Pair(question, normalise(text), outcome[cid]))
                break
    return out


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

    ``cluster_fn`` labels the questions (−1 = no cluster; default the FAQ clustering)."""
    pairs = _pairs(engine, start, end, limit)
    labels = cluster_fn([p.question for p in pairs]) if pairs else []
    members: dict[int, list[_Pair]] = {}
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
    return len(pairs), out
