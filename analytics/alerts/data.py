"""What the detector reads: event and volume counts per bin, for every series at once.

Two readers fill the same :class:`Counts` shape:

- :func:`read_hours` — whole UTC hours from the hour-grain rollups (``rollups.hour_rows``: one statement
  per rollup for weeks of complaints by category, channel and product, conversations by channel, scored
  customer messages), for the seasonal baseline. Never raw rows.
- :func:`read_minutes` — the last minutes before ``now`` from raw rows by their time index: the sliding
  15/30/60-minute windows reach into the current, partial hour (and the end of the previous one), which
  no hour bucket holds yet. At most ``max(windows)`` minutes of rows, the same kind of raw edge read the
  rollups do for a window's partial hours.

Rows of ``events`` are series (:class:`SeriesKey`), rows of ``volume`` the denominators the complaint
*rate* is taken against: conversations overall, conversations per channel, scored customer messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, Integer, and_, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from analytics import rollups
from analytics.alerts.model import ALL, COMPLAINTS, NEGATIVE, SeriesKey
from analytics.store.models import Complaint, Conversation, Message

COMPLAINT = Complaint.__table__
CONV = Conversation.__table__
MSG = Message.__table__

CONV_ALL, MESSAGES = "conv", "msg"
COMPLAINT_DIMS = ("category", "channel", "product")


def conv_channel(channel: str) -> str:
    return f"conv:{channel}"


def epoch_minute(dt: datetime) -> int:
    return int(dt.timestamp()) // 60


def epoch_hour(dt: datetime) -> int:
    return int(dt.timestamp()) // 3600


def from_epoch_minute(m: int) -> datetime:
    return datetime.fromtimestamp(m * 60, UTC)


def from_epoch_hour(h: int) -> datetime:
    return datetime.fromtimestamp(h * 3600, UTC)


@dataclass
class Counts:
    """Counts per consecutive bin (a minute or an hour): bin ``i`` is epoch bin ``first + i``."""

    first: int
    events: dict[SeriesKey, np.ndarray]
    volume: dict[str, np.ndarray]
    bins: int

    def row(self, table: dict, key: object) -> np.ndarray:
        found = table.get(key)
        return found if found is not None else np.zeros(self.bins)


def _add(table: dict, key: object, bins: int, index: int, value: float) -> None:
    row = table.get(key)
    if row is None:
        row = table[key] = np.zeros(bins)
    row[index] += value


def _complaint_series(category: str, channel: str, product: str) -> Iterable[SeriesKey]:
    yield SeriesKey(COMPLAINTS)
    for dim, value in zip(COMPLAINT_DIMS, (category, channel, product), strict=True):
        if value:
            yield SeriesKey(COMPLAINTS, dim, value)


def _add_complaints(counts: Counts, rows: list, first: int, bins: int) -> None:
    """Hour rows (bucket, category, channel, product, n) into every complaint series, vectorised: five
    weeks are ~40k rows at 5M conversations a year, too many for a loop of dict updates per row."""
    if not rows:
        return
    index = np.fromiter((epoch_hour(_aware(r[0])) - first for r in rows), dtype=np.int64, count=len(rows))
    weight = np.fromiter((r[4] or 0 for r in rows), dtype=float, count=len(rows))
    keep = (index >= 0) & (index < bins)
    index, weight = index[keep], weight[keep]
    overall = SeriesKey(COMPLAINTS)
    counts.events[overall] = counts.row(counts.events, overall) + np.bincount(index, weight, minlength=bins)[:bins]
    for d, dim in enumerate(COMPLAINT_DIMS, start=1):
        values = np.array([r[d] or "" for r in rows], dtype=object)[keep]
        names, codes = np.unique(values.astype(str), return_inverse=True)
        for code, name in enumerate(names):
            if not name:
                continue
            mask = codes == code
            series = SeriesKey(COMPLAINTS, dim, str(name))
            counts.events[series] = counts.row(counts.events, series) + np.bincount(
                index[mask], weight[mask], minlength=bins)[:bins]


def read_hours(conn: Connection, start: datetime, end: datetime, families: Iterable[str]) -> Counts | None:
    """Whole UTC hours of [start, end) from the rollups; None while the conversation or complaint rollup
    is not ready (the negative-message family is left out while its rollup is not)."""
    first, last = epoch_hour(start), epoch_hour(end)
    bins = max(0, last - first)
    counts = Counts(first, {}, {}, bins)
    families = set(families)
    conv = rollups.hour_rows(conn, "conversations", ("channel",), start, end)
    if conv is None:
        return None
    for bucket, channel, n in conv:
        i = epoch_hour(_aware(bucket)) - first
        _add(counts.volume, CONV_ALL, bins, i, n or 0)
        if channel:
            _add(counts.volume, conv_channel(channel), bins, i, n or 0)
    if COMPLAINTS in families:
        rows = rollups.hour_rows(conn, "complaints", COMPLAINT_DIMS, start, end)
        if rows is None:
            return None
        _add_complaints(counts, rows, first, bins)
    rows = rollups.hour_rows(conn, "messages", (), start, end, ("n", "neg")) if NEGATIVE in families else None
    if rows is not None:  # no sentiment rollup yet: the family is left out, not the whole check
        for bucket, n, neg in rows:
            i = epoch_hour(_aware(bucket)) - first
            _add(counts.volume, MESSAGES, bins, i, n or 0)
            _add(counts.events, SeriesKey(NEGATIVE), bins, i, neg or 0)
    return counts


def _minute(column: ColumnElement, dialect: str) -> ColumnElement:
    """Epoch minute of a stored time, in SQL (binning in the database keeps a replay's year of rows out
    of Python)."""
    if dialect == "postgresql":
        return func.floor(func.extract("epoch", column) / 60).cast(Integer)
    seconds = func.cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    return seconds.op("/")(literal_column("60"))  # integer division in SQLite


def _binned(conn: Connection, column: ColumnElement, dims: list[ColumnElement], where: list[ColumnElement],
            origin: int, bins: int, extra: tuple[ColumnElement, ...] = ()) -> list[tuple]:
    minute = _minute(column, conn.dialect.name)
    stmt = (select(minute, *dims, func.count(), *extra).where(*where)
            .group_by(minute, *dims))
    return [(m - origin, *rest) for m, *rest in conn.execute(stmt) if 0 <= m - origin < bins]


def read_minutes(conn: Connection, start: datetime, end: datetime, families: Iterable[str]) -> Counts:
    """Raw rows of [start, end) counted per minute (in SQL); both ends whole minutes (a check at
    10:07:42 looks at the windows ending 10:07:00, as the backtest's clock does)."""
    origin, stop = int(start.timestamp()), int(end.timestamp())
    if origin % 60 or stop % 60:
        raise ValueError("minute counts need whole-minute ends")
    first, bins = origin // 60, max(0, (stop - origin) // 60)
    counts = Counts(first, {}, {}, bins)
    families = set(families)
    conv = CONV.c.started_at
    for i, channel, n in _binned(conn, conv, [CONV.c.channel], [conv >= start, conv < end], first, bins):
        _add(counts.volume, CONV_ALL, bins, i, n)
        if channel:
            _add(counts.volume, conv_channel(channel), bins, i, n)
    if COMPLAINTS in families:
        at = COMPLAINT.c.created_at
        dims = [COMPLAINT.c.category, COMPLAINT.c.channel, COMPLAINT.c.product]
        for i, category, channel, product, n in _binned(conn, at, dims, [at >= start, at < end], first, bins):
            for series in _complaint_series(category or "", channel or "", product or ""):
                _add(counts.events, series, bins, i, n)
    if NEGATIVE in families:
        at = MSG.c.sent_at
        where = [and_(at >= start, at < end), MSG.c.sender == "customer", MSG.c.sentiment.is_not(None)]
        neg = func.sum(case((MSG.c.sentiment_label == "neg", 1), else_=0))
        for i, n, n_neg in _binned(conn, at, [], where, first, bins, extra=(neg,)):
            _add(counts.volume, MESSAGES, bins, i, n)
            _add(counts.events, SeriesKey(NEGATIVE), bins, i, n_neg or 0)
    return counts


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def hour_span(now: datetime, weeks: int, neighbours: int, max_window: int) -> tuple[datetime, datetime]:
    """The whole hours a check at ``now`` (a whole minute) needs for its baseline: target hours from the
    one holding ``now − max_window``; the dispersion is estimated over the week of targets up to each,
    each looking back ``weeks`` weeks ± ``neighbours`` hours. Ends at ``now``'s hour (not included)."""
    top = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first_target = epoch_hour(now - timedelta(minutes=max_window))
    back = epoch_hour(top) - first_target + 167 + 168 * weeks + neighbours + 1
    return top - timedelta(hours=back), top


__all__ = ["ALL", "CONV_ALL", "MESSAGES", "Counts", "conv_channel", "epoch_hour", "epoch_minute",
           "from_epoch_hour", "from_epoch_minute", "hour_span", "read_hours", "read_minutes"]
