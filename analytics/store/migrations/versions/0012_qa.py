"""质检: checked conversations, findings, per-hour/day sums per agent and rule

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qa_conversations",
        sa.Column("conversation_id", sa.String(length=128), primary_key=True),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=True),
        sa.Column("last_at", _time(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("last_customer_message", sa.String(length=128), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("rules", sa.String(length=256), nullable=False),
    )
    op.create_index("ix_qa_conv_started_agent", "qa_conversations", ["started_at", "agent"])
    op.create_index("ix_qa_conv_agent_started", "qa_conversations", ["agent", "started_at"])
    op.create_index("ix_qa_conv_customer_started", "qa_conversations", ["customer_id", "started_at"])
    op.create_table(
        "qa_findings",
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=True),
        sa.Column("detail", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "rule"),
    )
    op.create_index("ix_qa_finding_rule_started", "qa_findings", ["rule", "started_at"])
    op.create_index("ix_qa_finding_agent_rule_started", "qa_findings", ["agent", "rule", "started_at"])
    op.create_table(
        "qa_sums",
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("bucket", _time(), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "bucket", "agent", "rule"),
    )


def downgrade() -> None:
    op.drop_table("qa_sums")
    op.drop_index("ix_qa_finding_agent_rule_started", table_name="qa_findings")
    op.drop_index("ix_qa_finding_rule_started", table_name="qa_findings")
    op.drop_table("qa_findings")
    op.drop_index("ix_qa_conv_customer_started", table_name="qa_conversations")
    op.drop_index("ix_qa_conv_agent_started", table_name="qa_conversations")
    op.drop_index("ix_qa_conv_started_agent", table_name="qa_conversations")
    op.drop_table("qa_conversations")
