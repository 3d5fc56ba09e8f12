"""复购率 as sums: each order's previous order times (overall, per channel, per product) and the rollups
counting orders by the day of their predecessor

The new order columns start NULL and the rollups empty and not ready: 复购率 keeps reading raw rows until
the next orders import or ``csbot rebuild rollups`` computes the predecessors and builds the rollups.

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_POINTERS = ("prev1_at", "prev2_at", "prev1_channel_at", "prev2_channel_at", "prev1_product_at", "prev2_product_at")
_INDEXES = {"ix_order_prev1": ["prev1_at", "created_at"], "ix_order_prev2": ["prev2_at", "created_at"],
            "ix_order_prev1_channel": ["channel", "prev1_channel_at", "created_at"],
            "ix_order_prev2_channel": ["channel", "prev2_channel_at", "created_at"],
            "ix_order_prev1_product": ["product", "prev1_product_at", "created_at"],
            "ix_order_prev2_product": ["product", "prev2_product_at", "created_at"]}
_DIMS = {"": None, "_channel": ("channel", 64), "_product": ("product", 256)}


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in _POINTERS:
            batch_op.add_column(sa.Column(name, _TIME, nullable=True))
        for name, columns in _INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    for suffix, dim in _DIMS.items():
        for k in (1, 2):
            dims = [sa.Column(dim[0], sa.String(length=dim[1]), nullable=False)] if dim else []
            op.create_table(
                f"rollup_repeat{suffix}_{k}",
                sa.Column("grain", sa.String(length=1), nullable=False),
                *dims,
                sa.Column("bucket", _TIME, nullable=False),
                sa.Column("pday", _TIME, nullable=False),
                sa.Column("n", sa.Integer(), nullable=False),
                sa.PrimaryKeyConstraint("grain", *[c.name for c in dims], "bucket", "pday"),
                sqlite_with_rowid=False,
            )


def downgrade() -> None:
    for suffix in reversed(_DIMS):
        for k in (2, 1):
            op.drop_table(f"rollup_repeat{suffix}_{k}")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in reversed(_INDEXES):
            batch_op.drop_index(name)
        for name in reversed(_POINTERS):
            batch_op.drop_column(name)
