"""质检 results kept at import (see analytics.qa): one row per checked conversation, one per finding,
per-hour/day sums per agent and rule so a year's /质检 reads sums, not findings, and per conversation its
question and first agent reply as /质检 话术 compares them (``qa_scripts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class QAConversation(SQLModel, table=True):
    __tablename__ = "qa_conversations"
    __table_args__ = (
        Index("ix_qa_conv_started_agent", "started_at", "agent"),
        Index("ix_qa_conv_agent_started", "agent", "started_at"),
        Index("ix_qa_conv_customer_started", "customer_id", "started_at"),
    )

    conversation_id: str = Field(primary_key=True, max_length=128)
    started_at: datetime
    agent: str = Field(max_length=128)
    customer_id: str | None = Field(default=None, max_length=128)
    last_at: datetime  # ended_at, else the last line, else started_at (repeat_contact measures from here)
    resolved: bool | None = None
    last_customer_message: str | None = Field(default=None, max_length=128)
    score: int  # 100 − the weights of the rules that fired
    rules: str = Field(default="", max_length=256)  # the rule ids that fired, comma-separated


class QAFinding(SQLModel, table=True):
    __tablename__ = "qa_findings"
    __table_args__ = (
        Index("ix_qa_finding_rule_started", "rule", "started_at"),
        Index("ix_qa_finding_agent_rule_started", "agent", "rule", "started_at"),
    )

    conversation_id: str = Field(primary_key=True, max_length=128)
    rule: str = Field(primary_key=True, max_length=32)
    started_at: datetime
    agent: str = Field(max_length=128)
    message_ids: Any = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    detail: str = Field(default="", max_length=256)


class QASum(SQLModel, table=True):
    __tablename__ = "qa_sums"

    grain: str = Field(primary_key=True, max_length=8)  # hour / day (UTC buckets)
    bucket: datetime = Field(primary_key=True)
    agent: str = Field(primary_key=True, max_length=128)
    rule: str = Field(primary_key=True, max_length=32)  # '' = every checked conversation
    n: int
    score_sum: int = 0  # only on the '' rows: the sum of the conversations' scores


class QAScript(SQLModel, table=True):
    """A checked conversation's question (``analytics.faq.extract`` of its first customer line that asks
    something), its words, and the first agent reply after it, normalised (``analytics.qa.scripts.normalise``); only
    conversations that have both. Outcomes (rating, resolved) are read from ``conversations``."""

    __tablename__ = "qa_scripts"

    conversation_id: str = Field(primary_key=True, max_length=128)
    question: str = Field(sa_column=Column(Text(), nullable=False))
    # the jieba words of the question's canonical form, space-separated (analytics.faq.similarity.words):
    # the clustering at query time then loads no tokenizer
    words: str = Field(sa_column=Column(Text(), nullable=False))
    reply: str = Field(sa_column=Column(Text(), nullable=False))
