"""Rollup maintenance: keep the ``rollup_*`` tables equal to the raw rows at every import batch.

- :func:`before_batch` / :func:`after_batch` wrap every import batch (``analytics.ingest``): the sums of
  the rows the batch can change are subtracted from the buckets before the write and added back after
  it (:mod:`analytics.rollups.delta`, all in SQL).
- :func:`refresh` recomputes given hours of one raw kind from raw rows, then the days and months that
  contain them: for writers that bypass the import layer.
- :func:`rebuild` recomputes everything (``csbot rollups rebuild``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    and_,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Join

from analytics.rollups import delta, repeat
from analytics.rollups.read import is_ready
from analytics.rollups.specs import (
    AFFECTED,
    CONV,
    LINKS,
    MSG,
    ORDER,
    SPECS,
    RollupSpec,
    bucket_expr,
    floor,
    merge_ranges,
    step,
)
from analytics.store.db import refresh_statistics
from analytics.store.rollup_models import REPEAT_TABLES, RollupState

log = logging.getLogger(__name__)

STATE = RollupState.__table__
KINDS = tuple(SPECS)
REPEAT_KINDS = frozenset(REPEAT_TABLES)
_CHUNK = 400  # buckets or ids per statement: well under SQLite's and PostgreSQL's parameter limits


# -- state ---------------------------------------------------------------------------------------

def _set_ready(conn: Connection, kind: str, ready: bool) -> None:
    conn.execute(delete(STATE).where(STATE.c.kind == kind))
    conn.execute(insert(STATE).values(kind=kind, ready=ready, built_at=datetime.now(UTC) if ready else None))


def invalidate(conn: Connection, kinds: Iterable[str] | None = None) -> None:
    """Stop reading these rollups (all by default) until the next rebuild or import batch rebuilds them."""
    for kind in kinds or KINDS:
        conn.execute(delete(SPECS[kind].table))
        _set_ready(conn, kind, False)


# -- maintenance -----------------------------------------------------------------------------------

def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _raw_select(spec: RollupSpec, dialect: str, where: list[ColumnElement]) -> Any:
    """The finest buckets of ``spec`` straight from raw rows."""
    finest = spec.grains[0]
    bucket = bucket_expr(spec.time, finest, dialect)
    dims = spec.keys(dialect)
    return (select(literal_column(f"'{finest}'"), bucket, *dims, *spec.measures.values())
            .select_from(spec.source).where(*spec.where, *where).group_by(bucket, *dims))


def _insert_columns(spec: RollupSpec) -> list[str]:
    return ["grain", "bucket", *spec.dims, *spec.measures]


def _refresh_finest(conn: Connection, spec: RollupSpec, starts: list[datetime]) -> None:
    """Recompute the finest buckets starting at ``starts`` from raw rows."""
    table, finest = spec.table, spec.grains[0]
    for chunk in _chunks(starts):
        conn.execute(delete(table).where(table.c.grain == finest, table.c.bucket.in_(chunk)))
        window = or_(*[and_(spec.time >= lo, spec.time < hi) for lo, hi in merge_ranges(chunk, finest)])
        conn.execute(insert(table).from_select(_insert_columns(spec), _raw_select(spec, conn.dialect.name, [window])))


def _derive(conn: Connection, spec: RollupSpec, grain: str, finer: str, buckets: list[datetime] | None) -> None:
    """(Re)compute ``grain`` buckets (all when ``buckets`` is None) as sums of the ``finer`` rollup rows."""
    table = spec.table
    bucket = bucket_expr(table.c.bucket, grain, conn.dialect.name)
    dims = [table.c[name] for name in spec.dims]

    def rebuild(where: list[ColumnElement]) -> None:
        sums = [func.sum(table.c[name]) for name in spec.measures]
        stmt = (select(literal_column(f"'{grain}'"), bucket, *dims, *sums)
                .where(table.c.grain == finer, *where).group_by(bucket, *dims))
        conn.execute(insert(table).from_select(_insert_columns(spec), stmt))

    if buckets is None:
        conn.execute(delete(table).where(table.c.grain == grain))
        rebuild([])
        return
    for chunk in _chunks(buckets):
        conn.execute(delete(table).where(table.c.grain == grain, table.c.bucket.in_(chunk)))
        rebuild([or_(*[and_(table.c.bucket >= b, table.c.bucket < step(b, grain)) for b in chunk])])


def refresh(conn: Connection, kind: str, hours: Collection[datetime]) -> None:
    """Recompute, for the UTC hours containing ``hours``, every rollup counting the raw rows of ``kind``
    (``conversations`` also refreshes the first-response histograms), with their days and months.
    The 复购率 rollups of ``orders`` are rebuilt whole (a predecessor can move in any hour)."""
    raw = SPECS[kind].id_column.table
    predecessors_current = False
    for spec in SPECS.values():
        if spec.id_column.table is not raw:
            continue
        if spec.kind in REPEAT_KINDS:  # a changed order moves the predecessors of later orders, in any hour
            _rebuild(conn, spec, predecessors_current)
            predecessors_current = True
        else:
            _refresh_spec(conn, spec, hours)


def _refresh_spec(conn: Connection, spec: RollupSpec, hours: Collection[datetime]) -> None:
    starts = sorted({floor(h, spec.grains[0]) for h in hours})
    if not starts:
        return
    _refresh_finest(conn, spec, starts)
    for finer, grain in zip(spec.grains, spec.grains[1:], strict=False):
        starts = sorted({floor(b, grain) for b in starts})
        _derive(conn, spec, grain, finer, starts)


def _rebuild(conn: Connection, spec: RollupSpec, predecessors_current: bool = False) -> int:
    """Recompute one rollup from raw rows; a 复购率 rollup first recomputes every order's predecessors
    unless the caller just did."""
    table = spec.table
    if spec.kind in REPEAT_KINDS and not predecessors_current:
        repeat.recompute(conn, None)
    conn.execute(delete(table))
    conn.execute(insert(table).from_select(_insert_columns(spec), _raw_select(spec, conn.dialect.name, [])))
    for finer, grain in zip(spec.grains, spec.grains[1:], strict=False):
        _derive(conn, spec, grain, finer, None)
    _set_ready(conn, spec.kind, True)
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def rebuild(engine: Engine, kind: str | None = None) -> dict[str, int]:
    """Recompute one rollup (or all) from raw rows, one transaction each; returns rows per rollup."""
    if kind is not None and kind not in SPECS:
        raise ValueError(f"未知的汇总类型 {kind!r}，可选: {', '.join(KINDS)}")
    return _rebuild_kinds(engine, [kind] if kind else list(KINDS))


def _rebuild_kinds(engine: Engine, kinds: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    predecessors_current = False
    for name in kinds:
        with engine.begin() as conn:
            counts[name] = _rebuild(conn, SPECS[name], predecessors_current)
        predecessors_current = predecessors_current or name in REPEAT_KINDS
        log.info("rollup %s rebuilt: %d rows", name, counts[name])
    refresh_statistics(engine)
    return counts


# -- import hooks ------------------------------------------------------------------------------------

_PG_LOCK = 0x63736274_726F6C6C  # one advisory lock serialises rollup maintenance between PostgreSQL writers


@dataclass
class Pending:
    """What :func:`before_batch` did: per rollup, the rows the batch can change (already subtracted)
    and the hours they occupied."""

    selectors: dict[str, tuple[ColumnElement, set[str]]] = field(default_factory=dict)
    old_hours: dict[str, set[datetime]] = field(default_factory=dict)
    customers: set[str] | None = None  # whose orders' predecessors to recompute (复购率), once per batch
    stored: dict[Any, dict[str, Any]] | None = None  # the batch rows as stored before it, watched columns only


def _ids(spec: RollupSpec, rows: Iterable[Mapping[str, Any]]) -> set[str]:
    return {row[spec.id_column.name] for row in rows if row.get(spec.id_column.name) is not None}


def _selector(conn: Connection, kind: str, target: str, rows: list[Mapping[str, Any]],
              pending: Pending) -> tuple[ColumnElement, set[str], set[str]]:
    """The ``target`` rows a batch of ``kind`` can change, as (column, ids, the ids whose rows are already
    stored — the only ones whose old sums there are to take out)."""
    own, spec = SPECS[kind], SPECS[target]
    if target in REPEAT_KINDS:  # the batch's own orders here; those whose predecessors move, in after_batch
        _repeat_customers(conn, kind, rows, pending)
    if spec.id_column.table is own.id_column.table:  # new rows, and rows whose time, dimensions or values change
        stored = _stored(conn, kind, rows, pending)
        ids = _changed(stored, own, rows, _inputs(spec))
        return own.id_column, ids, ids & stored.keys()
    if spec.id_column.table is CONV:  # messages move the derived first response of old and new conversations
        moved_from = delta.rows_in(conn, MSG.c.conversation_id, MSG.c.message_id, _ids(own, rows))
        linked = {row["conversation_id"] for row in rows if row.get("conversation_id")} | moved_from
        ids = _derivable(conn, linked)
        return CONV.c.conversation_id, ids, ids
    # Rows borrowing dimensions from the batch's rows (a conversation's agent, an order's channel): a new
    # conversation can have complaints already, so every selected id is subtracted.
    borrowed = _columns_of(spec.dims.values(), own.id_column.table)
    ids = _changed(_stored(conn, kind, rows, pending), own, rows, borrowed)
    return LINKS[target], ids, ids


@lru_cache(maxsize=16)
def _watched(kind: str) -> tuple[Column[Any], ...]:
    """Every column of ``kind``'s raw table that one of the rollups it affects depends on."""
    own = SPECS[kind].id_column.table
    found: dict[str, Column[Any]] = {}
    for target in AFFECTED[kind]:
        spec = SPECS[target]
        columns = _inputs(spec) if spec.id_column.table is own else _columns_of(spec.dims.values(), own)
        for column in columns:
            found.setdefault(column.name, column)
    if kind == "orders":
        for name in ("created_at", "customer_id", "channel", "product"):
            found.setdefault(name, ORDER.c[name])
    return tuple(found.values())


