"""Spike detection: a seasonal, volume-scaled expected count and a negative-binomial tail test.

The model, for a series ``s`` (``投诉``, ``投诉 类别=物流``, ``负面消息占比`` …) and a window ``W`` ending at a check:

- **Rate, not count.** What is expected is a *rate* per unit of volume (complaints per conversation of
  the same channel, or of the shop; negative messages per scored customer message), learnt per
  weekday × hour, then multiplied by the volume actually seen in ``W``: a promotion that triples the
  conversations triples the expected complaints, so only a rising complaint *rate* pages.
- **Seasonal baseline** (:func:`baseline`): for the hour ``h`` of a check, the same hour of the past
  ``baseline_weeks`` weeks and ``neighbour_hours`` hours either side (12 past hours by default). A past
  hour far above what the others predict (leave-one-out, ``outlier_z`` standard deviations) is a spike
  and is left out of its own baseline; the rest are pooled (Σ events / Σ volume) and shrunk towards the
  series' rate over the whole baseline period with the weight of one average hour, so sparse series
  do not swing with one complaint.
- **Count model**: the observed count ``O`` in ``W`` against ``E`` = Σ rate × volume per minute, as a
  negative binomial with variance ``E + E²/k``. ``1/k`` is the over-dispersion estimated from the same
  past hours over the last week of checks (method of moments on leave-one-out residuals; a sparse
  series' estimate is shrunk towards its family's overall one with the weight of Σ expected² = 20) plus
  the relative uncertainty of the baseline itself (``1 / pooled count``).
- **A window breaches** when ``O ≥ min_count``, ``O ≥ min_ratio × E`` and ``P(X ≥ O) ≤ significance``;
  ``score`` = −log10 P. Windows of 15, 30 and 60 minutes: a sharp spike shows in the short one first, a
  slower one in the long one.

Everything is vectorised over the checks and minutes it is given, so one live check (one step) and a
year's replay (:mod:`analytics.alerts.backtest`, ~500k steps) run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import nbinom, poisson

from analytics.alerts.data import CONV_ALL, MESSAGES, Counts, conv_channel
from analytics.alerts.model import COMPLAINTS, NEGATIVE, Breach, DetectorParams, SeriesKey, Signal

WEEK = 168
_RANK = {"*": 0, "category": 1, "channel": 2, "product": 3}  # which breaching series names the alert
UNIT = "unit"  # a volume of one per minute: the series has no denominator data (no conversations imported)
_LN10 = np.log(10.0)
DISPERSION_PRIOR = 20.0
_PROVISIONAL_DISPERSION = 0.1  # for telling a past spike from noise before the dispersion is known


@dataclass
class Baseline:
    """Expected rate per unit of volume and 1/k for each series and target hour (epoch ``first + i``)."""

    first: int
    rate: dict[SeriesKey, np.ndarray]
    inv_k: dict[SeriesKey, np.ndarray]
    volume_of: dict[SeriesKey, str]


def volume_key(series: SeriesKey, hours: Counts) -> str:
    """The denominator a series' rate is taken against, falling back when that volume was never seen."""
    def seen(key: str) -> bool:
        row = hours.volume.get(key)
        return row is not None and float(row.sum()) > 0

    if series.family == NEGATIVE:
        return MESSAGES if seen(MESSAGES) else UNIT
    if series.dim == "channel" and seen(conv_channel(series.key)):
        return conv_channel(series.key)
    return CONV_ALL if seen(CONV_ALL) else UNIT


def _volume(counts: Counts, key: str, per_bin: float) -> np.ndarray:
    return np.full(counts.bins, per_bin) if key == UNIT else counts.row(counts.volume, key)


