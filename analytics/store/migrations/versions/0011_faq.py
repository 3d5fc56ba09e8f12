"""FAQ mining: suggestions decided in the chat (/知识库) and the kept cluster state

``faq_suggestions``: one row per question cluster that ever qualified; ``id`` is the number shown in the
chat and never changes; status proposed / accepted / dismissed with who decided, when, and the count
then (a dismissed one returns when its cluster grows past ``[faq] regrow_factor``). ``faq_state``: the
clustering's kept state, so new questions join the clusters already found.

Revision ID: 0011
Revises: 0009 (a branch; the heads are merged later)
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("edited_answer", sa.Text(), nullable=True),
        sa.Column("phrasings", sa.JSON(), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("count_at_decision", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=256), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kb_id", sa.String(length=128), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("faq_suggestions", schema=None) as batch_op:
        batch_op.create_index("ix_faq_sugg_signature", ["signature"], unique=True)
        batch_op.create_index("ix_faq_sugg_status_rank", ["status", "rank"], unique=False)
    op.create_table(
        "faq_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("faq_state")
    with op.batch_alter_table("faq_suggestions", schema=None) as batch_op:
        batch_op.drop_index("ix_faq_sugg_status_rank")
        batch_op.drop_index("ix_faq_sugg_signature")
    op.drop_table("faq_suggestions")
