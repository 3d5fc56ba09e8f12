"""Spike detection (analytics.alerts.detect) on counts built in memory, checked against plain loops."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy.stats import nbinom, poisson

from analytics.alerts import COMPLAINTS, DetectorParams, SeriesKey
from analytics.alerts.data import CONV_ALL, Counts, epoch_hour, epoch_minute
from analytics.alerts.detect import baseline, group, scan, tail_score

OVERALL = SeriesKey(COMPLAINTS)
LOGISTICS = SeriesKey(COMPLAINTS, "category", "物流")
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
PARAMS = DetectorParams(families=(COMPLAINTS,))
WEEKS = 6


def _hours(seed: int = 1, spike_at: int | None = None) -> Counts:
    """Six weeks of hours before NOW: ~300 conversations an hour on a daily curve, 5 % complaints."""
    rng = np.random.default_rng(seed)
    first = epoch_hour(NOW) - 168 * WEEKS
    bins = 168 * WEEKS
    hour_of_day = (np.arange(first, first + bins) + 8) % 24
    volume = rng.poisson(300 * (0.3 + np.sin(np.pi * hour_of_day / 24) ** 2)).astype(float)
    overall = rng.poisson(volume * 0.05).astype(float)
    logistics = rng.binomial(overall.astype(int), 0.4).astype(float)
    if spike_at is not None:
        overall[spike_at] += 200
        logistics[spike_at] += 200
    return Counts(first, {OVERALL: overall, LOGISTICS: logistics}, {CONV_ALL: volume}, bins)


def _plain_rate(hours: Counts, series: SeriesKey, target: int, p: DetectorParams) -> float:
    """The baseline rate for one target hour, by loops over the documented rule."""
    c_row, v_row = hours.events[series], hours.volume[CONV_ALL]
    samples = []
    for j in range(1, p.baseline_weeks + 1):
        for d in range(-p.neighbour_hours, p.neighbour_hours + 1):
            i = target - 168 * j + d - hours.first
            if 0 <= i < hours.bins:
                samples.append((float(c_row[i]), float(v_row[i])))
    total_c, total_v = sum(c for c, _ in samples), sum(v for _, v in samples)
    kept = []
    for c, v in samples:
        e = (total_c - c) / (total_v - v) * v
        if not (c >= 3 and c - e > p.outlier_z * math.sqrt(e + 0.1 * e * e) + 1):
            kept.append((c, v))
    span = 168 * p.baseline_weeks
    lo, hi = max(0, target - span - hours.first), target - hours.first
    period_c, period_v = float(sum(c_row[lo:hi])), float(sum(v_row[lo:hi]))
    prior, weight = max(period_c, 0.5) / period_v, period_v / span
    return (sum(c for c, _ in kept) + weight * prior) / (sum(v for _, v in kept) + weight)


def test_baseline_rate_equals_the_plain_rule():
    hours = _hours()
    target = epoch_hour(NOW)
    base = baseline(hours, target - 3, target + 1, [OVERALL, LOGISTICS], PARAMS)
    for series in (OVERALL, LOGISTICS):
        for k in range(4):
            assert base.rate[series][k] == pytest.approx(_plain_rate(hours, series, target - 3 + k, PARAMS),
                                                         rel=1e-12)
    assert 0.045 < base.rate[OVERALL][-1] < 0.055  # 5 % of conversations, as generated


def test_a_past_spike_is_left_out_of_its_own_baseline():
    target = epoch_hour(NOW)
    clean, spiked = _hours(), _hours(spike_at=target - 168 - _hours().first)  # same hour last week
    rate_clean = baseline(clean, target, target + 1, [OVERALL], PARAMS).rate[OVERALL][0]
    rate_spiked = baseline(spiked, target, target + 1, [OVERALL], PARAMS).rate[OVERALL][0]
    # the spike hour is dropped (with its ordinary complaints: one of 12 past hours less data); pooled, the
    # 200 extra complaints would have raised the rate by about 200 / (12 × ~250 conversations) ≈ +0.07
    assert rate_spiked == pytest.approx(rate_clean, rel=0.06)
    assert rate_spiked == pytest.approx(_plain_rate(spiked, OVERALL, target, PARAMS), rel=1e-12)


def _minutes(volume_per_min: float, complaints: dict[SeriesKey, list[int]]) -> Counts:
    """The 60 minutes before NOW; complaints[series] = per-minute counts (cycled)."""
    first = epoch_minute(NOW) - 60
    events = {s: np.resize(np.array(v, dtype=float), 60) for s, v in complaints.items()}
    return Counts(first, events, {CONV_ALL: np.full(60, volume_per_min)}, 60)


def test_scan_numbers_equal_a_plain_window_sum_and_scipy_tail():
    hours = _hours()
    t = epoch_minute(NOW)
    minutes = _minutes(5.0, {OVERALL: [0, 1, 0, 2, 3, 4, 0, 5], LOGISTICS: [0, 0, 0, 2, 3, 4, 0, 4]})
    base = baseline(hours, (t - 60) // 60, (t - 1) // 60 + 1, [OVERALL, LOGISTICS], PARAMS)
    found = scan(minutes, base, np.array([t]), PARAMS)
    by_series = {b.series: b for b in found[t]}
    assert set(by_series) == {OVERALL, LOGISTICS}
    for series, breach in by_series.items():
        events = minutes.events[series]
        w = breach.window_minutes
        observed = sum(events[60 - w:])
        rate = base.rate[series][0]  # all 60 minutes lie in one hour (13:00–14:00 local)
        expected = sum(rate * 5.0 for _ in range(w))
        inv_k = base.inv_k[series][0]
        size = 1 / inv_k
        p = nbinom.sf(observed - 1, size, size / (size + expected))
        assert breach.observed == observed and breach.expected == pytest.approx(expected, rel=1e-9)
        assert breach.score == pytest.approx(-math.log10(p), rel=1e-6)
        best = max(PARAMS.windows_minutes, key=lambda w: _score(events, w, rate * 5.0, inv_k))
        assert w == best


def _score(events: np.ndarray, w: int, per_minute: float, inv_k: float) -> float:
    o, e = float(sum(events[60 - w:])), per_minute * w
    if o < PARAMS.min_count or o < PARAMS.min_ratio * e:
        return -1.0
    size = 1 / inv_k
    return -math.log10(nbinom.sf(o - 1, size, size / (size + e)))


def test_a_promotion_with_the_same_rate_pages_nobody_but_a_rising_rate_does():
    hours = _hours()
    t = epoch_minute(NOW)
    base = baseline(hours, (t - 60) // 60, (t - 1) // 60 + 1, [OVERALL], PARAMS)
    usual = base.rate[OVERALL][0] * 5.0  # complaints a minute at 5 conversations a minute
    tripled_traffic = _minutes(15.0, {OVERALL: [round(usual * 3)] * 60})
    assert scan(tripled_traffic, base, np.array([t]), PARAMS) == {}
    tripled_rate = _minutes(5.0, {OVERALL: [round(usual * 3 * 10) if i % 10 == 0 else 0 for i in range(60)]})
    assert OVERALL in {b.series for b in scan(tripled_rate, base, np.array([t]), PARAMS)[t]}


def test_minimum_count_and_ratio_hold_even_when_significant():
    hours = _hours()
    t = epoch_minute(NOW)
    base = baseline(hours, (t - 60) // 60, (t - 1) // 60 + 1, [LOGISTICS], PARAMS)
    few = _minutes(0.01, {LOGISTICS: [0] * 53 + [1] * 7})  # 7 < min_count, though far above ~0
    assert scan(few, base, np.array([t]), PARAMS) == {}


def test_tail_score_is_poisson_without_overdispersion_and_wider_with_it():
    o, e = np.array([20.0]), np.array([5.0])
    assert tail_score(o, e, np.array([0.0]))[0] == pytest.approx(-math.log10(poisson.sf(19, 5.0)), rel=1e-9)
    assert tail_score(o, e, np.array([0.5]))[0] < tail_score(o, e, np.array([0.0]))[0]


def test_the_breakdown_explains_an_overall_spike_instead_of_paging_again():
    from analytics.alerts import Breach

    overall = Breach(OVERALL, 30, 40, 10, 8.0)
    logistics = Breach(LOGISTICS, 15, 30, 3, 12.0)
    product = Breach(SeriesKey(COMPLAINTS, "product", "羽绒服"), 15, 25, 2, 10.0)
    signals = group(NOW, [product, logistics, overall], (COMPLAINTS,))
    assert list(signals) == [COMPLAINTS]
    s = signals[COMPLAINTS]
    assert s.breaching and s.lead == overall and s.parts == (logistics, product)  # category before product
    # without the overall series breaching, a category leads before a product, even a stronger product
    stronger_product = Breach(SeriesKey(COMPLAINTS, "product", "羽绒服"), 15, 25, 2, 20.0)
    s = group(NOW, [stronger_product, logistics], (COMPLAINTS,))[COMPLAINTS]
    assert s.lead == logistics and s.parts == (stronger_product,)
    assert not group(NOW, None, (COMPLAINTS,))[COMPLAINTS].breaching
