"""Mask the text of rows stored before ``[privacy] mask_at_rest`` was on (``csbot mask-stored``).

Rows whose free text :func:`analytics.textmodel.pii.mask_at_rest` would change are written again through
``analytics.ingest.ingest_records`` with masking on: the same upsert and upkeep as an import, so sentiment,
complaint reasons (for classified complaints), 热词, 质检 and the rollups follow the masked text exactly.
Only the id, the required columns and the text are sent, so every other stored column stays; an imported
complaint category is sent along and kept. Rows are read in primary-key pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import Engine, select

from analytics.privacy.rows import TABLES
from analytics.textmodel.pii import mask_at_rest

#: kind -> (columns sent back, the text column)
COLUMNS = {
    "messages": (("message_id", "conversation_id", "sent_at", "sender", "text"), "text"),
    "complaints": (("complaint_id", "created_at", "text", "order_id", "category", "category_source"), "text"),
    "reviews": (("review_id", "created_at", "rating", "order_id", "text"), "text"),
    "returns": (("return_id", "order_id", "created_at", "reason"), "reason"),
}
_PAGE = 5000


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # stored as UTC
    return value


def _changed(engine: Engine, kind: str) -> Iterator[dict[str, Any]]:
    names, text_column = COLUMNS[kind]
    table = TABLES[kind]
    key = table.c[names[0]]
    last = None
    while True:
        stmt = select(*[table.c[n] for n in names]).order_by(key).limit(_PAGE)
        if last is not None:
            stmt = stmt.where(key > last)
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if not rows:
            return
        last = rows[-1][names[0]]
        for row in rows:
            keep = (row["order_id"],) if row.get("order_id") else ()
            if row[text_column] and mask_at_rest(row[text_column], keep) != row[text_column]:
                yield _record(kind, row)


def _record(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    record = {k: _aware(v) for k, v in row.items() if v is not None and k != "category_source"}
    if kind == "complaints" and row.get("category_source") == "classifier":
        record.pop("category", None)  # classified again from the masked text, as a new import would
    return record


def mask_stored(engine: Engine, tz: tzinfo) -> dict[str, int]:
    """Mask every stored row's free text that still holds personal data; rows rewritten per kind."""
    from analytics.ingest import ingest_records

    done: dict[str, int] = {}
    for kind in COLUMNS:
        # Read every page before writing (ingest rewrites rows behind the reading cursor otherwise), and
        # write in import-sized batches: a batch's upkeep costs about the same for 30 rows as for 5,000.
        records = list(_changed(engine, kind))
        if records:
            done[kind] = ingest_records(engine, kind, records, tz=tz, source="mask", mask=True).updated
    return done
