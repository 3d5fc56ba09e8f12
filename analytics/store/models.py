"""SQLModel tables. Times are aware datetimes stored in UTC (timestamptz on PostgreSQL); periods are resolved in local time and
converted to UTC before querying, so the data stays valid if the configured timezone changes.
Money is stored as integer fen (分) so sums are exact on every database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


def _json() -> Any:
    return Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conv_started", "started_at"),
        Index("ix_conv_channel_started", "channel", "started_at"),
        Index("ix_conv_agent_started", "agent", "started_at"),
        Index("ix_conv_shop_started", "shop", "started_at"),
    )

    conversation_id: str = Field(primary_key=True, max_length=128)
    started_at: datetime
    agent: str = Field(max_length=128)
    channel: str | None = Field(default=None, max_length=64)
    shop: str | None = Field(default=None, max_length=128)
    customer_id: str | None = Field(default=None, max_length=128)
    ended_at: datetime | None = None
    first_response_seconds: float | None = None
    # True when first_response_seconds was derived from messages rather than imported.
    first_response_computed: bool | None = None
    resolved: bool | None = None
    rating: int | None = None
    transferred: bool | None = None
    attrs: dict | None = _json()


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_msg_conv_sent", "conversation_id", "sent_at"),
        Index("ix_msg_sent_sender", "sent_at", "sender"),
    )

    message_id: str = Field(primary_key=True, max_length=128)
    conversation_id: str = Field(max_length=128)
    sent_at: datetime
    sender: str = Field(max_length=16)  # customer / agent / bot
    text: str
    sentiment: float | None = None
    sentiment_label: str | None = Field(default=None, max_length=8)


class Complaint(SQLModel, table=True):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaint_created", "created_at"),
        Index("ix_complaint_channel_created", "channel", "created_at"),
        Index("ix_complaint_product_created", "product", "created_at"),
    )

    complaint_id: str = Field(primary_key=True, max_length=128)
    created_at: datetime
    text: str
    channel: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=32)
    category_source: str | None = Field(default=None, max_length=16)  # import / classifier
    product: str | None = Field(default=None, max_length=256)
    order_id: str | None = Field(default=None, max_length=128)
    conversation_id: str | None = Field(default=None, max_length=128)
    severity: str | None = Field(default=None, max_length=32)
    attrs: dict | None = _json()


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_order_created", "created_at"),
        Index("ix_order_customer_created", "customer_id", "created_at"),
        Index("ix_order_channel_created", "channel", "created_at"),
        Index("ix_order_product_created", "product", "created_at"),
        # 复购率 reads orders by their predecessors' times (analytics.rollups.repeat, migration 0007).
        Index("ix_order_prev1", "prev1_at", "created_at"),
        Index("ix_order_prev2", "prev2_at", "created_at"),
        Index("ix_order_prev1_channel", "channel", "prev1_channel_at", "created_at"),
        Index("ix_order_prev2_channel", "channel", "prev2_channel_at", "created_at"),
        Index("ix_order_prev1_product", "product", "prev1_product_at", "created_at"),
        Index("ix_order_prev2_product", "product", "prev2_product_at", "created_at"),
    )

    order_id: str = Field(primary_key=True, max_length=128)
    created_at: datetime
    customer_id: str = Field(max_length=128)
    channel: str | None = Field(default=None, max_length=64)
    product: str | None = Field(default=None, max_length=256)
    sku: str | None = Field(default=None, max_length=128)
    amount_fen: int | None = None
    quantity: int | None = None
    attrs: dict | None = _json()
    # Derived, never imported: the times of the same customer's previous and second-previous order, overall
    # and within the same channel / product (order: created_at, then order_id). Kept by
    # analytics.rollups.repeat; they make 复购率 a sum (see analytics/rollups/repeat.py).
    prev1_at: datetime | None = None
    prev2_at: datetime | None = None
    prev1_channel_at: datetime | None = None
    prev2_channel_at: datetime | None = None
    prev1_product_at: datetime | None = None
    prev2_product_at: datetime | None = None


class Return(SQLModel, table=True):
    __tablename__ = "returns"
    __table_args__ = (
        Index("ix_return_created", "created_at"),
        Index("ix_return_product_created", "product", "created_at"),
    )

    return_id: str = Field(primary_key=True, max_length=128)
    order_id: str = Field(max_length=128)
    created_at: datetime
    reason: str | None = Field(default=None, max_length=256)
    product: str | None = Field(default=None, max_length=256)
    amount_fen: int | None = None
    attrs: dict | None = _json()


class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_review_created", "created_at"),
        Index("ix_review_product_created", "product", "created_at"),
    )

    review_id: str = Field(primary_key=True, max_length=128)
    created_at: datetime
    rating: int
    order_id: str | None = Field(default=None, max_length=128)
    product: str | None = Field(default=None, max_length=256)
    text: str | None = None
    sentiment: float | None = None
    attrs: dict | None = _json()


class KBEntry(SQLModel, table=True):
    __tablename__ = "kb_entries"

    kb_id: str = Field(primary_key=True, max_length=128)
    question: str
    answer: str
    tags: str | None = None
    status: str = Field(default="active", max_length=16)  # active / proposed / dismissed
    source: str = Field(default="import", max_length=16)  # import / mined / manual
    created_at: datetime | None = None
    updated_at: datetime | None = None
