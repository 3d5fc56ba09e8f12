"""Ranked knowledge-base / auto-reply suggestions from the questions customers keep asking. Pure.

:func:`suggest` reads, through the ``Connection`` it is given, the customer and agent messages of a window
``[start, end)`` and of its comparison period ``[prev_start, prev_end)`` (equal length: ``近30天``'s 30 days
before, a to-date window's same elapsed span), with their conversations' outcome:

1. every customer message is run through :func:`analytics.faq.extract.extract`; a question's **reply**
   is the first agent message after it in the same conversation;
2. the questions of both periods are clustered together — with the kept state when there is one (the
   :class:`analytics.faq.index.ClusterIndex` and the label of every question text seen so far: only texts
   never seen are assigned, joining the clusters found before; the history is not clustered again), else
   by fitting a new index; the new state is returned for the caller to keep;
3. per cluster, over the window: **questions**, **distinct customers** (the conversation's customer_id,
   else the conversation itself), **growth** against the period before (``None`` when it had none),
   the **share of its conversations that ended unresolved or badly rated** (resolved = false or rating
   ≤ 2, among its conversations with either known), 3–5 **typical phrasings** (the most asked distinct
   texts, masked), and the **candidate answer** (:mod:`analytics.faq.answers`) among the replies that
   followed its questions in resolved, well-rated (rating ≥ 4) conversations of both periods — when
   fewer than two such exist, resolved conversations not badly rated; personal data masked with
   :func:`analytics.textmodel.pii.mask_pii`;
4. a cluster is **covered** when a knowledge-base question (``kb_entries``, imported kind ``kb`` or
   accepted from the chat) is one of its questions or is assigned to it by the index. Covered clusters
   are not proposed unless their bad share reaches ``review_bad_share``: then they are, as 答案需复查;
5. clusters with at least ``min_questions`` questions in the window, by questions, then customers.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, and_, select

from analytics.faq import answers
from analytics.faq.extract import extract, normalize
from analytics.faq.index import ClusterIndex
from analytics.store.models import Conversation, KBEntry, Message
from analytics.textmodel.pii import mask_pii

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# The kept extractions are valid for this version of extract.py only.
EXTRACT_VERSION = hashlib.sha256(Path(sys.modules[extract.__module__].__file__ or "").read_bytes()).hexdigest()[:16]

# The category an entry is filed under (export column 分类), by the first table row whose words occur.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("发票", ("发票", "开票", "抬头", "税号")),
    ("退款", ("退款", "退钱", "到账", "退回")),
    ("退换货", ("退货", "换货", "退换", "七天无理由", "无理由", "运费险", "寄回")),
    ("价保", ("差价", "价保", "降价", "补差")),
    ("优惠", ("优惠", "券", "满减", "活动", "便宜", "折扣", "赠品")),
    ("物流", ("物流", "快递", "包裹", "运单", "到货", "送到", "几天到", "签收", "顺丰", "派送", "地址", "包邮")),
    ("发货", ("发货", "发出", "发走", "寄出")),
    ("尺码", ("尺码", "码", "尺寸", "大小", "偏大", "偏小", "身高", "体重", "〈尺码〉")),
    ("售后", ("质量", "坏", "破", "掉色", "起球", "瑕疵", "保修", "质保", "维修")),
    ("商品", ("有货", "库存", "现货", "材质", "面料", "颜色", "款", "洗")),
)


@dataclass(frozen=True)
class Params:
    """Knobs of :func:`suggest` (``[faq]`` in the config; defaults documented in docs/faq.md)."""

    min_questions: int = 10
    phrasings: int = 5
    quick_similarity: float = 0.4
    quick_max_chars: int = 60
    review_bad_share: float = 0.3


@dataclass(frozen=True)
class Asked:
    """One customer question found in a message."""

    question: str  # normalised (analytics.faq.extract)
    text: str  # the message as sent (masked only when shown: see _phrasings)
    conversation_id: str
    customer: str
    current: bool  # in the window (else in the period before it)
    reply: str | None  # the first agent reply after it, masked
    resolved: bool | None
    rating: int | None


@dataclass
class Suggestion:
    """One cluster's figures and its proposal (``kind`` 快捷回复 / 知识库文章 / 答案需复查)."""

    label: int
    question: str  # the most asked normalised phrasing: how the chat workflow finds the cluster again
    members: frozenset[str]  # every normalised question of the cluster (both periods)
    questions: int
    customers: int
    previous: int
    growth: float | None
    conversations: int  # of its conversations in the window, those whose outcome is known
    bad: int
    phrasings: list[str]
    similar: list[str]  # other normalised phrasings, most asked first, without placeholders (export column)
    answer: str | None
    answer_basis: str  # which conversations the answer comes from
    pick: answers.AnswerPick | None
    kind: str
    category: str
    covered_by: str | None = None  # kb_id of the entry that covers it

    @property
    def bad_share(self) -> float | None:
        return self.bad / self.conversations if self.conversations else None


