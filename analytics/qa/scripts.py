"""话术 that work (陪练 material): for the most frequent question clusters, which agent replies are followed
by a good rating and a resolution, and which are not.

A conversation's question is its first customer line that asks something; its reply is the first agent
line after it. Questions are grouped into clusters, replies inside a cluster by their normalised text
(greetings, particles and emoticons stripped, personal data masked), and each reply counted by what
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
MAX_CONVERSATIONS = 20_000  # the latest conversations of the window that are read
_CHUNK = 500

_LEAD = re.compile(r"^(?:亲亲|亲爱的|亲|您好呀|您好|你好|在吗|在的|请问|客服|麻烦问一下|hello|hi)[，,。！!~～\s]*", re.IGNORECASE)
_TAIL = re.compile(r"(?:\[[^\[\]]{1,4}\]|[哦呢呀啊吧～~。！!？?，,\s])+$")
_PUNCT = re.compile(r"[\s，,。！!？?～~、：:；;]+")


def normalise(text: str) -> str:
    """A line without greetings, trailing particles, emoticons and punctuation, personal data masked."""
    from analytics.text import mask_pii

    out = mask_pii(text.strip())
    for _ in range(3):
        stripped = _TAIL.sub("", _LEAD.sub("", out))
        if stripped == out:
            break
        out = stripped
    return _PUNCT.sub("，", out).strip("，")


def group_by_text(questions: Sequence[str]) -> list[int]:
    """A label per question: equal normalised texts share a label (−1 for an empty one)."""
    labels: dict[str, int] = {}
    out = []
    for q in questions:
        key = normalise(q)
        out.append(labels.setdefault(key, len(labels)) if key else -1)
    return out


def _is_question(text: str) -> str | None:
    """The question in a customer line, or None for a greeting or an acknowledgement."""
    norm = normalise(text)
    return norm if sum(1 for ch in norm if "\u4e00" <= ch <= "\u9fff") >= 3 else None


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


def scripts(engine: Engine, start: datetime, end: datetime, *, clusters: int = 5, replies: int = 50,
            cluster_fn: Callable[[Sequence[str]], list[int]] = group_by_text,
            limit: int = MAX_CONVERSATIONS) -> tuple[int, list[ClusterScripts]]:
    """(conversations read, the ``clusters`` largest question clusters with their ``replies`` most used replies).

    ``cluster_fn`` labels the questions (−1 = no cluster)."""
    pairs = _pairs(engine, start, end, limit)
    labels = cluster_fn([p.question for p in pairs]) if pairs else []
    members: dict[int, list[_Pair]] = {}
    for pair, label in zip(pairs, labels, strict=True):
        if label >= 0:
            members.setdefault(label, []).append(pair)
    ranked = sorted(members.values(), key=lambda m: -len(m))[:clusters]
    out = []
    for group in ranked:
        stats: dict[str, ReplyStats] = {}
        for p in group:
            s = stats.setdefault(p.reply, ReplyStats(p.reply))
            s.uses += 1
            if p.good is not None:
                s.judged += 1
                s.good += int(p.good)
        question = Counter(p.question for p in group).most_common(1)[0][0]
        judged = [p for p in group if p.good is not None]
        top = sorted(stats.values(), key=lambda s: (-s.uses, s.text))[:replies]
        out.append(ClusterScripts(question, len(group), len(judged), sum(1 for p in judged if p.good), top))
    return len(pairs), out
