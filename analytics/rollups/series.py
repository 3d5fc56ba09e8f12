"""Sums of many windows in one statement per rollup (trend series, the /概览 card; see read.batch).

:func:`series_totals` writes each window as signed ranges (``specs.signed_cover``) and fetches
the distinct ranges with :func:`range_sums`; :func:`series_repeat` counts 复购率's predecessors for the
windows without a whole UTC day. The ranges travel as one JSON parameter, so each statement compiles
once whatever their number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Integer, String, and_, bindparam, cast, func, select, true, union_all
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import column

from analytics.rollups.specs import DAY, RAW, SPECS, RollupSpec, cover, signed_cover


def series_totals(conn: Connection, spec: RollupSpec, windows: list[tuple[datetime, datetime]],
                  filters: Mapping[str, str]) -> dict[int, dict[str, int | float]]:
    """Each window's measure sums as signed sums of distinct ranges (specs.signed_cover)."""
    plans = [signed_cover(lo, hi) for lo, hi in windows]
    ranges = list(dict.fromkeys((grain, lo, hi) for terms in plans for _, grain, lo, hi in terms))
    sums = range_sums(conn, spec, ranges, filters)
    out = {}
    for i, terms in enumerate(plans):
        acc = {name: 0 for name in spec.measures}
        for sign, grain, lo, hi in terms:
            part = sums.get((grain, lo, hi))
            if part:
                for name in spec.measures:
                    acc[name] += sign * part[name]
        out[i] = {name: spec.coerce(name, value) for name, value in acc.items()}
    return out


def _ranges_list(dialect: str, name: str) -> Any:
    """The ranges list (id, g, lo, hi) unpacked from one JSON parameter ``:name`` as a CTE.

    One parameter, not a VALUES list: the statement stays the same for any number of ranges, so it is
    built and compiled once (a 658-row VALUES list took 0.27 s to compile on every call)."""
    if dialect == "postgresql":
        rows = func.jsonb_to_recordset(cast(bindparam(name, type_=String), JSONB)).table_valued(
            column("id", Integer), column("g", String), column("lo", TIMESTAMP(timezone=True)),
            column("hi", TIMESTAMP(timezone=True))).render_derived(name=f"{name}_rows", with_types=True)
        return select(rows.c.id, rows.c.g, rows.c.lo, rows.c.hi).cte(name)
    each = func.json_each(bindparam(name, type_=String)).table_valued("value").alias(f"{name}_rows")
    return select(*[func.json_extract(each.c.value, f"$[{i}]").label(col) for i, col in enumerate(("id", "g", "lo", "hi"))]
                  ).cte(name)


def _ranges_param(conn: Connection, ranges: list[tuple[str, datetime, datetime]],
                  ids: list[int]) -> str:
    """The JSON for :func:`_ranges_list`: times as the column stores them (SQLite compares text)."""
    if conn.dialect.name == "postgresql":
        return json.dumps([{"id": i, "g": g, "lo": lo.isoformat(), "hi": hi.isoformat()}
                           for i, (g, lo, hi) in zip(ids, ranges, strict=True)])
    def as_stored(t: datetime) -> str:  # UTCDateTime on SQLite: UTC 'YYYY-MM-DD HH:MM:SS.ffffff' text
        return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    return json.dumps([[i, g, as_stored(lo), as_stored(hi)] for i, (g, lo, hi) in zip(ids, ranges, strict=True)])


def _per_range(dialect: str, r: Any, source: Any, conditions: list[ColumnElement], columns: list[Any]) -> Any:
    """``SELECT r.id, <aggregate columns>`` over the rows of ``source`` meeting ``conditions`` (which refer to
    the range row), per row of the ranges list ``r``. SQLite: a join grouped by id (it walks the list and
    searches the index per range). PostgreSQL: a LATERAL subquery per range, because its planner hash-joins
    such a list on the grain and filters every (range, bucket) pair — 82M comparisons for a year of days."""
    if dialect == "postgresql":
        sub = select(*columns).select_from(source).where(*conditions).lateral("x")
        return select(r.c.id, *[sub.c[c.name] for c in columns]).select_from(r.join(sub, true()))
    return select(r.c.id, *columns).select_from(r.join(source, and_(*conditions))).group_by(r.c.id)


