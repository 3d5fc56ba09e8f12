"""Incremental rollup maintenance by difference: the cost of an import batch does not grow with the table.

Inside the batch transaction, before the rows are written, the rows the batch can change are
aggregated per bucket and dimensions and *subtracted* from the rollup (hour, day and month grains);
after the write the same rows are aggregated again and *added*. Buckets whose row count drops to zero
are deleted, so the tables stay exactly what a rebuild would produce (floating sums up to rounding).
Everything runs as ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` in the database: no row
goes through Python, and a batch in any time order costs the same — a shuffled export does not make
every batch recompute every hour it touches.

"The rows a batch can change" are selected by id: the batch's own rows, plus the rows that borrow
dimensions from them (complaints and messages of a conversation, returns of an order) and, for
messages, the conversations whose derived first response time they move.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ARRAY, Connection, Text, bindparam, cast, delete, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from analytics.rollups.specs import HOUR, SPECS, RollupSpec, bucket_expr, floor

_CHUNK = 2000  # ids per IN (...) list: well under SQLite's 32766 and PostgreSQL's 65535 parameters


def one_of(selector: ColumnElement, dialect: str) -> ColumnElement:
    """``selector`` is one of ``:ids``, bound as ONE parameter — a JSON array on SQLite, a text[] on
    PostgreSQL — so the statement text never changes and is prepared once whatever the batch size.
    (On PostgreSQL a subquery over unnest() is planned as index lookups; ``= ANY(:ids)`` can become a scan.)
    """
    if dialect == "postgresql":
        return selector.in_(select(func.unnest(cast(bindparam("ids"), ARRAY(Text)))))
    return selector.in_(select(literal_column("value")).select_from(func.json_each(bindparam("ids"))))


def ids_param(dialect: str, ids: Collection[str]) -> Any:
    return json.dumps(sorted(ids)) if dialect == "sqlite" else sorted(ids)


def chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _as_hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.strptime(str(value)[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


def _column(key: tuple[str, str]) -> ColumnElement:
    table, column = key
    return SQLModel.metadata.tables[table].c[column]


@lru_cache(maxsize=256)
def _shift_statement(kind: str, selector_key: tuple[str, str], grain: str, sign: int, dialect: str) -> Any:
    """``rollup[grain] += sign × (sums of the selected raw rows)`` as one upsert from a grouped SELECT."""
    selector = _column(selector_key)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    spec = SPECS[kind]
    table = spec.table
    bucket = bucket_expr(spec.time, grain, dialect)
    dims = spec.keys(dialect)
    measures = [expr if sign > 0 else -expr for expr in spec.measures.values()]
    grouped = (select(literal_column(f"'{grain}'"), bucket, *dims, *measures).select_from(spec.source)
               .where(*spec.where, one_of(selector, dialect)).group_by(bucket, *dims))
    stmt = insert(table).from_select(["grain", "bucket", *spec.dims, *spec.measures], grouped)
    return stmt.on_conflict_do_update(index_elements=["grain", "bucket", *spec.dims],
                                      set_={m: table.c[m] + stmt.excluded[m] for m in spec.measures})


@lru_cache(maxsize=64)
def _hours_statement(kind: str, selector_key: tuple[str, str], dialect: str) -> Any:
    spec, selector = SPECS[kind], _column(selector_key)
    bucket = bucket_expr(spec.time, HOUR, dialect)
    return select(bucket).select_from(spec.source).where(*spec.where, one_of(selector, dialect)).distinct()


def shift(conn: Connection, spec: RollupSpec, selector: ColumnElement, ids: Collection[str],
          sign: int) -> set[datetime]:
    """Add (``sign`` = 1) or remove (-1) the selected rows' sums on every grain.

    A removal returns the hours the rows occupied: only a removal can leave a bucket empty (see prune).
    """
    if not ids:
        return set()
    dialect, key = conn.dialect.name, (selector.table.name, selector.name)
    params = {"ids": ids_param(dialect, ids)}
    hours: set[datetime] = set()
    if sign < 0:
        hours = {_as_hour(v) for (v,) in conn.execute(_hours_statement(spec.kind, key, dialect), params)}
    for grain in spec.grains:
        conn.execute(_shift_statement(spec.kind, key, grain, sign, dialect), params)
    return hours


def prune(conn: Connection, spec: RollupSpec, hours: Collection[str | datetime]) -> None:
    """Delete the buckets containing ``hours`` that no longer count any row."""
    table = spec.table
    hour_starts = {floor(_as_hour(h), HOUR) for h in hours}
    for grain in spec.grains:
        for chunk in chunks(sorted({floor(h, grain) for h in hour_starts})):
            conn.execute(delete(table).where(table.c.grain == grain, table.c.bucket.in_(chunk), table.c.n <= 0))


def rows_in(conn: Connection, column: ColumnElement, key: ColumnElement, ids: Collection[str],
            *where: ColumnElement) -> set[Any]:
    """Distinct ``column`` values of the rows whose ``key`` is in ``ids`` (and ``where``)."""
    if not ids:
        return set()
    dialect = conn.dialect.name
    stmt = select(column).where(one_of(key, dialect), *where).distinct()
    return {v for (v,) in conn.execute(stmt, {"ids": ids_param(dialect, ids)}) if v is not None}


def rows_of(conn: Connection, key: ColumnElement, columns: list[ColumnElement], ids: Collection[str]) -> list[Any]:
    """(key, *columns) of the rows whose ``key`` is in ``ids``."""
    if not ids:
        return []
    dialect = conn.dialect.name
    stmt = select(key, *columns).where(one_of(key, dialect))
    return list(conn.execute(stmt, {"ids": ids_param(dialect, ids)}))


def hours_of(conn: Connection, spec: RollupSpec, key: ColumnElement, ids: Collection[str]) -> set[datetime]:
    """UTC hours of the ``spec`` rows whose ``key`` is in ``ids`` (for a recompute by hour)."""
    return {floor(t, HOUR) for t in rows_in(conn, spec.time, key, ids)}
