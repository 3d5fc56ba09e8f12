"""first-response histogram: conversations per exact first-response value, per day and month, overall and
per channel, shop and agent

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



def upgrade() -> None:
    op.create_table(
        "rollup_frt",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("dim", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("v", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "dim", "key", "bucket", "v"),
        sqlite_with_rowid=False,  # rows stored in key order: a window reads contiguous pages
    )


def downgrade() -> None:
    op.drop_table("rollup_frt")
