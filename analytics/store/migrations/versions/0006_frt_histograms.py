"""first-response histograms: conversations per exact first-response value, per day and month

The median and P90 of 首响 are read from these instead of sorting the raw values of the window. The
tables start empty and not ready (no ``rollup_state`` row): metrics keep reading raw rows until the next
conversations import builds them or ``csbot rebuild rollups`` does.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = {"rollup_frt": None, "rollup_frt_channel": ("channel", 64), "rollup_frt_shop": ("shop", 128),
           "rollup_frt_agent": ("agent", 128)}


def upgrade() -> None:
    for name, dim in _TABLES.items():
        dims = [sa.Column(dim[0], sa.String(length=dim[1]), nullable=False)] if dim else []
        op.create_table(
            name,
            sa.Column("grain", sa.String(length=1), nullable=False),
            *dims,
            sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
            sa.Column("v", sa.Float(), nullable=False),
            sa.Column("n", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("grain", *[c.name for c in dims], "bucket", "v"),
            sqlite_with_rowid=False,  # rows stored in key order: a window reads contiguous pages
        )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
