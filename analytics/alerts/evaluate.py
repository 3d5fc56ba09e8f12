"""One check at ``now`` (:func:`check`) and the replay of stored history through it (:func:`backtest`).

Both run the same three steps — :func:`analytics.alerts.detect.baseline` from the hour rollups,
:func:`analytics.alerts.detect.scan` over minute counts, :func:`analytics.alerts.detect.group` into one
signal per family — and the backtest feeds every signal to the same
:func:`analytics.alerts.lifecycle.decide` the scheduled job uses. The only difference is how much is
read at once: a check reads the baseline weeks and the last hour; the replay reads the hour rollups of
the whole period once and the minutes a week at a time, so a year takes one pass, not 500k reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection

from analytics.alerts.data import (
    Counts,
    epoch_hour,
    epoch_minute,
    from_epoch_hour,
    from_epoch_minute,
    hour_span,
    read_hours,
    read_minutes,
)
from analytics.alerts.detect import UNIT, baseline, group, scan, upper_bound
from analytics.alerts.lifecycle import Action, AlertState, decide
from analytics.alerts.model import Breach, DetectorParams, LifecycleParams, SeriesKey, Signal

CHUNK_MINUTES = 7 * 24 * 60


def _series(minutes, params: DetectorParams) -> list:  # noqa: ANN001
    return sorted(s for s, row in minutes.events.items() if float(row.sum()) >= params.min_count)


class HourCache:
    """The baseline's hour counts kept between checks: a check re-reads only the last ``fresh_hours``
    whole hours (late rows land there) and the hours new since the previous one, not five weeks of
    rollup rows; everything again after ``max_age`` or :meth:`clear` (call it after an import that may
    have reached further back)."""

    def __init__(self, fresh_hours: int = 3, max_age: timedelta = timedelta(hours=6)):
        self.fresh_hours, self.max_age = fresh_hours, max_age
        self._counts: Counts | None = None
        self._read_at: datetime | None = None

    def clear(self) -> None:
        self._counts = self._read_at = None

    @property
    def empty(self) -> bool:
        return self._counts is None

    def due(self, now: datetime) -> bool:
        """Whether the kept counts are missing or older than ``max_age`` (time for :meth:`prime`)."""
        return self._counts is None or self._read_at is None or now - self._read_at > self.max_age

    def prime(self, conn: Connection, now: datetime, params: DetectorParams) -> None:
        """Read every hour a check at ``now`` needs, in full — outside the checks (at start-up and in the
        background before ``max_age`` runs out), so no check pays for five weeks of rollup rows."""
        end = from_epoch_minute(epoch_minute(now))
        lo, hi = hour_span(end, params.baseline_weeks, params.neighbour_hours, params.max_window)
        fresh = read_hours(conn, lo, hi, params.families)
        if fresh is not None:
            self._counts, self._read_at = fresh, end

    def hours(self, conn: Connection, lo: datetime, hi: datetime, families: tuple[str, ...],
              now: datetime) -> Counts | None:
        old = self._counts
        first, last = epoch_hour(lo), epoch_hour(hi)
        if old is None or self._read_at is None or now - self._read_at > self.max_age or old.first > first:
            fresh = read_hours(conn, lo, hi, families)
            self._counts, self._read_at = fresh, now
            return fresh
        keep_until = min(old.first + old.bins, last) - self.fresh_hours
        tail = read_hours(conn, from_epoch_hour(max(keep_until, first)), hi, families)
        if tail is None:
            return None
        merged = Counts(first, {}, {}, last - first)
        for name in ("events", "volume"):
            table, new = getattr(merged, name), getattr(tail, name)
            for key in set(getattr(old, name)) | set(new):
                row = np.zeros(merged.bins)
                if key in getattr(old, name) and keep_until > first:
                    row[:keep_until - first] = getattr(old, name)[key][first - old.first:keep_until - old.first]
                if key in new:
                    row[tail.first - first:] = new[key]
                table[key] = row
        self._counts = merged
        return merged


def check(conn: Connection, now: datetime, params: DetectorParams,
          cache: HourCache | None = None) -> dict[str, Signal] | None:
    """Every family's signal for the windows ending at ``now`` (floored to the minute); None while the
    rollups cannot answer (not built yet). With a ``cache``, the baseline hours are read incrementally."""
    t = epoch_minute(now)
    end = from_epoch_minute(t)
    lo, hi = hour_span(end, params.baseline_weeks, params.neighbour_hours, params.max_window)
    if cache is None:
        hours = read_hours(conn, lo, hi, params.families)
    else:
        hours = cache.hours(conn, lo, hi, params.families, end)
    if hours is None:
        return None
    minutes = read_minutes(conn, end - timedelta(minutes=params.max_window), end, params.families)
    base = baseline(hours, (t - params.max_window) // 60, (t - 1) // 60 + 1, _series(minutes, params), params)
    found = scan(minutes, base, np.array([t]), params)
    return group(end, found.get(t), params.families)


@dataclass
class Replayed:
    """One alert the replay would have sent: opened (fired) and resolved, with its numbers when it fired."""

    key: str
    series: str
    opened_at: datetime
    first_breach_at: datetime
    lead: Breach
    resolved_at: datetime | None = None
    peak: Breach | None = None
    reminders: int = 0
    explained_by: list[str] = field(default_factory=list)

    def as_json(self, tz) -> dict:  # noqa: ANN001
        return {"opened_at": self.opened_at.astimezone(tz).isoformat(),
                "resolved_at": self.resolved_at.astimezone(tz).isoformat() if self.resolved_at else None,
                "series": self.series, "observed": round(self.lead.observed, 3),
                "expected": round(self.lead.expected, 3), "score": round(self.lead.score, 2),
                "window_minutes": self.lead.window_minutes,
                "peak_observed": round(self.peak.observed, 3) if self.peak else None,
                "reminders": self.reminders, "explained_by": self.explained_by}


def backtest(conn: Connection, start: datetime, end: datetime, detector: DetectorParams,
             lifecycle: LifecycleParams, interval_seconds: int,
             progress: Callable[[int, int], None] | None = None,
             on_send: Callable[[Action, AlertState, datetime], None] | None = None) -> list[Replayed]:
    """Replay [start, end) with a simulated clock stepping every ``interval_seconds`` (a multiple of 60):
    at each step the signals of :func:`check` — computed in bulk — go through ``decide``; returns the
    alerts it would have sent, alerts still firing at ``end`` with ``resolved_at`` None. ``on_send`` sees
    every message the lifecycle would send (action, the alert's state, the simulated time)."""
    if interval_seconds < 60 or interval_seconds % 60:
        raise ValueError("the check interval must be a whole number of minutes for a replay")
    step = interval_seconds // 60
    steps = np.arange(epoch_minute(start) + step, epoch_minute(end) + 1, step)
    if steps.size == 0:
        return []
    lo, _ = hour_span(from_epoch_minute(int(steps[0])), detector.baseline_weeks, detector.neighbour_hours,
                      detector.max_window)
    hours = read_hours(conn, lo, from_epoch_minute(int(steps[-1])), detector.families)
    if hours is None:
        raise ValueError("rollups are not built: run csbot rebuild rollups")
    states: dict[str, AlertState] = {}
    open_records: dict[str, Replayed] = {}
    done: list[Replayed] = []
    first = 0
    while first < steps.size:
        chunk = steps[(steps >= steps[first]) & (steps < steps[first] + CHUNK_MINUTES)]
        m0, m1 = int(chunk[0]) - detector.max_window, int(chunk[-1])
        minutes = read_minutes(conn, from_epoch_minute(m0), from_epoch_minute(m1), detector.families)
        base = baseline(hours, m0 // 60, (m1 - 1) // 60 + 1, _series(minutes, detector), detector)
        found = scan(minutes, base, chunk, detector)
        for t in chunk.tolist():
            breaches = found.get(t)
            if breaches is None and not states:
                continue
            now = from_epoch_minute(t)
            for key, signal in group(now, breaches, detector.families).items():
                state = states.get(key)
                if state is None and not signal.breaching:
                    continue
                decision = decide(state, signal, now, lifecycle)
                if on_send is not None and decision.action is not Action.NONE:
                    on_send(decision.action, decision.state or state, now)
                _record(decision.action, key, decision.state or state, now, open_records, done)
                if decision.state is None:
                    states.pop(key, None)
                else:
                    states[key] = decision.state
        first += chunk.size
        if progress is not None:
            progress(first, steps.size)
    done.extend(open_records.values())
    return sorted(done, key=lambda r: (r.opened_at, r.key))


def _record(action: Action, key: str, state: AlertState | None, now: datetime, open_records: dict[str, Replayed],
            done: list[Replayed]) -> None:
    if state is None:
        return
    if action is Action.SEND_FIRING:
        open_records[key] = Replayed(key, state.lead.series.label(), now, state.started_at, state.lead,
                                     peak=state.peak, explained_by=[b.series.label() for b in state.parts])
    elif action is Action.SEND_REMINDER and key in open_records:
        open_records[key].reminders += 1
    elif action is Action.SEND_RESOLVED and key in open_records:
        record = open_records.pop(key)
        record.resolved_at, record.peak = now, state.peak
        record.explained_by = [b.series.label() for b in state.parts]
        done.append(record)


@dataclass
class Band:
    """A series' last hours against what its baseline expected: per hour, the observed count, the
    expected count (rate × the volume actually seen that hour) and the top of the 99 % band of the count
    model. The last hour is the current one, partial (``partial``), counted up to the check."""

    series: SeriesKey
    hours: list[datetime]  # hour starts, UTC
    observed: list[float]
    expected: list[float]
    upper: list[float]
    partial: bool


def band(conn: Connection, series: SeriesKey, now: datetime, params: DetectorParams, hours: int = 24) -> Band | None:
    """:class:`Band` for the ``hours`` hours up to ``now`` (the chart of an alert); None while the rollups
    cannot answer. Whole hours from the hour rollups, the current hour from raw rows by minute."""
    end = from_epoch_minute(epoch_minute(now))
    top = epoch_hour(end)
    first = top - hours + 1
    lo, hi = hour_span(end, params.baseline_weeks, params.neighbour_hours, hours * 60)
    counts = read_hours(conn, lo, hi, (series.family,))
    if counts is None:
        return None
    partial = epoch_minute(end) > top * 60
    edge = read_minutes(conn, from_epoch_hour(top), end, (series.family,)) if partial else None
    base = baseline(counts, first, top + 1, [series], params)
    rate, inv_k = base.rate[series], base.inv_k[series]
    vkey = base.volume_of[series]
    out = Band(series, [], [], [], [], partial)
    for i, h in enumerate(range(first, top + 1)):
        if h < top:
            j = h - counts.first
            observed = float(counts.row(counts.events, series)[j])
            volume = 60.0 if vkey == UNIT else float(counts.row(counts.volume, vkey)[j])
        elif edge is not None:
            observed = float(edge.row(edge.events, series).sum())
            volume = float(edge.bins) if vkey == UNIT else float(edge.row(edge.volume, vkey).sum())
        else:
            observed, volume = 0.0, 0.0
        expected = float(rate[i] * volume)
        out.hours.append(from_epoch_hour(h))
        out.observed.append(observed)
        out.expected.append(expected)
        out.upper.append(upper_bound(expected, float(inv_k[i])))
    return out