def _stored(conn: Connection, kind: str, rows: list[Mapping[str, Any]], pending: Pending) -> dict[Any, dict[str, Any]]:
    """The batch's rows as stored before the write (watched columns), read once per batch."""
    if pending.stored is None:
        own, columns = SPECS[kind], _watched(kind)
        pending.stored = {found[0]: dict(zip([c.name for c in columns], found[1:], strict=True))
                          for found in delta.rows_of(conn, own.id_column, list(columns), _ids(own, rows))}
    return pending.stored


def _repeat_customers(conn: Connection, kind: str, rows: list[Mapping[str, Any]], pending: Pending) -> set[str]:
    """The customers whose orders an orders batch can re-sequence (new orders, and orders that change time,
    customer, channel or product — old and new customer), once per batch; :func:`after_batch`
    recomputes their orders' predecessors."""
    if pending.customers is None:
        stored = _stored(conn, kind, rows, pending)
        changed = _changed(stored, SPECS["orders"], rows,
                           [ORDER.c.created_at, ORDER.c.customer_id, ORDER.c.channel, ORDER.c.product])
        customers = {row["customer_id"] for row in rows if row.get("order_id") in changed and row.get("customer_id")}
        customers |= {stored[i]["customer_id"] for i in changed if i in stored}  # the ones they leave
        pending.customers = customers
    return pending.customers


