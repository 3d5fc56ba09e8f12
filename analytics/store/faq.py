"""Tables of FAQ mining: the suggestions a lead decides on in the chat, and the kept cluster state.

``faq_suggestions``: one row per question cluster that ever qualified; its ``id`` is the number shown
in the chat (``/知识库 3``) and never changes. ``question`` (the cluster's most asked normalised
phrasing) is how a later run finds the row again; ``signature`` is its hash, unique. Status is
``proposed``, ``accepted`` or ``dismissed``; ``count_at_decision`` is the cluster's count when a lead
decided (a dismissed row comes back when the cluster grows past ``[faq] regrow_factor`` times it).
``kind`` is 快捷回复, 知识库文章 or 答案需复查 (a cluster already covered by the knowledge base whose
conversations end badly; ``kb_id`` then names the entry under review). ``stats`` holds the figures of
the last run (counts, growth, shares), ``phrasings`` its typical masked phrasings.

``faq_state``: the clustering's kept state (``analytics.faq.index.ClusterIndex.to_state``), so a run
assigns new questions to the clusters already found instead of clustering the history again.
Times are aware and stored as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary
from sqlmodel import Field, SQLModel

PROPOSED, ACCEPTED, DISMISSED = "proposed", "accepted", "dismissed"
STATUSES = (PROPOSED, ACCEPTED, DISMISSED)


def _json() -> Any:
    return Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


def _when(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class FaqSuggestion(SQLModel, table=True):
    __tablename__ = "faq_suggestions"
    __table_args__ = (
        Index("ix_faq_sugg_signature", "signature", unique=True),
        Index("ix_faq_sugg_status_rank", "status", "rank"),
    )

    id: int | None = Field(default=None, primary_key=True)
    signature: str = Field(max_length=64)
    question: str
    kind: str = Field(max_length=16)
    status: str = Field(default=PROPOSED, max_length=16)
    category: str | None = Field(default=None, max_length=32)
    answer: str = ""
    edited_answer: str | None = None
    phrasings: list | None = _json()
    stats: dict | None = _json()
    count: int = 0  # questions in the last run's window
    rank: int | None = None  # place in the last run's list; None when it did not qualify then
    count_at_decision: int | None = None
    decided_by: str | None = Field(default=None, max_length=256)
    decided_at: datetime | None = _when(nullable=True)
    kb_id: str | None = Field(default=None, max_length=128)
    first_seen_at: datetime = _when()
    updated_at: datetime = _when()


class FaqState(SQLModel, table=True):
    __tablename__ = "faq_state"

    name: str = Field(primary_key=True, max_length=32)
    state: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    questions: int = 0  # distinct questions the state has seen
    fitted_at: datetime = _when()
    updated_at: datetime = _when()
    computed: dict | None = _json()  # the last run: window, when, how many suggestions
