"""Batch upserts by id (INSERT ... ON CONFLICT DO UPDATE on SQLite and PostgreSQL) and the
first-response recompute, both plain Core statements executed with executemany.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, null, select, text

from analytics.ingest.results import IngestError
from analytics.ingest.schema import SPECS, KindSpec

_SQL_NULL = null()
_ID_CHUNK = 5000  # ids per IN (...) list: well below SQLite's 32766 and PostgreSQL's 65535 parameters

# Columns an update keeps from the existing row (a KB entry keeps its status once a lead has triaged it).
_KEEP_ON_UPDATE = {"kb": frozenset({"created_at", "status", "source"})}


def write_batch(conn: Connection, spec: KindSpec, rows: list[dict[str, Any]]) -> tuple[int, int, set[str]]:
    """Upsert ``rows``; returns (accepted = new ids, updated = existing or repeated ids, touched conversations).

    An id repeated inside the batch is written once with its last occurrence and counted as one
    accept (or update) plus one update per repetition, exactly as if the rows had come one by one.
    """
    id_col = spec.id_column
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row[id_col]] = row
    existing, previous_conversations = _existing(conn, spec, latest)
    accepted = sum(1 for key in latest if key not in existing)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in latest.values():
        if "attrs" in row and row["attrs"] is None:
            row["attrs"] = _SQL_NULL  # the JSON type would store None as the JSON text 'null'
        groups.setdefault(tuple(row), []).append(row)
    for keys, group in groups.items():
        conn.execute(_upsert_statement(conn.dialect.name, spec.kind, keys), group)
    return accepted, len(rows) - accepted, _touched_conversations(spec, latest.values(), previous_conversations)


def _existing(conn: Connection, spec: KindSpec, latest: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Ids of the batch already stored; for messages also the conversations they belonged to."""
    table = spec.table
    id_column = table.c[spec.id_column]
    columns = [id_column] + ([table.c.conversation_id] if spec.kind == "messages" else [])
    ids = list(latest)
    existing: set[str] = set()
    previous: set[str] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start:start + _ID_CHUNK]
        for found in conn.execute(select(*columns).where(id_column.in_(chunk))):
            existing.add(found[0])
            if spec.kind == "messages" and found[1] != latest[found[0]]["conversation_id"]:
                previous.add(found[1])  # a message moved between conversations: recompute both
    return existing, previous


def _touched_conversations(spec: KindSpec, rows: Iterable[dict[str, Any]], previous: set[str]) -> set[str]:
    if spec.kind == "messages":
        return {row["conversation_id"] for row in rows} | previous
    if spec.kind == "conversations":
        # Only conversations whose first response time was not imported explicitly can be derived.
        return {row["conversation_id"] for row in rows if row.get("first_response_computed") is not False}
    return set()


@lru_cache(maxsize=256)
def _upsert_statement(dialect: str, kind: str, keys: tuple[str, ...]) -> Any:
    spec = SPECS[kind]
    table: Table = spec.table
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise IngestError(f"不支持的数据库类型: {dialect}", f"unsupported database dialect: {dialect}")
    statement = insert(table)
    keep = _KEEP_ON_UPDATE.get(kind, frozenset())
    updates = {key: statement.excluded[key] for key in keys if key != spec.id_column and key not in keep}
    if not updates:
        return statement.on_conflict_do_nothing(index_elements=[spec.id_column])
    return statement.on_conflict_do_update(index_elements=[spec.id_column], set_=updates)


# First response = first agent message at or after the first customer message, minus that customer
# message. Bot messages never count. Correlated subqueries walk ix_msg_conv_sent (conversation_id, sent_at).
_FIRST_CUSTOMER = (
    "(SELECT MIN(c.sent_at) FROM messages c"
    " WHERE c.conversation_id = conversations.conversation_id AND c.sender = 'customer')"
)
_FIRST_AGENT = (
    "(SELECT MIN(a.sent_at) FROM messages a"
    " WHERE a.conversation_id = conversations.conversation_id AND a.sender = 'agent'"
    f" AND a.sent_at >= {_FIRST_CUSTOMER})"
)
_SECONDS_BETWEEN = {
    # SQLite stores UTC text; julianday keeps milliseconds, rounding hides the float noise.
    "sqlite": "ROUND((julianday({a}) - julianday({b})) * 86400.0, 3)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM ({a} - {b})) AS DOUBLE PRECISION)",
}
_DERIVABLE = "(first_response_computed IS NULL OR first_response_computed = :yes)"


@lru_cache(maxsize=4)
def _first_response_statements(dialect: str) -> tuple[Any, Any]:
    seconds = _SECONDS_BETWEEN[dialect].format(a=_FIRST_AGENT, b=_FIRST_CUSTOMER)
    set_seconds = text(
        f"UPDATE conversations SET first_response_seconds = {seconds}"
        f" WHERE conversation_id IN :ids AND {_DERIVABLE}"
    ).bindparams(bindparam("ids", expanding=True))
    set_flag = text(
        "UPDATE conversations SET first_response_computed ="
        " CASE WHEN first_response_seconds IS NULL THEN NULL ELSE :yes END"
        f" WHERE conversation_id IN :ids AND {_DERIVABLE}"
    ).bindparams(bindparam("ids", expanding=True))
    return set_seconds, set_flag


def recompute_first_response(conn: Connection, conversation_ids: Collection[str]) -> None:
    """Derive ``first_response_seconds`` from messages for these conversations, unless it was imported."""
    if not conversation_ids:
        return
    set_seconds, set_flag = _first_response_statements(conn.dialect.name)
    ids = list(conversation_ids)
    for start in range(0, len(ids), _ID_CHUNK):
        params = {"ids": ids[start:start + _ID_CHUNK], "yes": True}
        conn.execute(set_seconds, params)
        conn.execute(set_flag, params)

