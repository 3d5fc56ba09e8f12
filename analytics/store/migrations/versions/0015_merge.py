"""merge the five branches of 2026-12-03 (alerts, FAQ, 质检, roster, inbox) into one head

Each was written in parallel from 0009 and touches its own tables; this empty revision joins them so the
next migration has one parent and ``alembic heads`` is one line again.

Revision ID: 0015
Revises: 0010, 0011, 0012, 0013, 0014
Create Date: 2026-12-03
"""

revision = "0015"
down_revision = ("0010", "0011", "0012", "0013", "0014")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
