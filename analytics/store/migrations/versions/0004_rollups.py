"""rollups: hourly/daily/monthly aggregates per filter dimension, their state, raw-table indexes

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def _rollup(name: str, dims: list[tuple[str, int]], measures: list[sa.Column]) -> None:
    op.create_table(
        name,
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("bucket", _TIME, nullable=False),
        *[sa.Column(dim, sa.String(length=length), nullable=False) for dim, length in dims],
        *measures,
        sa.PrimaryKeyConstraint("grain", "bucket", *[dim for dim, _ in dims]),
        sqlite_with_rowid=False,  # rows stored in key order: a window reads contiguous pages
    )


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def _float(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=False)


def upgrade() -> None:
    _rollup("rollup_conversations", [("channel", 64), ("shop", 128), ("agent", 128)],
            [_int("n"), _int("rated"), _int("good"), _int("resolved_known"), _int("resolved"), _int("frt_n"),
             _float("frt_sum"), _int("frt_le30")])
    _rollup("rollup_complaints", [("channel", 64), ("product", 256), ("category", 32), ("agent", 128), ("shop", 128)],
            [_int("n")])
    _rollup("rollup_orders", [("channel", 64), ("product", 256)],
            [_int("n"), sa.Column("amount_fen", sa.BigInteger(), nullable=False)])
    _rollup("rollup_returns", [("product", 256), ("channel", 64), ("reason", 256)], [_int("n")])
    _rollup("rollup_reviews", [("product", 256)], [_int("n"), _int("bad")])
    _rollup("rollup_messages", [("channel", 64), ("shop", 128), ("agent", 128)],
            [_int("n"), _float("score_sum"), _int("neg")])
    # No rows = not ready: metrics read raw rows until a rebuild or the first import batch of a kind.
    op.create_table(
        "rollup_state",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("built_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("kind"),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_conversation", ["conversation_id"], unique=False)
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.create_index("ix_return_order", ["order_id"], unique=False)
    with op.batch_alter_table("conversations", schema=None) as batch_op:  # median/P90 read the index only
        batch_op.create_index("ix_conv_started_frt", ["started_at", "first_response_seconds"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conv_started_frt")
    with op.batch_alter_table("returns", schema=None) as batch_op:
        batch_op.drop_index("ix_return_order")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_conversation")
    for name in ("rollup_state", "rollup_messages", "rollup_reviews", "rollup_returns", "rollup_orders",
                 "rollup_complaints", "rollup_conversations"):
        op.drop_table(name)
