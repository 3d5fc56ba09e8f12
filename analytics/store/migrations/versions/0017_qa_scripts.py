"""质检 话术: each conversation's question, its words and the first agent reply after it (qa_scripts), filled from the stored messages

``/质检 话术`` extracted the questions and normalised the replies of the window's latest 10,000 conversations
at every call (1.5 s of a 2.1 s answer at 5M conversations a year), and the clustering loaded jieba's dictionary
for the questions' words (≈ 0.9 s of a first call); all three are now kept at import with the
质检 rows (``analytics.qa.maintain.recheck``, ``remove``, ``clear``). The upgrade fills the table from the
stored conversations and messages through the same pairing (``analytics.qa.scripts.backfill``), a page of
conversations at a time, so a database imported before this revision answers the same without
``csbot rebuild qa``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_scripts",
        sa.Column("conversation_id", sa.String(length=128), primary_key=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
    )
    from analytics.qa.scripts import backfill

    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_table("qa_scripts")