@dataclass
class Result:
    suggestions: list[Suggestion]
    state: dict  # {"index": ClusterIndex.to_state(), "labels": {question: label}, "extracted": {text_key: question}, …}
    questions: int  # questions found in both periods
    current_questions: int
    clusters: int
    covered: list[Suggestion] = field(default_factory=list)  # covered and not badly rated: not proposed
    fitted: bool = False  # True when the index was fitted anew (no kept state)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def read_questions(conn: Connection, prev_start: datetime, prev_end: datetime, start: datetime,
                   end: datetime, extracted: dict[str, str | None] | None = None) -> list[Asked]:
    """The customer questions of ``[prev_start, prev_end)`` and ``[start, end)`` with the agent reply that
    followed each (a reply may come after the period's end: it is read up to ``end``).

    ``extracted`` (:func:`text_key` of a customer text → its question or None) is used and filled: the texts
    a run met are what the next run would extract again."""
    m, c = Message.__table__.c, Conversation.__table__.c
    stmt = (select(m.conversation_id, m.sender, m.text, m.sent_at, c.customer_id, c.resolved, c.rating)
            .select_from(Message.__table__.outerjoin(Conversation.__table__, c.conversation_id == m.conversation_id))
            .where(and_(m.sent_at >= _utc(prev_start), m.sent_at < _utc(end), m.sender.in_(("customer", "agent"))))
            .order_by(m.conversation_id, m.sent_at, m.message_id))
    start_utc, prev_end_utc = _utc(start), _utc(prev_end)
    # Customers and agents repeat themselves word for word: each distinct text is extracted and masked once.
    known = extracted if extracted is not None else {}
    seen_q: dict[str, str | None] = {}
    seen_r: dict[str, str | None] = {}
    out: list[Asked] = []
    pending: list[dict] = []  # questions of the current conversation still waiting for a reply
    conv = None
    for row in conn.execute(stmt):
        if row.conversation_id != conv:
            out += [Asked(reply=None, **p) for p in pending]
            pending, conv = [], row.conversation_id
        if row.sender == "agent":
            if not pending:
                continue  # a reply to no question (a welcome, a follow-up): never masked, never used
            text = row.text or ""
            if text not in seen_r:
                seen_r[text] = mask_pii(text).strip() or None
            reply = seen_r[text]
            out += [Asked(reply=reply, **p) for p in pending]
            pending = []
            continue
        sent = row.sent_at if row.sent_at.tzinfo else row.sent_at.replace(tzinfo=UTC)
        if prev_end_utc <= sent < start_utc:
            continue  # between the two periods (a to-date window's comparison span ends earlier)
        text = row.text or ""
        if text not in seen_q:
            key = text_key(text)
            seen_q[text] = known[key] if key in known else extract(text)
        question = seen_q[text]
        if question is None:
            continue
        pending.append({"question": question, "text": text.strip(),
                        "conversation_id": row.conversation_id,
                        "customer": row.customer_id or f"conversation:{row.conversation_id}",
                        "current": sent >= start_utc, "resolved": row.resolved, "rating": row.rating})
    out += [Asked(reply=None, **p) for p in pending]
    if extracted is not None:
        extracted.clear()
        extracted.update((text_key(t), q) for t, q in seen_q.items())
    return out


