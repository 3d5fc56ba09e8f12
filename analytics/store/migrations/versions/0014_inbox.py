"""the inbox (accepted callback messages, their de-duplication key) and the shared rate-limit state

``inbox``: one row per accepted chat message, unique on (platform, message_id), written before the
callback is acknowledged. ``rate_limit_state``: per destination, the recent send times behind the
outbound limiter, shared by replicas and kept across restarts.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=256), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "message_id", name="uq_inbox_platform_message"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_status_claim", ["status", "claimed_until"], unique=False)
        batch_op.create_index("ix_inbox_received", ["received_at"], unique=False)
    op.create_table(
        "rate_limit_state",
        sa.Column("destination_key", sa.String(length=300), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("sends", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("destination_key"),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_state")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_received")
        batch_op.drop_index("ix_inbox_status_claim")
    op.drop_table("inbox")
