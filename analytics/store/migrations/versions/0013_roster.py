"""the imported roster (排班表): one row per agent shift, for /排班's scheduled column

Revision ID: 0013
Revises: 0009 (a branch; the heads are merged later)
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_shifts",
        sa.Column("shift_id", sa.String(length=128), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shift_id"),
    )
    with op.batch_alter_table("roster_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_roster_start", ["start_at"], unique=False)
        batch_op.create_index("ix_roster_agent_day", ["agent", "day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("roster_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_roster_agent_day")
        batch_op.drop_index("ix_roster_start")
    op.drop_table("roster_shifts")