def _resequence(conn: Connection, pending: Pending) -> None:
    """复购率 after an orders write: the stored orders whose predecessors move (an order inserted before
    them, or leaving their customer) leave the rollups with their old predecessors, the predecessors are
    recomputed, and they come back with the batch's own orders. Appending a customer's newest order
    moves nobody else's, so a time-ordered export costs little more than its own rows."""
    assert pending.customers is not None
    moving = repeat.moved(conn, pending.customers)
    for target in REPEAT_KINDS & pending.selectors.keys():
        column, ids = pending.selectors[target]
        pending.old_hours[target] |= delta.shift(conn, SPECS[target], column, moving - ids, -1)
        pending.selectors[target] = (column, ids | moving)
    repeat.recompute(conn, pending.customers)


def _columns_of(exprs: Iterable[ColumnElement], table: Any) -> list[Column[Any]]:
    """The columns of ``table`` that the expressions read (a borrowed dimension can sit inside a CASE)."""
    found: dict[str, Column[Any]] = {}
    for expr in exprs:
        for node in visitors.iterate(expr):
            if isinstance(node, Column) and node.table is table:
                found.setdefault(node.name, node)
    return list(found.values())


def _inputs(spec: RollupSpec) -> list[Column[Any]]:
    """The columns of a rollup's own raw table that its buckets depend on (time, dimensions, measured
    values, conditions, join keys)."""
    own = spec.id_column.table
    exprs = [spec.time, *spec.dims.values(), *spec.measures.values(), *spec.where]
    source = spec.source
    while isinstance(source, Join):  # every join key, also under the cross join with a filter-rows table
        exprs.append(source.onclause)
        source = source.left
    return _columns_of(exprs, own)


def _changed(stored: Mapping[Any, Mapping[str, Any]], own: RollupSpec, rows: list[Mapping[str, Any]],
             columns: list[Column[Any]]) -> set[str]:
    """Ids of batch rows that are new or give one of ``columns`` a new value. An unchanged re-import
    (overlapping daily exports) therefore costs the rollups nothing."""
    changed = set()
    for row in rows:
        key = row.get(own.id_column.name)
        old = stored.get(key)
        if key is not None and (old is None or any(c.name in row and row[c.name] != old[c.name] for c in columns)):
            changed.add(key)
    return changed


