"""质检: per-month sums in qa_sums (grain 'month'), filled from the day rows already stored

A year's /质检 summed ~100k day rows (days × agents × rules) per window; whole UTC months now come from one
row per (month, agent, rule), kept at import / recheck / forget like the hour and day rows
(``analytics.qa.maintain._buckets``). No schema change: ``grain`` is a string key. The upgrade sums the
stored day rows per UTC month, so a database imported before this revision answers the same without
``csbot rebuild qa``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""
from collections import defaultdict
from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_SUMS = sa.table("qa_sums", sa.column("grain", sa.String), sa.column("bucket", sa.DateTime(timezone=True)),
                 sa.column("agent", sa.String), sa.column("rule", sa.String), sa.column("n", sa.Integer),
                 sa.column("score_sum", sa.Integer))


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.delete(_SUMS).where(_SUMS.c.grain == "month"))
    months: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    rows = conn.execute(sa.select(_SUMS.c.bucket, _SUMS.c.agent, _SUMS.c.rule, _SUMS.c.n, _SUMS.c.score_sum)
                        .where(_SUMS.c.grain == "day"))
    for bucket, agent, rule, n, score_sum in rows:
        at = bucket.replace(tzinfo=UTC) if bucket.tzinfo is None else bucket.astimezone(UTC)
        row = months[(at.replace(day=1, hour=0, minute=0, second=0, microsecond=0), agent, rule)]
        row[0] += n
        row[1] += score_sum
    out = [{"grain": "month", "bucket": b, "agent": a, "rule": r, "n": n, "score_sum": s}
           for (b, a, r), (n, s) in months.items() if n > 0]
    for i in range(0, len(out), 5000):
        conn.execute(sa.insert(_SUMS), out[i:i + 5000])


def downgrade() -> None:
    op.get_bind().execute(sa.delete(_SUMS).where(_SUMS.c.grain == "month"))
