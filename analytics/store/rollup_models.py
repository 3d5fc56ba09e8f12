"""Rollup tables: pre-aggregated counts and sums per time bucket and filter dimensions.

One table per source kind. Each row is one bucket of one *grain* — ``h`` (UTC hour), ``d`` (UTC day)
or ``m`` (UTC month) — for one combination of the dimensions the metric filters need. Bucket starts
are aware datetimes stored in UTC, like every other time in the schema.

The first-response histogram (``rollup_frt``) also keys on the value itself (``v``), day and month grains
only: medians and percentiles are not sums, but a histogram of exact values is.

Dimension columns are part of the primary key and never NULL: a NULL dimension is stored as ``''``
(:data:`NULL_KEY`) so that the key is unique on SQLite and PostgreSQL alike. The import layer never
stores empty strings in these columns (an empty cell becomes NULL), so ``''`` is unambiguous;
a filter value of ``''`` is answered from raw rows (see ``analytics.rollups``).

``rollup_state`` says which rollups are complete: only then do metrics read them. The rollups are
maintained by :mod:`analytics.rollups` (incrementally at import, or rebuilt from scratch).

This module also declares raw-table indexes: the ones the incremental maintenance walks (complaints by
conversation, returns by order: a conversation or order that changes re-buckets the rows joined to it)
and a covering index for the first-response percentiles of the raw edges of a window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from analytics.store.models import Complaint, Conversation, Return

NULL_KEY = ""
GRAINS = ("h", "d", "m")
# SQLite: store rows in primary-key order (grain, bucket, dimensions) so a window reads contiguous pages.
_CLUSTERED = {"sqlite_with_rowid": False}


def _dim(length: int) -> str:
    return Field(default=NULL_KEY, primary_key=True, max_length=length)  # type: ignore[no-any-return]


class RollupConversations(SQLModel, table=True):
    __tablename__ = "rollup_conversations"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    bucket: datetime = Field(primary_key=True)
    channel: str = _dim(64)
    shop: str = _dim(128)
    agent: str = _dim(128)
    n: int = 0
    rated: int = 0
    good: int = 0  # rating >= 4
    resolved_known: int = 0
    resolved: int = 0
    frt_n: int = 0
    frt_sum: float = 0.0
    frt_le30: int = 0  # first response <= 30 s


class RollupComplaints(SQLModel, table=True):
    """Complaints by their own channel/product/category and the agent/shop of their conversation."""

    __tablename__ = "rollup_complaints"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    bucket: datetime = Field(primary_key=True)
    channel: str = _dim(64)
    product: str = _dim(256)
    category: str = _dim(32)
    agent: str = _dim(128)  # '' when the complaint has no (known) conversation
    shop: str = _dim(128)
    n: int = 0


class RollupComplaintTops(SQLModel, table=True):
    """Complaints by category and product, once for all complaints (``fdim='all'``, ``fkey='*'``) and once
    under each single filter they can be asked with (``fdim`` = channel, product, agent or shop, ``fkey``
    its value). ``rollup_complaints`` keys every complaint by all five dimensions at once, which at ~9
    complaints an hour leaves about one row per complaint in every grain; these rows answer /投诉's count
    and top lists with at most one filter from ~100 rows a month."""

    __tablename__ = "rollup_complaint_tops"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    fdim: str = Field(primary_key=True, max_length=8)
    fkey: str = _dim(256)
    bucket: datetime = Field(primary_key=True)
    category: str = _dim(32)
    product: str = _dim(256)
    n: int = 0


class RollupOrders(SQLModel, table=True):
    __tablename__ = "rollup_orders"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    bucket: datetime = Field(primary_key=True)
    channel: str = _dim(64)
    product: str = _dim(256)
    n: int = 0
    amount_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class RollupReturns(SQLModel, table=True):
    """Returns by their own product and reason and the channel of their order."""

    __tablename__ = "rollup_returns"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    bucket: datetime = Field(primary_key=True)
    product: str = _dim(256)
    channel: str = _dim(64)  # the order's channel; '' when the order is unknown
    reason: str = _dim(256)
    n: int = 0


class RollupReviews(SQLModel, table=True):
    __tablename__ = "rollup_reviews"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    bucket: datetime = Field(primary_key=True)
    product: str = _dim(256)
    n: int = 0
    bad: int = 0  # rating <= 2


class RollupMessages(SQLModel, table=True):
    """Scored customer messages by the channel/shop/agent of their conversation (sentiment)."""

    __tablename__ = "rollup_messages"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    bucket: datetime = Field(primary_key=True)
    channel: str = _dim(64)
    shop: str = _dim(128)
    agent: str = _dim(128)  # '' when the message's conversation is unknown
    n: int = 0
    score_sum: float = 0.0
    neg: int = 0


class RollupFrt(SQLModel, table=True):
    """Conversations per exact first-response value (seconds) — a histogram the median and P90 are read
    from — once for all conversations (``dim='all'``, ``key='*'``) and once per channel, shop and agent
    (``dim`` names the filter, ``key`` its value). Day and month grains only; ``v`` is never NULL
    (conversations without a first response are not counted)."""

    __tablename__ = "rollup_frt"
    __table_args__ = _CLUSTERED

    grain: str = Field(primary_key=True, max_length=1)
    dim: str = Field(primary_key=True, max_length=8)
    key: str = _dim(128)
    bucket: datetime = Field(primary_key=True)
    v: float = Field(primary_key=True)
    n: int = 0


def _repeat_table(name: str, dim: tuple[str, int] | None) -> Table:
    """Orders per (bucket of the order, UTC day of its k-th previous order) — see analytics.rollups.repeat."""
    dims = [Column(dim[0], String(dim[1]), primary_key=True, nullable=False)] if dim else []
    return Table(name, SQLModel.metadata,
                 Column("grain", String(1), primary_key=True, nullable=False), *dims,
                 Column("bucket", UTCDateTime(), primary_key=True, nullable=False),
                 Column("pday", UTCDateTime(), primary_key=True, nullable=False),
                 Column("n", Integer(), nullable=False), sqlite_with_rowid=False)


# 复购率: one table per (filter dimension, k ∈ {1, 2}); the dimension leads the key like the histograms.
REPEAT_TABLES: dict[str, Table] = {
    f"repeat{'_' + dim[0] if dim else ''}_{k}": _repeat_table(f"rollup_repeat{'_' + dim[0] if dim else ''}_{k}", dim)
    for dim in (None, ("channel", 64), ("product", 256)) for k in (1, 2)
}


class RollupState(SQLModel, table=True):
    """One row per rollup kind once it is complete; metrics fall back to raw rows otherwise."""

    __tablename__ = "rollup_state"

    kind: str = Field(primary_key=True, max_length=32)
    ready: bool = False
    built_at: datetime | None = None


# Raw-table indexes (declared here so the metadata matches migration 0004): the maintenance joins walk
# complaints by conversation and returns by order; the first-response median/P90 of raw rows (a window's
# edges, or every row when no histogram fits the filters) read (started_at, first_response_seconds) from
# the index alone instead of visiting every table row.
Index("ix_complaint_conversation", Complaint.__table__.c.conversation_id)  # type: ignore[attr-defined]
Index("ix_return_order", Return.__table__.c.order_id)  # type: ignore[attr-defined]
Index("ix_conv_started_frt", Conversation.__table__.c.started_at,  # type: ignore[attr-defined]
      Conversation.__table__.c.first_response_seconds)  # type: ignore[attr-defined]
