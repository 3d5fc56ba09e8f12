"""Reading the rollups: a window answered from whole buckets plus raw edge rows, in one statement.

:func:`totals` sums a rollup's measures, :func:`breakdown` gives a total with the top values of several
dimensions, :func:`top` the top values of one, :func:`grouped` every combination of some dimensions, :func:`hourly` sums per UTC hour, :func:`hour_rows` per hour and dimension values, :func:`rollup_quantiles.quantiles` reads percentiles off a histogram rollup, :func:`repeat_count`
counts orders whose predecessor lies in the window (复购率, see :mod:`analytics.rollups.repeat`). Each returns None when the rollup cannot answer (not
complete, a filter value of ``''``, no whole hour in the window, or inside :func:`disabled`): the
caller then computes from raw rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from analytics.rollups.series import series_repeat, series_totals
from analytics.rollups.specs import (
    DAY,
    HOUR,
    SPECS,
    RollupSpec,
    bucket_expr,
    ceil,
    cover,
    floor,
)
from analytics.store.rollup_models import NULL_KEY, RollupState

STATE = RollupState.__table__

_enabled: ContextVar[bool] = ContextVar("rollups_enabled", default=True)


@contextmanager
def disabled() -> Iterator[None]:
    """Compute metrics from raw rows only inside this block (benchmarks and cross-checks)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def is_ready(conn: Connection, kind: str) -> bool:
    """Whether the ``kind`` rollup is complete (only then is it read)."""
    row = conn.execute(select(STATE.c.ready).where(STATE.c.kind == kind)).first()
    return bool(row and row[0])


# -- reading -----------------------------------------------------------------------------------------
# Statements are built once per shape (rollup, grains of the whole buckets, number of raw edges, filter
# columns) with bound parameters, so a metric answer costs SQL time, not expression building.

Shape = tuple[str, tuple[str, ...], int, tuple[str, ...]]


def _readable(conn: Connection, spec: RollupSpec, filters: Mapping[str, str]) -> bool:
    """Whether ``spec``'s rollup may answer with these filters (enabled, complete, filter columns it has)."""
    if not _enabled.get():
        return False
    if any(key not in spec.dims or not value for key, value in filters.items()):
        return False  # '' is how NULL is stored: only raw rows can tell them apart
    return is_ready(conn, spec.kind)


def _quiet_end(conn: Connection, spec: RollupSpec, end: datetime) -> datetime:
    """``end`` moved to the farthest bucket boundary before the next raw row at or after it.

    A window that ends now ("今天", "本月") has no rows after its end, so it equals the window to the end of
    its day or month: whole buckets instead of up to a day of hour buckets and a raw partial hour (a
    month's 首响 histogram: 640 month rows instead of 7,600 day rows and 6,300 raw values). One index
    probe decides it. A row stamped after the end that is written between this probe and the read would
    be counted (on PostgreSQL, whose statements each see the latest commits) — a future-dated row
    arriving within milliseconds."""
    time = spec.time
    memo = _probes.get()  # within one answer or batch: one probe per raw table and end
    key = (time.table.name, end)
    if memo is not None and key in memo:
        nxt = memo[key]
    else:
        nxt = conn.execute(select(func.min(time)).select_from(time.table).where(time >= end)).scalar()
        if memo is not None:
            memo[key] = nxt
    if nxt is not None and nxt.tzinfo is None:
        nxt = nxt.replace(tzinfo=UTC)
    for grain in reversed(spec.grains):  # coarsest first
        boundary = ceil(end, grain)
        if nxt is None or boundary <= nxt:
            return boundary
    return end


_probes: ContextVar[dict[tuple[str, datetime], Any] | None] = ContextVar("rollup_probes", default=None)


@contextmanager
def probes() -> Iterator[None]:
    """Share next-row probes (:func:`_quiet_end`) among the reads of one answer: a metric that reads two
    rollups of the same raw table (首响's sums and histogram, 复购率's three reads) probes once."""
    if _probes.get() is not None:
        yield
        return
    token = _probes.set({})
    try:
        yield
    finally:
        _probes.reset(token)


