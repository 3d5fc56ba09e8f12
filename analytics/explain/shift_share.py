"""The arithmetic of "why did it change": shift-share parts per segment and the noise tests. Pure.

A ratio or mean metric is R = N / D = Σ_s w_s·r_s with segment shares w_s = d_s / D and segment values
r_s = n_s / d_s (满意度: n = good, d = rated; 首响: n = Σ seconds, d = answered conversations). Between
the comparison period (0) and the period (1) the change splits per segment into

    mix_s  = (w1_s − w0_s) · (r̄_s − R̄)          占比变化: the segment's share of the denominator moved
    rate_s = (r1_s − r0_s) · (w0_s + w1_s) / 2    自身变化: the segment's own value moved

with r̄_s = (r0_s + r1_s)/2 and R̄ = (R0 + R1)/2. This is the symmetric Kitagawa (1955) split, so there
is **no interaction term**: Σ_s mix_s + Σ_s rate_s = R1 − R0 exactly. Measuring the mix effect against
the overall average R̄ adds −R̄·Σ(w1 − w0) = 0 to the sum (the shares add up to 1 in both periods) but
makes each segment's part meaningful on its own: a segment that gains share only moves the total if
its value differs from the average.

Segments present in one period only: r̄_s is the value of the period it has (a new segment's entry
is all mix, w1·(r1 − R̄)). Numerators without a denominator in their segment (a complaint whose channel
had no conversations, a return whose order is unknown) have no share; their n/D is all rate. In
general the rate part is the remainder ``c_s − (w1 − w0)·R̄ − mix_s`` of the segment's contribution
c_s = n1_s/D1 − n0_s/D0, which keeps the parts summing to the change in every case.

Counts (会话量, 投诉) are sums: the change is Σ_s (n1_s − n0_s), each segment's own change (kind "rate").

Noise: z statistics — binomial two-proportion for shares of a whole (满意度, 解决率, 30秒应答率,
退货率, 差评率, and a segment's share of the denominator), Poisson rate for events per unit (投诉率:
complaints per conversation), Welch for means (首响 with its exact variance from the histogram rollup;
情感, whose scores lie in [0, 1], with the bound m·(1 − m)) and Poisson for counts ((n1 − n0)/√(n0 + n1)).
|z| < 1.96 is "within noise" (two-sided 5 %). Besides its own change, each segment gets the tests that
tell a driver from a bystander: its change against the rest of the dimension's (difference in
differences: when every shop fell alike, no shop explains anything) and its value against the rest's
(a share moving toward a segment only matters if that segment is better or worse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_NOISE = 1.96  # two-sided 5 %


@dataclass(frozen=True)
class Sums:
    """One segment in one period: numerator, denominator and, for means, the sum of squared values
    (``sq``; None = values known to lie in [0, 1], whose variance is at most m·(1 − m))."""

    n: float
    d: float
    sq: float | None = None

    def minus(self, other: Sums) -> Sums:
        sq = None if self.sq is None or other.sq is None else self.sq - other.sq
        return Sums(self.n - other.n, self.d - other.d, sq)

    def variance(self, test: str) -> float:
        """Variance of the estimate n / d under the noise model ``test``."""
        if not self.d:
            return 0.0
        m = self.n / self.d
        if test == "binomial":
            p = min(max(m, 0.0), 1.0)
            return p * (1 - p) / self.d
        if test == "poisson":
            return max(m, 0.0) / self.d
        if self.sq is not None:
            return max(self.sq / self.d - m * m, 0.0) / self.d
        p = min(max(m, 0.0), 1.0)
        return p * (1 - p) / self.d


@dataclass(frozen=True)
class Split:
    """One segment's share of the change in one dimension, with the tests that decide whether it is a
    driver: ``z_rate`` (its own value moved), ``z_contrast`` (it moved more than the rest of the
    dimension), ``z_mix`` (its share of the denominator moved), ``z_gap`` (its value differs from the
    rest's). For counts ``r0``/``r1`` are its counts."""

    value: str
    mix: float
    rate: float
    w0: float
    w1: float
    r0: float | None
    r1: float | None
    z_mix: float = 0.0
    z_rate: float = 0.0
    z_contrast: float = 0.0
    z_gap: float = 0.0

    @property
    def total(self) -> float:
        return self.mix + self.rate


def ratio(n: float, d: float) -> float | None:
    return n / d if d else None


def split_ratio(before: dict[str, Sums], after: dict[str, Sums], test: str) -> list[Split]:
    """Symmetric Kitagawa parts of every segment (see the module docstring); Σ mix + Σ rate = R1 − R0.

    ``test`` is the noise model of a value: ``binomial``, ``poisson`` or ``mean``."""
    whole0, whole1 = _total(before.values()), _total(after.values())
    if not whole0.d or not whole1.d:
        raise ValueError("both periods need a denominator")
    mean = (whole0.n / whole0.d + whole1.n / whole1.d) / 2
    empty = Sums(0.0, 0.0, 0.0)
    out = []
    for value in sorted(set(before) | set(after)):
        a, b = before.get(value, empty), after.get(value, empty)
        w0, w1 = a.d / whole0.d, b.d / whole1.d
        r0, r1 = ratio(a.n, a.d), ratio(b.n, b.d)
        known = [r for r in (r0, r1) if r is not None]
        r_mid = sum(known) / len(known) if known else 0.0
        mix = (w1 - w0) * (r_mid - mean)
        rate = b.n / whole1.d - a.n / whole0.d - (w1 - w0) * mean - mix
        rest0, rest1 = whole0.minus(a), whole1.minus(b)
        both = r0 is not None and r1 is not None
        out.append(Split(value, mix, rate, w0, w1, r0, r1,
                         z_mix=z_binomial(a.d, whole0.d, b.d, whole1.d),
                         z_rate=z_diff(a, b, test) if both else 0.0,
                         z_contrast=z_diff_in_diff(a, b, rest0, rest1, test) if both else 0.0,
                         z_gap=z_gap(_total((a, b)), _total((rest0, rest1)), test)))
    return out


def split_count(before: dict[str, float], after: dict[str, float]) -> list[Split]:
    """Each segment's own change of a count; the parts sum to the change of the total."""
    total0, total1 = sum(before.values()), sum(after.values())
    out = []
    for value in sorted(set(before) | set(after)):
        a, b = before.get(value, 0.0), after.get(value, 0.0)
        rest0, rest1 = total0 - a, total1 - b
        out.append(Split(value, 0.0, b - a, ratio(a, total0) or 0.0, ratio(b, total1) or 0.0, a, b,
                         z_rate=z_count(a, b),
                         # grew faster than the rest: its share of period 1 against the rest's
                         z_contrast=z_binomial(b, a + b, rest1, rest0 + rest1) if rest0 + rest1 else 0.0))
    return out


def _total(items) -> Sums:  # noqa: ANN001 - an iterable of Sums
    items = list(items)
    sqs = [s.sq for s in items]
    return Sums(sum(s.n for s in items), sum(s.d for s in items),
                None if any(q is None for q in sqs) else sum(sqs))  # type: ignore[arg-type]


# -- noise tests --------------------------------------------------------------------------------------

def _z(delta: float, se: float) -> float:
    if se > 0:
        return delta / se
    return 0.0 if abs(delta) < 1e-12 else math.copysign(math.inf, delta)


def z_binomial(n0: float, d0: float, n1: float, d1: float) -> float:
    """Two-proportion z with the pooled proportion."""
    if not d0 or not d1:
        return 0.0
    p = min(max((n0 + n1) / (d0 + d1), 0.0), 1.0)
    return _z(n1 / d1 - n0 / d0, math.sqrt(p * (1 - p) * (1 / d0 + 1 / d1)))


def z_poisson_rate(n0: float, d0: float, n1: float, d1: float) -> float:
    """Events per unit of exposure (complaints per conversation), Poisson with the pooled rate."""
    if not d0 or not d1:
        return 0.0
    rate = (n0 + n1) / (d0 + d1)
    return _z(n1 / d1 - n0 / d0, math.sqrt(rate * (1 / d0 + 1 / d1)))


def z_diff(a: Sums, b: Sums, test: str) -> float:
    """z of b's value minus a's (the same segment in two periods); binomial and Poisson pooled."""
    if not a.d or not b.d:
        return 0.0
    if test == "binomial":
        return z_binomial(a.n, a.d, b.n, b.d)
    if test == "poisson":
        return z_poisson_rate(a.n, a.d, b.n, b.d)
    return _z(b.n / b.d - a.n / a.d, math.sqrt(a.variance(test) + b.variance(test)))


def z_diff_in_diff(a0: Sums, a1: Sums, b0: Sums, b1: Sums, test: str) -> float:
    """z of (a's change) − (b's change): did the segment move more than the rest of its dimension?"""
    if not (a0.d and a1.d and b0.d and b1.d):
        return 0.0
    diff = (a1.n / a1.d - a0.n / a0.d) - (b1.n / b1.d - b0.n / b0.d)
    return _z(diff, math.sqrt(sum(s.variance(test) for s in (a0, a1, b0, b1))))


def z_gap(a: Sums, b: Sums, test: str) -> float:
    """z of a's value minus b's (a segment against the rest, both periods together)."""
    if not a.d or not b.d:
        return 0.0
    return _z(a.n / a.d - b.n / b.d, math.sqrt(a.variance(test) + b.variance(test)))


def z_count(n0: float, n1: float) -> float:
    """Two Poisson counts over equally long periods."""
    return _z(n1 - n0, math.sqrt(n0 + n1))


