"""keyword document counts per hour (热词)

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "term_hours",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("term", sa.String(length=32), nullable=False),
        sa.Column("docs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "hour", "term"),
    )
    op.create_index("ix_term_hours_source_term", "term_hours", ["source", "term"])


def downgrade() -> None:
    op.drop_index("ix_term_hours_source_term", table_name="term_hours")
    op.drop_table("term_hours")
