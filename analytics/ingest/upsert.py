"""Batch upserts by id and the first-response recompute.

One ``INSERT … ON CONFLICT (id) DO UPDATE`` statement per set of columns, built with the SQLite or
PostgreSQL Core ``insert`` on the model's Table and run with ``executemany``; it updates only the
columns the source provided. Which ids already exist is asked first, so ``accepted`` (new) and
``updated`` are exact. First response times are derived in SQL, in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table, null, text
from sqlmodel.sql.sqltypes import UTCDateTime

from analytics.ingest.results import IngestError
from analytics.ingest.schema import SPECS, KindSpec

_SQL_NULL = null()

# Columns an update keeps from the existing row (a KB entry keeps its status once a lead has triaged it).
_KEEP_ON_UPDATE = {"kb": frozenset({"created_at", "status", "source"})}

# "column is one of these ids" with one bound parameter: a JSON array on SQLite, an array on PostgreSQL.
# Cheaper to compile and run than IN (:p1, ..., :p5000), and no parameter-count limits. On PostgreSQL
# "= ANY(:ids)" with thousands of ids plans a sequential scan (measured: an import then slows down
# with every batch); a subquery over unnest() is planned as index lookups.
_ONE_OF = {
    "sqlite": "IN (SELECT value FROM json_each(:ids))",
    "postgresql": "IN (SELECT unnest(CAST(:ids AS text[])))",
}


def id_list(conn: Connection, ids: Collection[str]) -> Any:
    """The ``:ids`` parameter value for an ``_ONE_OF`` condition."""
    return json.dumps(list(ids)) if conn.dialect.name == "sqlite" else list(ids)


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
        groups.setdefault(tuple(row), []).append(row)
    for keys, group in groups.items():
        _execute_upsert(conn, spec.kind, keys, group)
    return accepted, len(rows) - accepted, _touched_conversations(spec, latest.values(), previous_conversations)


def _existing(conn: Connection, spec: KindSpec, latest: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Ids of the batch already stored; for messages also the conversations they belonged to."""
    found = conn.execute(_existing_statement(conn.dialect.name, spec.kind), {"ids": id_list(conn, latest)})
    if spec.kind != "messages":
        return {row[0] for row in found}, set()
    existing: set[str] = set()
    previous: set[str] = set()
    for message_id, conversation_id in found:
        existing.add(message_id)
        if conversation_id != latest[message_id]["conversation_id"]:
            previous.add(conversation_id)  # a message moved between conversations: recompute both
    return existing, previous


@lru_cache(maxsize=32)
def _existing_statement(dialect: str, kind: str) -> Any:
    spec = SPECS[kind]
    columns = spec.id_column + (", conversation_id" if kind == "messages" else "")
    return text(f"SELECT {columns} FROM {spec.table.name} WHERE {spec.id_column} {_ONE_OF[dialect]}")


def _touched_conversations(spec: KindSpec, rows: Iterable[dict[str, Any]], previous: set[str]) -> set[str]:
    if spec.kind == "messages":
        return {row["conversation_id"] for row in rows} | previous
    if spec.kind == "conversations":
        # Only conversations whose first response time was not imported explicitly can be derived.
        return {row["conversation_id"] for row in rows if row.get("first_response_computed") is not False}
    return set()


def _execute_upsert(conn: Connection, kind: str, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    dialect = conn.dialect.name
    if dialect != "sqlite":
        if "attrs" in keys:
            for row in rows:
                if row["attrs"] is None:
                    row["attrs"] = _SQL_NULL  # the JSON type would store None as the JSON text 'null'
        conn.execute(_upsert_statement(dialect, kind, keys), rows)
        return
    # SQLite: the Core statement compiled once, rows bound as tuples through the DBAPI executemany.
    # SQLAlchemy's per-value processing was half of the import time; the converters below produce
    # exactly what UTCDateTime + SQLite DATETIME and JSON would (a test checks the round trip).
    sql, getter, converters = _sqlite_upsert(kind, keys)
    params = []
    for row in rows:
        values = list(getter(row))
        for i, convert in converters:
            values[i] = convert(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


@lru_cache(maxsize=256)
def _sqlite_upsert(kind: str, keys: tuple[str, ...]) -> tuple[str, Any, list[tuple[int, Any]]]:
    from sqlalchemy.dialects import sqlite

    compiled = _upsert_statement("sqlite", kind, keys).compile(dialect=sqlite.dialect(), column_keys=list(keys))
    order = list(compiled.positiontup or [])
    table = SPECS[kind].table
    converters = [(i, f) for i, key in enumerate(order) if (f := _sqlite_converter(table.c[key].type))]
    getter = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
    return str(compiled), getter, converters


def _sqlite_converter(sa_type: Any) -> Any:
    if isinstance(sa_type, UTCDateTime):
        return _sqlite_datetime
    if isinstance(sa_type, JSON):
        return _sqlite_json
    return None


def _sqlite_datetime(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME storage format of the UTC instant: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value)


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
    where = f"WHERE conversation_id {_ONE_OF[dialect]} AND {_DERIVABLE}"
    set_seconds = text(f"UPDATE conversations SET first_response_seconds = {seconds} {where}")
    set_flag = text(
        "UPDATE conversations SET first_response_computed ="
        f" CASE WHEN first_response_seconds IS NULL THEN NULL ELSE :yes END {where}"
    )
    return set_seconds, set_flag


def recompute_first_response(conn: Connection, conversation_ids: Collection[str]) -> None:
    """Derive ``first_response_seconds`` from messages for these conversations, unless it was imported."""
    if not conversation_ids:
        return
    set_seconds, set_flag = _first_response_statements(conn.dialect.name)
    params = {"ids": id_list(conn, conversation_ids), "yes": True}
    conn.execute(set_seconds, params)
    conn.execute(set_flag, params)