def _derivable(conn: Connection, conversation_ids: Collection[str]) -> set[str]:
    """The stored conversations among these whose first response is derived from messages (an imported
    one, ``first_response_computed = false``, never changes when messages arrive)."""
    derivable = or_(CONV.c.first_response_computed.is_(None), CONV.c.first_response_computed.is_(True))
    return delta.rows_in(conn, CONV.c.conversation_id, CONV.c.conversation_id, conversation_ids, derivable)


def _restart_if_emptied(conn: Connection, spec: RollupSpec) -> None:
    """Raw rows deleted wholesale behind the rollups' back (``reset_data``): start the rollup from empty."""
    raw = spec.time.table
    if conn.execute(select(literal(1)).select_from(raw).limit(1)).first() is not None:
        return
    if conn.execute(select(literal(1)).select_from(spec.table).limit(1)).first() is not None:
        log.warning("%s is empty but its rollup is not: the rollup is reset", raw.name)
        conn.execute(delete(spec.table))


def defer_for_bulk_load(engine: Engine, kind: str) -> frozenset[str]:
    """Before importing a file of ``kind``: when its table is empty (a first load), the rollups counting
    its own rows are emptied, marked not ready and left out of the per-batch upkeep — one rebuild at the
    end (:func:`finish_bulk_load`) costs less than maintaining them batch by batch. Metrics read raw rows
    meanwhile. Rollups that only borrow dimensions from ``kind`` keep their per-batch upkeep."""
    if kind not in AFFECTED:
        return frozenset()
    own = SPECS[kind].id_column.table
    with engine.begin() as conn:
        if conn.execute(select(literal(1)).select_from(own).limit(1)).first() is not None:
            return frozenset()
        deferred = frozenset(t for t in AFFECTED[kind] if SPECS[t].id_column.table is own)
        invalidate(conn, sorted(deferred))
    return deferred


def finish_bulk_load(engine: Engine, deferred: Collection[str]) -> None:
    """Rebuild the rollups :func:`defer_for_bulk_load` set aside (also after a failed import: whatever
    rows were written are counted)."""
    if deferred:
        _rebuild_kinds(engine, [k for k in KINDS if k in deferred])


def before_batch(conn: Connection, kind: str, rows: list[Mapping[str, Any]], skip: Collection[str] = ()) -> Pending:
    """Call first inside the batch transaction, before the upsert: takes the old sums out of the rollups
    (except the ``skip`` ones, deferred to a rebuild)."""
    pending = Pending()
    if kind not in AFFECTED:
        return pending
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    for target in AFFECTED[kind]:
        if target not in skip and is_ready(conn, target):
            _restart_if_emptied(conn, SPECS[target])
            column, ids, stored = _selector(conn, kind, target, rows, pending)
            pending.selectors[target] = (column, ids)
            pending.old_hours[target] = delta.shift(conn, SPECS[target], column, stored, -1)
    return pending


def after_batch(conn: Connection, kind: str, rows: list[Mapping[str, Any]], pending: Pending,
                touched_conversations: Collection[str] = (), skip: Collection[str] = ()) -> None:
    """Call inside the batch transaction, after the upsert: puts the new sums in; drops emptied buckets."""
    if pending.customers is not None:
        _resequence(conn, pending)
    predecessors_current = pending.customers is not None
    for target in AFFECTED.get(kind, ()):
        spec = SPECS[target]
        if target in skip:
            continue
        if target not in pending.selectors:
            if spec.id_column.table is SPECS[kind].id_column.table and not is_ready(conn, target):
                log.info("building rollup %s from the existing rows", target)  # first import of this kind
                _rebuild(conn, spec, predecessors_current)
                predecessors_current = predecessors_current or target in REPEAT_KINDS
            continue
        column, ids = pending.selectors[target]
        delta.shift(conn, spec, column, ids, +1)
        delta.prune(conn, spec, pending.old_hours[target])
        if spec.id_column.table is CONV:  # the import recomputed these; all should have been selected above
            unseen = _derivable(conn, set(touched_conversations) - ids)
            if unseen:
                log.warning("%d conversations changed outside the rollup selection; recomputing", len(unseen))
                _refresh_spec(conn, spec, delta.hours_of(conn, spec, spec.id_column, unseen))