def _usable(conn: Connection, spec: RollupSpec, start: datetime, end: datetime,
            filters: Mapping[str, str]) -> tuple[Shape, dict[str, Any]] | None:
    plan = cover(start, end, spec.grains[0])
    if plan is None or not _readable(conn, spec, filters):
        return None
    if plan.raw and plan.raw[-1][1] == end or plan.buckets[-1][0] != spec.grains[-1]:  # the end is not whole
        plan = cover(start, _quiet_end(conn, spec, end), spec.grains[0]) or plan
    keys = tuple(sorted(filters))
    params: dict[str, Any] = {f"f_{key}": filters[key] for key in keys}
    for i, (_, lo, hi) in enumerate(plan.buckets):
        params[f"lo{i}"], params[f"hi{i}"] = lo, hi
    for i, (lo, hi) in enumerate(plan.raw):
        params[f"rlo{i}"], params[f"rhi{i}"] = lo, hi
    return (spec.kind, tuple(g for g, _, _ in plan.buckets), len(plan.raw), keys), params


def _bucket_parts(spec: RollupSpec, shape: Shape, *columns: ColumnElement,
                  extra: tuple[ColumnElement, ...] = ()) -> list[Any]:
    """One SELECT per whole-bucket range: each is a contiguous primary-key range scan (no OR to de-duplicate)."""
    table = spec.table
    filters = [table.c[key] == bindparam(f"f_{key}") for key in shape[3]]
    return [select(*columns).where(table.c.grain == literal_column(f"'{grain}'"), table.c.bucket >= bindparam(f"lo{i}"),
                                   table.c.bucket < bindparam(f"hi{i}"), *filters, *extra)
            for i, grain in enumerate(shape[1])]


def _edge_parts(spec: RollupSpec, shape: Shape, *columns: ColumnElement, group_by: tuple[ColumnElement, ...] = (),
                extra: tuple[ColumnElement, ...] = ()) -> list[Any]:
    """One aggregate SELECT per raw edge range (under an hour of rows each, by the raw time index)."""
    filters = [spec.dims[key] == bindparam(f"f_{key}") for key in shape[3]]
    parts = []
    for i in range(shape[2]):
        stmt = (select(*columns).select_from(spec.source)
                .where(*spec.where, spec.time >= bindparam(f"rlo{i}"), spec.time < bindparam(f"rhi{i}"), *filters, *extra))
        parts.append(stmt.group_by(*group_by) if group_by else stmt)
    return parts


@lru_cache(maxsize=512)
def _totals_statement(shape: Shape) -> Any:
    spec = SPECS[shape[0]]
    table = spec.table
    parts = [*_bucket_parts(spec, shape, *[table.c[name].label(name) for name in spec.measures]),
             *_edge_parts(spec, shape, *[expr.label(name) for name, expr in spec.measures.items()])]
    both = union_all(*parts).subquery()
    return select(*[func.sum(both.c[name]) for name in spec.measures])


@lru_cache(maxsize=512)
def _top_statement(shape: Shape, dim: str, measure: str, limit: int) -> Any:
    spec = SPECS[shape[0]]
    table = spec.table
    raw_dim = spec.dims[dim]
    parts = [*_bucket_parts(spec, shape, table.c[dim].label("k"), table.c[measure].label("v")),
             *_edge_parts(spec, shape, raw_dim.label("k"), spec.measures[measure].label("v"), group_by=(raw_dim,),
                          extra=(raw_dim.is_not(None),))]
    both = union_all(*parts).subquery()
    total = func.sum(both.c.v)
    return (select(both.c.k, total).where(both.c.k != literal_column(f"'{NULL_KEY}'")).group_by(both.c.k)
            .having(total > 0).order_by(total.desc(), both.c.k.asc()).limit(limit))