def _lagged(row: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``row`` at hour offsets ``idx`` (0 outside it) and where it exists."""
    valid = (idx >= 0) & (idx < row.size)
    if row.size == 0:
        return np.zeros(idx.shape), valid
    return np.where(valid, row[np.clip(idx, 0, row.size - 1)], 0.0), valid


def baseline(hours: Counts, first: int, last: int, series: list[SeriesKey], params: DetectorParams) -> Baseline:
    """Rates and 1/k for target hours [first, last) (epoch hours) from the whole hours in ``hours``."""
    k_weeks, n = params.baseline_weeks, params.neighbour_hours
    offsets = np.array([-WEEK * j + d for j in range(1, k_weeks + 1) for d in range(-n, n + 1)])
    lead_in = WEEK - 1  # the dispersion at hour h is estimated over the targets (h − 168, h]
    targets = np.arange(first - lead_in, last) - hours.first
    idx = targets[None, :] + offsets[:, None]
    span = WEEK * k_weeks
    out = Baseline(first, {}, {}, {})
    moments: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = {}
    overall = sorted({SeriesKey(s.family) for s in series} - set(series))
    for s in [*series, *overall]:
        vkey = volume_key(s, hours)
        out.volume_of[s] = vkey
        c_all = hours.row(hours.events, s)
        v_all = _volume(hours, vkey, 60.0)
        c, valid = _lagged(c_all, idx)
        v, _ = _lagged(v_all, idx)
        rate_loo = _safe_div(c.sum(0) - c, v.sum(0) - v)
        e = rate_loo * v
        spike = (c >= 3) & (c - e > params.outlier_z * np.sqrt(e + _PROVISIONAL_DISPERSION * e * e) + 1)
        keep = valid & ~spike
        ck, vk = c * keep, v * keep
        pooled_c, pooled_v = ck.sum(0), vk.sum(0)
        # the series over the whole baseline period before each target hour (shrinkage prior)
        cum_c, cum_v = np.concatenate(([0.0], np.cumsum(c_all))), np.concatenate(([0.0], np.cumsum(v_all)))
        hi = np.clip(targets, 0, c_all.size)
        lo = np.clip(targets - span, 0, c_all.size)
        period_c, period_v = cum_c[hi] - cum_c[lo], cum_v[hi] - cum_v[lo]
        prior_rate = _safe_div(np.maximum(period_c, 0.5), period_v)
        weight = period_v / span
        rate = _safe_div(pooled_c + weight * prior_rate, pooled_v + weight)
        # over-dispersion: leave-one-out residuals of the kept past hours, over the last week of targets
        e_keep = _safe_div(pooled_c - ck, pooled_v - vk) * vk
        num = np.where(keep, (ck - e_keep) ** 2 - e_keep, 0.0).sum(0)
        den = np.where(keep, e_keep ** 2, 0.0).sum(0)
        moments[s] = (_rolling(num, WEEK)[lead_in:], _rolling(den, WEEK)[lead_in:])
        certainty = 1.0 / np.maximum(pooled_c + weight * prior_rate, 0.5)
        out.rate[s] = rate[lead_in:]
        out.inv_k[s] = certainty[lead_in:]
    # A sparse series (a small product) has too few expected events for its own dispersion estimate:
    # it is shrunk towards its family's overall one with the weight of DISPERSION_PRIOR (Σ expected²).
    for s, (num, den) in moments.items():
        family = moments.get(SeriesKey(s.family))
        if family is None or s.overall:
            shared = np.clip(_safe_div(num, den), 0.0, 2.0)
        else:
            shared = np.clip(_safe_div(family[0], family[1]), 0.0, 2.0)
        dispersion = np.clip((num + DISPERSION_PRIOR * shared) / (den + DISPERSION_PRIOR), 0.0, 2.0)
        out.inv_k[s] = out.inv_k[s] + dispersion
    return out


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), 0.0)


def _rolling(x: np.ndarray, width: int) -> np.ndarray:
    cum = np.concatenate(([0.0], np.cumsum(x)))
    i = np.arange(1, x.size + 1)
    return cum[i] - cum[np.maximum(i - width, 0)]


def tail_score(observed: np.ndarray, expected: np.ndarray, inv_k: np.ndarray) -> np.ndarray:
    """−log10 P(X ≥ observed) for X ~ NB(mean expected, variance E + E²·inv_k) (Poisson when inv_k ≈ 0)."""
    expected = np.maximum(expected, 1e-6)
    inv_k = np.maximum(inv_k, 1e-9)
    size = 1.0 / inv_k
    log_sf = np.where(inv_k < 1e-6, poisson.logsf(observed - 1, expected),
                      nbinom.logsf(observed - 1, size, size / (size + expected)))
    return -log_sf / _LN10


def upper_bound(expected: float, inv_k: float, level: float = 0.99) -> float:
    """The ``level`` quantile of the count model NB(mean ``expected``, variance E + E²·inv_k): the top of
    the band an alert's chart draws (what a normal hour reaches at most, 99 times in 100)."""
    if expected <= 0:
        return 0.0
    inv_k = max(inv_k, 1e-9)
    if inv_k < 1e-6:
        return float(poisson.ppf(level, expected))
    size = 1.0 / inv_k
    return float(nbinom.ppf(level, size, size / (size + expected)))


def scan(minutes: Counts, base: Baseline, steps: np.ndarray, params: DetectorParams) -> dict[int, list[Breach]]:
    """The breaching series at each check ``steps`` (epoch minutes, each the exclusive end of its windows),
    the strongest window of each; ``minutes`` must cover ``max(windows)`` minutes before the first step."""
    found: dict[int, list[Breach]] = {}
    if steps.size == 0:
        return found
    at = steps - minutes.first
    if at.min() < params.max_window or at.max() > minutes.bins:
        raise ValueError("minute counts do not cover the windows of these checks")
    minute_hour = (minutes.first + np.arange(minutes.bins)) // 60 - base.first
    step_hour = (steps - 1) // 60 - base.first
    need = -np.log10(params.significance)
    for s, rate in base.rate.items():
        events = minutes.row(minutes.events, s)
        if float(events.sum()) < params.min_count:
            continue  # cannot breach anywhere in this stretch
        expected = rate[np.clip(minute_hour, 0, rate.size - 1)] * _volume(minutes, base.volume_of[s], 1.0)
        cum_o = np.concatenate(([0.0], np.cumsum(events)))
        cum_e = np.concatenate(([0.0], np.cumsum(expected)))
        inv_k = base.inv_k[s][np.clip(step_hour, 0, rate.size - 1)]
        best: dict[int, Breach] = {}
        for w in params.windows_minutes:
            o = cum_o[at] - cum_o[at - w]
            e = cum_e[at] - cum_e[at - w]
            cand = np.nonzero((o >= params.min_count) & (o >= params.min_ratio * e))[0]
            if cand.size == 0:
                continue
            score = tail_score(o[cand], e[cand], inv_k[cand])
            for j in np.nonzero(score >= need)[0]:
                i = int(cand[j])
                prev = best.get(i)
                if prev is None or score[j] > prev.score:
                    best[i] = Breach(s, w, float(o[i]), float(e[i]), float(min(score[j], 99.0)))
        for i, breach in best.items():
            found.setdefault(int(steps[i]), []).append(breach)
    return found


def group(at, breaches: list[Breach] | None, families: tuple[str, ...]) -> dict[str, Signal]:  # noqa: ANN001
    """One signal per family: the overall series leads when it breaches, else a category, a channel, a
    product — in that order, the strongest first (a spike is named by what people ask about: 类别=物流
    before 商品=…); the family's other breaching series are its explanation, not more alerts."""
    out: dict[str, Signal] = {}
    by_family: dict[str, list[Breach]] = {}
    for b in breaches or ():
        by_family.setdefault(b.series.family, []).append(b)
    for family in families:
        found = sorted(by_family.get(family, ()), key=lambda b: (_RANK.get(b.series.dim, 9), -b.score, b.series))
        if not found:
            out[family] = Signal(family, at, False)
        else:
            out[family] = Signal(family, at, True, found[0], tuple(found[1:]))
    return out


__all__ = ["COMPLAINTS", "NEGATIVE", "UNIT", "Baseline", "baseline", "group", "scan", "tail_score",
           "upper_bound", "volume_key"]
