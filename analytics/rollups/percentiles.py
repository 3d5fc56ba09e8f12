"""Percentiles off a histogram rollup (首响's median and P90 from ``rollup_frt``): the window's histogram
from whole buckets plus raw edge rows grouped by value, and a running count picks the ranks in SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Connection, case, cast, func, literal, select, union_all

from analytics.rollups.read import Shape, _bucket_parts, _edge_parts, _usable
from analytics.rollups.specs import SPECS

Fraction = tuple[int, int]  # q as numerator/denominator: ranks are then exact integer arithmetic in SQL


@lru_cache(maxsize=256)
def _quantile_statement(shape: Shape, qs: tuple[Fraction, ...]) -> Any:
    """Total count and, per q, the values at ranks floor(q·(N−1)) and the one after (0-based).

    The histogram of the window (whole buckets + raw edge rows grouped by value) is summed per value, a
    running count is taken in value order, and each rank's value is the smallest with running count > rank.
    """
    spec = SPECS[shape[0]]
    table, value, count = spec.table, spec.dims["v"], spec.measures["n"]
    parts = [*_bucket_parts(spec, shape, table.c.v.label("v"), table.c.n.label("n")),
             *_edge_parts(spec, shape, value.label("v"), count.label("n"), group_by=(value,))]
    both = union_all(*parts).subquery()
    hist = select(both.c.v, func.sum(both.c.n).label("n")).group_by(both.c.v).subquery()
    running = select(hist.c.v, cast(func.sum(hist.c.n).over(order_by=hist.c.v), BigInteger).label("cum"),
                     cast(func.sum(hist.c.n).over(), BigInteger).label("total")).subquery()
    picks = []
    for num, den in qs:
        rank = literal(num, BigInteger) * (running.c.total - 1) // literal(den, BigInteger)
        picks += [func.min(case((running.c.cum > rank, running.c.v))),
                  func.min(case((running.c.cum > rank + 1, running.c.v)))]
    return select(func.max(running.c.total), *picks)


def quantiles(conn: Connection, kind: str, start: datetime, end: datetime, filters: Mapping[str, str],
              qs: tuple[Fraction, ...]) -> tuple[int, list[float | None]] | None:
    """(N, [percentile_cont(q) …]) of the histogram rollup ``kind``; None = answer from raw rows.

    The same linear interpolation as PostgreSQL's ``percentile_cont``: position q·(N−1) between the values
    at its floor and ceiling ranks; exact because the histogram holds exact values.
    """
    usable = _usable(conn, SPECS[kind], start, end, filters)
    if usable is None:
        return None
    shape, params = usable
    row = conn.execute(_quantile_statement(shape, qs), params).one()
    total = int(row[0] or 0)
    if total == 0:
        return 0, [None] * len(qs)
    out: list[float | None] = []
    for i, (num, den) in enumerate(qs):
        lo, hi = row[1 + 2 * i], row[2 + 2 * i]
        frac = (num * (total - 1)) % den / den
        out.append(float(lo) if hi is None or frac == 0 else float(lo) + (float(hi) - float(lo)) * frac)
    return total, out
