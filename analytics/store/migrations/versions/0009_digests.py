"""digest subscriptions, the once-only digest run log, and claimable outbox rows

``digest_subscriptions``: digests subscribed from a chat (``/订阅``), delivered to that chat.
``digest_runs``: one row per (subscription, scheduled date), inserted before a digest is built; its
unique key is what makes a digest go out at most once however many ``csbot serve`` replicas share
the database. ``outbox.claimed_by`` / ``claimed_until``: a replica claims a row with a lease before
sending it, so two replicas never send one row, and a killed replica's rows are sent by another
after the lease runs out.

Revision ID: 0009
Revises: 0008, 0003 (the outbox)
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
# A merge point: 0009 needs the outbox table (0003, its own branch) and follows 0008. A merge rather than
# depends_on, so the script's heads and a migrated database's heads agree (/readyz compares them).
down_revision = ("0008", "0003")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("days", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=5), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=True),
        sa.Column("sections", sa.JSON(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("dest_kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("chat_id", sa.String(length=256), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("digest_subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_digest_sub_chat", ["platform", "chat_id"], unique=False)
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_key", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_key", "day", name="uq_digest_run"),
    )
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.create_index("ix_digest_runs_status", ["status", "lease_until"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_runs_status")
    op.drop_table("digest_runs")
    with op.batch_alter_table("digest_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_sub_chat")
    op.drop_table("digest_subscriptions")
