"""Conversations per hour ahead: a weekday × hour profile, scaled by the recent level and by promotions.

For a target hour (day ``D``, hour ``h``)::

    forecast = profile[p(D), h] × level × factor(D)

- ``p(D)``: the weekday profile ``D`` follows (:func:`analytics.staffing.days.profile` — its weekday, or a
  rest day's on a statutory holiday);
- ``profile[p, h]``: a trimmed mean (the highest and lowest left out once there are four or more) of the
  same profile-day × hour over the last ``history_weeks`` weeks — robust to one odd day nobody listed;
- ``level``: the last :data:`LEVEL_DAYS` days' conversations over what the profile expected for them,
  clamped to [0.5, 2] — growth or decline since the profile's weeks;
- ``factor(D)``: a ``[staffing] events`` promotion day's factor (双11 × 3), else 1.

Days listed as events are left out of the profile and of the level (a past 双11 is not a normal
Wednesday), and so are days before the data begins. Pure: the counts come in as a mapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from analytics.staffing.days import profile
from analytics.staffing.model import LEVEL_CLAMP, LEVEL_DAYS, Params

HourKey = tuple[date, int]  # (local date, local hour)


def trimmed_mean(values: Sequence[float]) -> float | None:
    """Mean without the highest and the lowest value once there are at least four; None when empty."""
    if not values:
        return None
    if len(values) >= 4:
        values = sorted(values)[1:-1]
    return sum(values) / len(values)


@dataclass(frozen=True)
class History:
    """Hourly counts of whole local hours in [first_day 00:00, end), zero where no row exists."""

    counts: Mapping[HourKey, float]
    first_day: date  # the first day with data
    end: HourKey  # the first hour not observed (the hour holding "now")

    def observed(self, key: HourKey) -> bool:
        return self.first_day <= key[0] and key < self.end

    def get(self, key: HourKey) -> float:
        return float(self.counts.get(key, 0.0))


@dataclass(frozen=True)
class Model:
    """The fitted profile and level; :meth:`predict` gives any future hour."""

    table: dict[tuple[int, int], float]  # (profile weekday, hour) -> conversations
    level: float
    params: Params
    days_used: int

    def base(self, day: date, hour: int) -> float:
        return self.table.get((profile(day, self.params.holidays), hour), 0.0)

    def predict(self, day: date, hour: int) -> float:
        event = self.params.event_on(day)
        return self.base(day, hour) * self.level * (event.factor if event else 1.0)


def _usable_days(history: History, params: Params, start: date) -> list[date]:
    """Days from ``start`` to the end of history that count towards the profile (not listed events)."""
    last = history.end[0]
    days, day = [], max(start, history.first_day)
    while day <= last:
        if params.event_on(day) is None:
            days.append(day)
        day += timedelta(days=1)
    return days


def fit(history: History, params: Params) -> Model:
    """The profile from the last ``history_weeks`` weeks before ``history.end`` and the recent level."""
    end_day = history.end[0]
    start = end_day - timedelta(days=7 * params.history_weeks)
    days = _usable_days(history, params, start)
    samples: dict[tuple[int, int], list[float]] = {}
    hour_all: dict[int, list[float]] = {}
    for day in days:
        p = profile(day, params.holidays)
        for hour in range(24):
            key = (day, hour)
            if history.observed(key):
                samples.setdefault((p, hour), []).append(history.get(key))
                hour_all.setdefault(hour, []).append(history.get(key))
    table: dict[tuple[int, int], float] = {}
    for p in range(7):
        for hour in range(24):
            value = trimmed_mean(samples.get((p, hour), ()))
            if value is None:  # this weekday not seen yet: the hour's mean over all days
                value = trimmed_mean(hour_all.get(hour, ())) or 0.0
            table[(p, hour)] = value
    model = Model(table, 1.0, params, len(days))
    return Model(table, _level(history, model, days), params, len(days))


def _level(history: History, model: Model, days: Iterable[date]) -> float:
    recent_from = history.end[0] - timedelta(days=LEVEL_DAYS)
    actual = expected = 0.0
    for day in days:
        if day < recent_from:
            continue
        for hour in range(24):
            if history.observed((day, hour)):
                actual += history.get((day, hour))
                expected += model.base(day, hour)
    if expected <= 0:
        return 1.0
    lo, hi = LEVEL_CLAMP
    return min(hi, max(lo, actual / expected))


def forecast(history: History, params: Params, days: Sequence[date]) -> tuple[Model, list[float]]:
    """The fitted model and the forecast of every hour of ``days`` (24 values per day, in order)."""
    model = fit(history, params)
    return model, [model.predict(day, hour) for day in days for hour in range(24)]


__all__ = ["History", "HourKey", "Model", "fit", "forecast", "trimmed_mean"]