@lru_cache(maxsize=512)
def _breakdown_statement(shape: Shape, dims: tuple[str, ...], measure: str, limit: int) -> Any:
    """Total of ``measure`` and the top ``limit`` values of each of ``dims`` in one pass over the rows.

    The rows are grouped once by all ``dims`` (a small, materialised set), then ranked per dimension in
    SQL — count desc, value asc, in the database's own collation like the raw queries.
    """
    spec = SPECS[shape[0]]
    table = spec.table
    names = [f"d{i}" for i in range(len(dims))]
    raw = [func.coalesce(spec.dims[d], literal(NULL_KEY)) for d in dims]
    parts = [*_bucket_parts(spec, shape, *[table.c[d].label(n) for d, n in zip(dims, names, strict=True)],
                            table.c[measure].label("v")),
             *_edge_parts(spec, shape, *[r.label(n) for r, n in zip(raw, names, strict=True)],
                          spec.measures[measure].label("v"), group_by=tuple(raw))]
    both = union_all(*parts).subquery()
    grouped = (select(*[both.c[n] for n in names], func.sum(both.c.v).label("v"))
               .group_by(*[both.c[n] for n in names]).cte("g").prefix_with("MATERIALIZED"))
    ranked = [select(literal(-1).label("which"), literal(NULL_KEY).label("k"), func.sum(grouped.c.v).label("v"))]
    for i, n in enumerate(names):
        ranked.append(select(literal(i).label("which"), grouped.c[n].label("k"), func.sum(grouped.c.v).label("v"))
                      .where(grouped.c[n] != literal_column(f"'{NULL_KEY}'")).group_by(grouped.c[n]))
    every = union_all(*ranked).subquery()
    rank = func.row_number().over(partition_by=every.c.which, order_by=(every.c.v.desc(), every.c.k.asc()))
    numbered = select(every.c.which, every.c.k, every.c.v, rank.label("rn")).subquery()
    return (select(numbered.c.which, numbered.c.k, numbered.c.v)
            .where(or_(numbered.c.which < 0, and_(numbered.c.rn <= limit, numbered.c.v > 0)))
            .order_by(numbered.c.which, numbered.c.rn))


@lru_cache(maxsize=512)
def _grouped_statement(shape: Shape, dims: tuple[str, ...], measures: tuple[str, ...]) -> Any:
    spec = SPECS[shape[0]]
    table = spec.table
    names = [f"d{i}" for i in range(len(dims))]
    # numeric dimensions (rollup_frt's value) are never NULL and would not coalesce with '' on PostgreSQL
    raw = [spec.dims[d] if d in spec.value_dims else func.coalesce(spec.dims[d], literal(NULL_KEY)) for d in dims]
    parts = [*_bucket_parts(spec, shape, *[table.c[d].label(n) for d, n in zip(dims, names, strict=True)],
                            *[table.c[m].label(m) for m in measures]),
             *_edge_parts(spec, shape, *[r.label(n) for r, n in zip(raw, names, strict=True)],
                          *[spec.measures[m].label(m) for m in measures], group_by=tuple(raw))]
    both = union_all(*parts).subquery()
    keys = [both.c[n] for n in names]
    return select(*keys, *[func.sum(both.c[m]) for m in measures]).group_by(*keys)


def grouped(conn: Connection, kind: str, dims: tuple[str, ...], start: datetime, end: datetime,
            filters: Mapping[str, str], measures: tuple[str, ...] | None = None
            ) -> list[tuple[tuple[str, ...], dict[str, int | float]]] | None:
    """Every combination of ``dims`` values with the sums of ``measures`` (all by default) over the window,
    NULL values as ``''``; None = answer from raw rows."""
    spec = SPECS[kind]
    usable = _usable(conn, spec, start, end, filters)
    if usable is None:
        return None
    shape, params = usable
    measures = measures or tuple(spec.measures)
    out = []
    for row in conn.execute(_grouped_statement(shape, dims, measures), params):
        keys, values = tuple(str(k) for k in row[:len(dims)]), row[len(dims):]
        out.append((keys, {m: spec.coerce(m, v) for m, v in zip(measures, values, strict=True)}))
    return out


@lru_cache(maxsize=64)
def _hourly_statement(kind: str, filters: tuple[str, ...], measure: str, dialect: str) -> Any:
    spec = SPECS[kind]
    table = spec.table
    whole = (select(table.c.bucket.label("b"), table.c[measure].label("v"))
             .where(table.c.grain == literal_column(f"'{HOUR}'"), table.c.bucket >= bindparam("first"),
                    table.c.bucket < bindparam("last"), *[table.c[k] == bindparam(f"f_{k}") for k in filters]))
    hour = bucket_expr(spec.time, HOUR, dialect)
    edges = [select(hour.label("b"), spec.measures[measure].label("v")).select_from(spec.source)
             .where(*spec.where, spec.time >= bindparam(lo), spec.time < bindparam(hi),
                    *[spec.dims[k] == bindparam(f"f_{k}") for k in filters]).group_by(hour)
             for lo, hi in (("start", "first"), ("last", "end"))]
    both = union_all(whole, *edges).subquery()
    return select(both.c.b, func.sum(both.c.v)).group_by(both.c.b)