def text_key(text: str) -> str:
    """What the kept extractions are keyed by: a hash, so the state holds no customer's raw message (the
    values are normalised questions, masked)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def read_kb(conn: Connection) -> list[tuple[str, str]]:
    """(kb_id, question) of the active knowledge-base entries."""
    kb = KBEntry.__table__.c
    rows = conn.execute(select(kb.kb_id, kb.question).where(kb.status == "active").order_by(kb.kb_id))
    return [(r.kb_id, r.question) for r in rows]


def category_of(texts: Iterable[str]) -> str:
    """The :data:`CATEGORIES` name most of ``texts`` fall under, else 其他."""
    votes: Counter[str] = Counter()
    for text in texts:
        for name, words in CATEGORIES:
            if any(w in text for w in words):
                votes[name] += 1
                break
    return min(votes, key=lambda k: (-votes[k], [n for n, _ in CATEGORIES].index(k))) if votes else "其他"


_PLACEHOLDER = re.compile(r"〈[^〈〉]{1,6}〉")
# Courtesy tails and a vocative's leftover (掌柜的 → 的) that normalisation keeps; a KB's similar questions drop them.
_COURTESY_TAIL = re.compile(r"[，,\s]*(?:辛苦了?|拜托了?|谢谢(?:你|亲|啦)?|3q|thx|thanks|麻烦(?:你|了|看下|看一下)?|在线等|急)$")
_LEADING_DE = re.compile(r"^的[，\s]*")
_EDGE_PLACEHOLDER = re.compile(r"^(?:〈[^〈〉]{1,6}〉[，,\s]*)+|(?:[，,\s]*〈[^〈〉]{1,6}〉)+$")


def tidy(question: str) -> str:
    """``的，可以便宜点吗，拜托了`` → ``可以便宜点吗``, ``帮我改一下地址，〈地址〉`` → ``帮我改一下地址``: a normalised
    question without courtesy leftovers or a placeholder at either end, for people to read (matching keeps
    the normalised form)."""
    text = _LEADING_DE.sub("", question)
    while True:
        shorter = _EDGE_PLACEHOLDER.sub("", _COURTESY_TAIL.sub("", text))
        if shorter == text or not shorter:
            return text
        text = shorter


def _similar(counts: Counter[str], head: str, n: int = 10) -> list[str]:
    out: list[str] = []
    for q in sorted(counts, key=lambda q: (-counts[q], len(q), q)):
        q = tidy(q)
        if q != tidy(head) and "〈" not in q and q not in out:
            out.append(q)
    return out[:n]


def _good(a: Asked) -> bool:
    return a.resolved is True and a.rating is not None and a.rating >= 4


def _not_bad(a: Asked) -> bool:
    return a.resolved is True and not (a.rating is not None and a.rating <= 2)


def _bad(resolved: bool | None, rating: int | None) -> bool:
    return resolved is False or (rating is not None and rating <= 2)


def _answer(asked: Sequence[Asked]) -> tuple[answers.AnswerPick | None, str]:
    good = [a.reply for a in asked if a.reply and _good(a)]
    if len(good) >= 2:
        return answers.pick_answer(good), f"已解决且评 4–5 星的会话里的 {len(good)} 次回复"
    fallback = [a.reply for a in asked if a.reply and _not_bad(a)]
    return answers.pick_answer(fallback), f"已解决且未差评的会话里的 {len(fallback)} 次回复（评 4–5 星的不足 2 次）"


def _phrasings(current: Sequence[Asked], n: int) -> list[str]:
    """The ``n`` most asked distinct normalised questions of the window, as one of their masked messages."""
    by_question = Counter(a.question for a in current)
    shown = {}
    for a in current:
        shown.setdefault(a.question, a.text)
    top = sorted(by_question, key=lambda q: (-by_question[q], len(q), q))[:n]
    # The masked message reads naturally; the normalised form is shown when the message is long.
    masked = {q: mask_pii(shown[q]).strip() for q in top}
    return [masked[q] if len(masked[q]) <= 40 else q for q in top]


def summarize(label: int, asked: Sequence[Asked], params: Params) -> Suggestion:
    """One cluster's figures (``asked``: its questions of both periods)."""
    current = [a for a in asked if a.current]
    outcomes = {a.conversation_id: (a.resolved, a.rating) for a in current}
    known = {k: v for k, v in outcomes.items() if v[0] is not None or v[1] is not None}
    counts = Counter(a.question for a in current)
    # The standard question: the most asked phrasing without a placeholder (〈地址〉 reads badly as a KB question).
    plain = [q for q in counts if "〈" not in q] or list(counts)
    head = min(plain, key=lambda q: (-counts[q], len(q), q)) if plain else asked[0].question
    previous = sum(1 for a in asked if not a.current)
    pick, basis = _answer(asked)
    kind = answers.kind_of(pick, params.quick_similarity, params.quick_max_chars) if pick else answers.ARTICLE
    return Suggestion(
        label=label, question=head, members=frozenset(a.question for a in asked), questions=len(current),
        customers=len({a.customer for a in current}), previous=previous,
        growth=(len(current) - previous) / previous if previous else None,
        conversations=len(known), bad=sum(1 for r, s in known.values() if _bad(r, s)),
        phrasings=_phrasings(current, params.phrasings),
        similar=_similar(counts, head),
        answer=pick.answer if pick else None,
        answer_basis=basis, pick=pick, kind=kind, category=category_of(_PLACEHOLDER.sub("", q) for q in counts))