@lru_cache(maxsize=256)
def _range_sums_statement(kind: str, keys: tuple[str, ...], whole: bool, edges: bool, dialect: str) -> Any:
    spec = SPECS[kind]
    table = spec.table
    parts = []
    if whole:
        r = _ranges_list(dialect, "r")
        parts.append(_per_range(dialect, r, table, [table.c.grain == r.c.g, table.c.bucket >= r.c.lo,
                                                    table.c.bucket < r.c.hi,
                                                    *[table.c[k] == bindparam(f"f_{k}") for k in keys]],
                                [func.sum(table.c[m]).label(m) for m in spec.measures]))
    if edges:
        e = _ranges_list(dialect, "e")
        parts.append(_per_range(dialect, e, spec.source, [spec.time >= e.c.lo, spec.time < e.c.hi, *spec.where,
                                                          *[spec.dims[k] == bindparam(f"f_{k}") for k in keys]],
                                [expr.label(m) for m, expr in spec.measures.items()]))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def range_sums(conn: Connection, spec: RollupSpec, ranges: list[tuple[str, datetime, datetime]],
               filters: Mapping[str, str]) -> dict[tuple[str, datetime, datetime], dict[str, int | float]]:
    """Measure sums of each (grain, lo, hi) range — rollup buckets of ``grain``, or raw rows for ``RAW`` —
    in one statement: the ranges, a list passed as JSON, joined to the rollup (an index range per
    range) and to the raw table."""
    if not ranges:
        return {}
    # Two lists: with the raw ranges among the bucket ranges, SQLite would scan the raw table and probe the list.
    whole, edges = [i for i, rg in enumerate(ranges) if rg[0] != RAW], [i for i, rg in enumerate(ranges) if rg[0] == RAW]
    keys = tuple(sorted(filters))
    params: dict[str, Any] = {f"f_{k}": filters[k] for k in keys}
    if whole:
        params["r"] = _ranges_param(conn, [ranges[i] for i in whole], whole)
    if edges:
        params["e"] = _ranges_param(conn, [ranges[i] for i in edges], edges)
    out = {}
    for row in conn.execute(_range_sums_statement(spec.kind, keys, bool(whole), bool(edges), conn.dialect.name), params):
        out[ranges[int(row[0])]] = {m: spec.coerce(m, v) for m, v in zip(spec.measures, row[1:], strict=True)}
    return out

def series_repeat(conn: Connection, spec: RollupSpec, windows: list[tuple[datetime, datetime]],
                  filters: Mapping[str, str]) -> dict[int, int]:
    """#{orders in the window whose predecessor (``spec``'s) is at or after its start}, for every window
    without a whole UTC day (nothing to read from day buckets): one pass over their raw orders."""
    short = [i for i, (lo, hi) in enumerate(windows) if cover(lo, hi, DAY) is None]
    if not short:
        return {}
    keys = tuple(sorted(filters))
    params = {"r": _ranges_param(conn, [(RAW, *windows[i]) for i in short], short),
              **{f"f_{k}": filters[k] for k in keys}}
    counts = {int(i): int(n) for i, n in conn.execute(_repeat_series_statement(spec.kind, keys, conn.dialect.name),
                                                        params)}
    return {i: counts.get(i, 0) for i in short}


@lru_cache(maxsize=64)
def _repeat_series_statement(kind: str, keys: tuple[str, ...], dialect: str) -> Any:
    spec = SPECS[kind]
    pointer = spec.dims["pday"]
    r = _ranges_list(dialect, "r")
    # prev < created < hi: bounding the predecessor too lets ix_order_prev* answer from the index alone
    conditions = [spec.time >= r.c.lo, spec.time < r.c.hi, pointer >= r.c.lo, pointer < r.c.hi,
                  *[spec.dims[k] == bindparam(f"f_{k}") for k in keys]]
    return _per_range(dialect, r, spec.source, conditions, [func.count().label("n")])