@lru_cache(maxsize=64)
def _hour_rows_statement(kind: str, dims: tuple[str, ...], measures: tuple[str, ...]) -> Any:
    table = SPECS[kind].table
    keys = [table.c[d] for d in dims]
    return (select(table.c.bucket, *keys, *[func.sum(table.c[m]) for m in measures])
            .where(table.c.grain == literal_column(f"'{HOUR}'"), table.c.bucket >= bindparam("lo"),
                   table.c.bucket < bindparam("hi"))
            .group_by(table.c.bucket, *keys))


def hour_rows(conn: Connection, kind: str, dims: tuple[str, ...], start: datetime, end: datetime,
              measures: tuple[str, ...] = ("n",)) -> list[tuple[Any, ...]] | None:
    """The whole UTC hours of [start, end) as (hour bucket as stored, *dims values, *sums of ``measures``),
    one row per hour and combination of ``dims`` (NULL as ``''``), from hour-grain rows only — partial
    hours at the ends are left out for the caller's own raw edge read. One statement for many hours and
    series at once (alert baselines: weeks of complaints by category, channel and product); None = the
    rollup cannot answer."""
    spec = SPECS[kind]
    if HOUR not in spec.grains or not _readable(conn, spec, {}):
        return None
    lo, hi = ceil(start, HOUR), floor(end, HOUR)
    if lo >= hi:
        return []
    return [tuple(row) for row in conn.execute(_hour_rows_statement(kind, dims, measures), {"lo": lo, "hi": hi})]


def hourly(conn: Connection, kind: str, start: datetime, end: datetime, filters: Mapping[str, str],
           measure: str = "n") -> list[tuple[Any, int | float]] | None:
    """``measure`` per UTC hour of the window (hour-grain rows, the partial edge hours from raw rows), as
    (hour bucket as stored, sum); None = answer from raw rows. For hour-of-day and weekday profiles."""
    spec = SPECS[kind]
    if HOUR not in spec.grains or _usable(conn, spec, start, end, filters) is None:
        return None
    first, last = ceil(start, HOUR), floor(end, HOUR)
    keys = tuple(sorted(filters))
    params: dict[str, Any] = {"start": start, "first": first, "last": last, "end": end,
                              **{f"f_{k}": filters[k] for k in keys}}
    stmt = _hourly_statement(kind, keys, measure, conn.dialect.name)
    return [(b, spec.coerce(measure, v)) for b, v in conn.execute(stmt, params)]


def breakdown(conn: Connection, kind: str, dims: tuple[str, ...], start: datetime, end: datetime,
              filters: Mapping[str, str], measure: str = "n",
              limit: int = 5) -> tuple[int, dict[str, list[tuple[str, int]]]] | None:
    """(total of ``measure``, {dim: top ``limit`` values}) in one statement; None = answer from raw rows."""
    usable = _usable(conn, SPECS[kind], start, end, filters)
    if usable is None:
        return None
    shape, params = usable
    total, tops = 0, {dim: [] for dim in dims}
    for which, key, value in conn.execute(_breakdown_statement(shape, dims, measure, limit), params):
        if which < 0:
            total = int(value or 0)
        else:
            tops[dims[which]].append((str(key), int(value)))
    return total, tops


def totals(conn: Connection, kind: str, start: datetime, end: datetime,
           filters: Mapping[str, str]) -> dict[str, int | float] | None:
    """Sums of the ``kind`` measures over [start, end) with ``filters``; None = answer from raw rows."""
    spec = SPECS[kind]
    batched = _batched_totals(conn, spec, start, end, filters)
    if batched is not _MISS:
        return batched
    usable = _usable(conn, spec, start, end, filters)
    if usable is None:
        return None
    shape, params = usable
    row = conn.execute(_totals_statement(shape), params).one()
    return {name: spec.coerce(name, value) for name, value in zip(spec.measures, row, strict=True)}


def top(conn: Connection, kind: str, dim: str, start: datetime, end: datetime, filters: Mapping[str, str],
        measure: str = "n", limit: int = 5) -> list[tuple[str, int]] | None:
    """The ``limit`` largest ``dim`` values by ``measure`` (ties by value), NULLs left out; None = use raw."""
    usable = _usable(conn, SPECS[kind], start, end, filters)
    if usable is None:
        return None
    shape, params = usable
    return [(str(key), int(value)) for key, value in conn.execute(_top_statement(shape, dim, measure, limit), params)]


