"""Incremental rollup maintenance by difference: the cost of an import batch does not grow with the table.

Before a batch is written, the rows it can change are aggregated per (hour, dimensions) — their *old*
contribution; after the write the same rows are aggregated again — their *new* contribution. The
difference is added to the hour, day and month buckets with one upsert per grain, and buckets whose
row count drops to zero are deleted, so the tables stay exactly what a rebuild would produce (floating
sums up to rounding). Batches in any time order cost the same: a shuffled export does not make every
batch recompute every hour it touches.

"The rows a batch can change" are selected by id: the batch's own rows, plus the rows that borrow
dimensions from them (complaints and messages of a conversation, returns of an order) and, for
messages, the conversations whose derived first response time they move.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Text, delete, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from analytics.rollup_specs import DAY, HOUR, MONTH, RollupSpec, bucket_expr, floor
from analytics.store.rollup_models import NULL_KEY

Key = tuple[Any, ...]  # (hour start, *dimension values)
Sums = dict[Key, list[Any]]
_CHUNK = 400


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def member_of(column: ColumnElement, ids: list[Any], dialect: str) -> ColumnElement:
    """``column IN ids``. On PostgreSQL as ``IN (SELECT unnest(:ids))``: a long literal IN-list on a
    freshly bulk-loaded table (statistics not yet analysed) was planned as a full scan, so every
    import batch got slower as the table grew; the array form is planned as an index lookup."""
    if dialect == "postgresql" and ids and all(isinstance(v, str) for v in ids):
        return column.in_(select(func.unnest(literal(list(ids), type_=ARRAY(Text)))))
    return column.in_(ids)


def _as_hour(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.strptime(str(value)[:13], "%Y-%m-%d %H").replace(tzinfo=UTC)


def contributions(conn: Connection, spec: RollupSpec, selector: ColumnElement, ids: Collection[str]) -> Sums:
    """Measures of the ``spec`` rows whose ``selector`` is in ``ids``, summed per (hour, dimensions)."""
    bucket = bucket_expr(spec.time, HOUR, conn.dialect.name)
    dims = [func.coalesce(expr, literal(NULL_KEY)) for expr in spec.dims.values()]
    n_dims = len(dims)
    out: Sums = {}
    for chunk in _chunks(sorted(ids)):
        stmt = (select(bucket, *dims, *spec.measures.values()).select_from(spec.source)
                .where(*spec.where, member_of(selector, chunk, conn.dialect.name)).group_by(bucket, *dims))
        for row in conn.execute(stmt):
            key = (_as_hour(row[0]), *row[1:1 + n_dims])
            values = [spec.coerce(name, v) for name, v in zip(spec.measures, row[1 + n_dims:], strict=True)]
            acc = out.get(key)
            if acc is None:
                out[key] = values
            else:
                for i, v in enumerate(values):
                    acc[i] += v
    return out


def _difference(spec: RollupSpec, old: Sums, new: Sums) -> Sums:
    zero = [spec.coerce(name, None) for name in spec.measures]
    delta: Sums = {}
    for key in old.keys() | new.keys():
        before, after = old.get(key, zero), new.get(key, zero)
        diff = [a - b for a, b in zip(after, before, strict=True)]
        if any(diff):
            delta[key] = diff
    return delta


def _upsert(dialect: str, spec: RollupSpec) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = spec.table
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=["grain", "bucket", *spec.dims],
                                      set_={m: table.c[m] + stmt.excluded[m] for m in spec.measures})


def apply(conn: Connection, spec: RollupSpec, old: Sums, new: Sums) -> None:
    """Add ``new - old`` to every grain of the ``spec`` rollup; drop buckets left with no rows."""
    delta = _difference(spec, old, new)
    if not delta:
        return
    table = spec.table
    names = list(spec.dims)
    upsert = _upsert(conn.dialect.name, spec)
    for grain in (HOUR, DAY, MONTH):
        rolled: Sums = {}
        for (hour, *dims), diff in delta.items():
            key = (floor(hour, grain), *dims)
            acc = rolled.get(key)
            if acc is None:
                rolled[key] = list(diff)
            else:
                for i, v in enumerate(diff):
                    acc[i] += v
        rows = [{"grain": grain, "bucket": key[0], **dict(zip(names, key[1:], strict=True)),
                 **dict(zip(spec.measures, diff, strict=True))} for key, diff in rolled.items()]
        conn.execute(upsert, rows)
        buckets = sorted({key[0] for key in rolled})
        for chunk in _chunks(buckets):
            conn.execute(delete(table).where(table.c.grain == grain, table.c.bucket.in_(chunk), table.c.n <= 0))


def rows_in(conn: Connection, column: ColumnElement, key: ColumnElement, ids: Collection[str]) -> set[Any]:
    """Distinct ``column`` values of the rows whose ``key`` is in ``ids``."""
    out: set[Any] = set()
    for chunk in _chunks(sorted(ids)):
        stmt = select(column).where(member_of(key, chunk, conn.dialect.name)).distinct()
        out.update(v for (v,) in conn.execute(stmt) if v is not None)
    return out


def hours_of(conn: Connection, spec: RollupSpec, key: ColumnElement, ids: Collection[str]) -> set[datetime]:
    """UTC hours of the ``spec`` rows whose ``key`` is in ``ids`` (for a recompute by hour)."""
    return {floor(t, HOUR) for t in rows_in(conn, spec.time, key, ids)}

