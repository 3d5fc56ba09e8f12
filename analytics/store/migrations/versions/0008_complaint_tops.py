"""complaints by category and product, overall and under each single filter (channel, product, agent, shop)

/投诉's count and top categories/products with at most one filter are read from these (about a hundred
rows a month) instead of ``rollup_complaints``, whose rows are keyed by all five dimensions at once
(about one row per complaint). The table starts empty and not ready: /投诉 keeps reading
``rollup_complaints`` until the next complaints or conversations import builds it or ``csbot rebuild
rollups`` does.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_complaint_tops",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("fdim", sa.String(length=8), nullable=False),
        sa.Column("fkey", sa.String(length=256), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("product", sa.String(length=256), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "fdim", "fkey", "bucket", "category", "product"),
        sqlite_with_rowid=False,  # rows stored in key order: a window reads contiguous pages
    )


def downgrade() -> None:
    op.drop_table("rollup_complaint_tops")