# -- 复购率: orders in the window whose k-th predecessor is in it too -----------------------------------------

@lru_cache(maxsize=256)
def _repeat_statement(shape: Shape) -> Any:
    """#{orders o in the window : prev_k(o) ≥ start}: whole buckets whose predecessor day starts on or after
    ``:pday`` (the first UTC midnight ≥ start), orders of the whole buckets whose predecessor lies in
    [start, pday), and the raw edge orders with prev_k ≥ start."""
    spec = SPECS[shape[0]]
    table, pointer = spec.table, spec.dims["pday"]
    filters = [spec.dims[key] == bindparam(f"f_{key}") for key in shape[3]]
    first_day = (select(func.count().label("n")).select_from(spec.source)
                 .where(spec.time >= bindparam("span_lo"), spec.time < bindparam("span_hi"),
                        pointer >= bindparam("pstart"), pointer < bindparam("pday", type_=pointer.type), *filters))
    parts = [*_bucket_parts(spec, shape, table.c.n.label("n"), extra=(table.c.pday >= bindparam("pday"),)),
             # coalesce(): the edges are found by time; an index on the predecessor would walk the whole year
             *_edge_parts(spec, shape, func.count().label("n"),
                          extra=(func.coalesce(pointer, pointer) >= bindparam("pstart", type_=pointer.type),)),
             first_day]
    both = union_all(*parts).subquery()
    return select(func.sum(both.c.n))


def repeat_count(conn: Connection, kind: str, start: datetime, end: datetime, filters: Mapping[str, str]) -> int | None:
    """Orders in [start, end) whose k-th predecessor (the ``kind`` rollup's) is at or after ``start``;
    None = answer from raw rows."""
    spec = SPECS[kind]
    batched = _batched_repeat(conn, spec, start, end, filters)
    if batched is not _MISS:
        return batched
    usable = _usable(conn, spec, start, end, filters)
    if usable is None:
        return None
    shape, params = usable
    params.update(pstart=start, pday=ceil(start, DAY), span_lo=min(params[f"lo{i}"] for i in range(len(shape[1]))),
                  span_hi=max(params[f"hi{i}"] for i in range(len(shape[1]))))
    return int(conn.execute(_repeat_statement(shape), params).scalar_one() or 0)


# -- many windows at once (trend series, the /概览 card) ------------------------------------------------
# Inside :func:`batch`, :func:`totals` and :func:`repeat_count` answer any of the batch's windows from sums
# fetched for all of them at once (analytics.rollups.series), per rollup and filters, on first use: one
# statement per series instead of one or more per point.

_MISS: Any = object()


class _Batch:
    def __init__(self, windows: list[tuple[datetime, datetime]]) -> None:
        self.windows = list(dict.fromkeys(windows))
        self.index = {w: i for i, w in enumerate(self.windows)}
        self.found: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}


_batch: ContextVar[_Batch | None] = ContextVar("rollup_batch", default=None)


@contextmanager
def batch(windows: list[tuple[datetime, datetime]]) -> Iterator[None]:
    """Answer :func:`totals` and :func:`repeat_count` for these [start, end) windows from one fetch each."""
    token = _batch.set(_Batch(windows))
    try:
        with probes():
            yield
    finally:
        _batch.reset(token)


def _lookup(conn: Connection, spec: RollupSpec, start: datetime, end: datetime, filters: Mapping[str, str],
            fetch: Any) -> Any:
    current = _batch.get()
    if current is None or (start, end) not in current.index:
        return _MISS
    key = (spec.kind, tuple(sorted(filters.items())))
    if key not in current.found:
        current.found[key] = fetch(conn, spec, current.windows, filters) if _readable(conn, spec, filters) else None
    found = current.found[key]
    if found is None:
        return _MISS
    return found.get(current.index[(start, end)], _MISS)


def _batched_totals(conn: Connection, spec: RollupSpec, start: datetime, end: datetime,
                    filters: Mapping[str, str]) -> Any:
    if HOUR not in spec.grains:
        return _MISS
    return _lookup(conn, spec, start, end, filters, series_totals)


def _batched_repeat(conn: Connection, spec: RollupSpec, start: datetime, end: datetime,
                    filters: Mapping[str, str]) -> Any:
    if cover(start, end, DAY) is not None:  # a whole UTC day: the day/month rollups answer it (repeat_count)
        return _MISS
    return _lookup(conn, spec, start, end, filters, series_repeat)