def _labels(questions: list[str], state: dict | None) -> tuple[ClusterIndex, dict[str, int], list[int], bool]:
    """Labels of ``questions`` and the kept ``{question: label}`` map.

    A question text seen by an earlier run keeps its label; only texts never seen go through
    ``ClusterIndex.assign`` (each once, with all their occurrences), so re-running over the same window does
    not count a question twice in the index. A text that joined no cluster (−1) takes the label of a cluster
    the index later forms around it from its pool."""
    if state is None:
        index = ClusterIndex()
        labels = list(index.fit(questions))
        known = dict(zip(questions, labels, strict=True))
        return index, known, labels, True
    index = ClusterIndex.from_state(state["index"])
    known = dict(state["labels"])
    new = [q for q in questions if q not in known]
    if new:
        known.update(zip(new, index.assign(new), strict=True))
        waiting = {q for q, label in known.items() if label < 0}
        for label, exemplars in index.clusters().items():
            for q, _ in exemplars:
                if q in waiting:
                    known[q] = label
    return index, known, [known[q] for q in questions], False


def _covering(kb: Sequence[tuple[str, str]], kb_labels: Sequence[int], qualified: Iterable[int]) -> dict[int, str]:
    """cluster label → the kb_id of the first entry whose question is in that cluster."""
    wanted = set(qualified)
    out: dict[int, str] = {}
    for (kb_id, _), label in zip(kb, kb_labels, strict=True):
        if label in wanted:
            out.setdefault(label, kb_id)
    return out


def suggest(conn: Connection, start: datetime, end: datetime, prev_start: datetime, prev_end: datetime,
            params: Params = Params(), *, state: dict | None = None, progress: Progress | None = None) -> Result:
    """The suggestions for the window ``[start, end)`` (compared with ``[prev_start, prev_end)``), see module docs."""
    report = progress or (lambda stage, done, total: None)
    report("读取消息", 0, 3)
    # What extract() made of each customer text the last run met, while extract.py is unchanged: extracting is
    # most of a run's cost, and from week to week most texts are the same.
    extracted = dict(state.get("extracted") or {}) if state and state.get("extract_version") == EXTRACT_VERSION else {}
    asked = read_questions(conn, prev_start, prev_end, start, end, extracted)
    kb = read_kb(conn)
    report("聚类", 1, 3)
    # Knowledge-base questions are clustered with the customers' (normalised the same way): the cluster an
    # entry's question lands in is the cluster it covers.
    texts = [a.question for a in asked] + [extract(q) or normalize(q) or q for _, q in kb]
    try:
        index, known, all_labels, fitted = _labels(texts, state)
    except (KeyError, ValueError, TypeError):  # a state from another version of the index: cluster afresh
        index, known, all_labels, fitted = _labels(texts, None)
    labels, kb_labels = all_labels[:len(asked)], all_labels[len(asked):]
    groups: dict[int, list[Asked]] = {}
    for a, label in zip(asked, labels, strict=True):
        if label >= 0:
            groups.setdefault(label, []).append(a)
    report("统计", 2, 3)
    qualified = {label: g for label, g in groups.items() if sum(1 for a in g if a.current) >= params.min_questions}
    covered = _covering(kb, kb_labels, qualified)
    proposed, skipped = [], []
    for label, group in qualified.items():
        s = summarize(label, group, params)
        s.covered_by = covered.get(label)
        if s.covered_by is not None:
            if s.bad_share is None or s.bad_share < params.review_bad_share:
                skipped.append(s)
                continue
            s.kind = answers.REVIEW
        proposed.append(s)
    proposed.sort(key=lambda s: (-s.questions, -s.customers, s.question))
    report("完成", 3, 3)
    return Result(proposed, {"index": index.to_state(), "labels": known, "extracted": extracted,
                             "extract_version": EXTRACT_VERSION}, len(asked), sum(1 for a in asked if a.current), len(groups),
                  covered=skipped, fitted=fitted)
