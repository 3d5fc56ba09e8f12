"""From the parts of every segment to at most three drivers: noise, size, one story told once.

Rules, in order (constants below):

1. **Noise.** The total change is tested first (analytics.explain.shift_share: binomial, Poisson or
   Welch for its counts). |z| < 1.96: the answer says the change is within normal fluctuation and
   names no driver, whatever the parts look like.
2. **Candidates.** Every segment of every dimension gives up to two candidates, its mix part
   (占比变化) and its rate part (自身变化); a count gives its own change. A candidate is kept when
   |part| ≥ 10 % of |change| (it explains enough) and its own test is significant: |z| ≥ 1.96 for
   the segment's value between the periods (rate), for its share of the denominator (mix), or for
   its two counts (count).
3. **Ranking.** By |part|, across dimensions. (Parts of different dimensions are alternative
   splits of the same change, each summing to it; they are ranked, not added.)
4. **One story once.** A candidate B repeats an already chosen driver A (of another dimension) when
   B's own test, recomputed without the rows of A's segment, is no longer significant: B's change
   lives inside A. For a rate part the test is B's value on its rows outside A (the agents of a
   channel whose own rate fell: outside that channel their rates did not move); for a mix part,
   B's share of the denominator outside A; for a count, B's counts outside A. A segment nested in
   another (an agent who only works 抖音) has nothing left outside it, so it always repeats it. When A
   also repeats B (they are the same rows) and both are of the same kind, the narrower segment
   (the smaller denominator) is told, as it pinpoints the change; otherwise the larger part. A last
   pass drops a driver chosen early that repeats one chosen later without being repeated by it.
5. At most three drivers. If candidates exist but none survives, the change is real but spread
   thinly over many segments, and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from analytics.explain.shift_share import (
    Z_NOISE,
    Split,
    Sums,
    split_count,
    split_ratio,
    z_binomial,
    z_count,
    z_diff,
)
from analytics.explain.sources import Combos, WhyMetric

MIN_SHARE = 0.10  # a driver explains at least this share of the change
MAX_DRIVERS = 3
MIN_N = 5  # below this denominator in either period there is nothing to compare


@dataclass(frozen=True)
class Part:
    """One candidate or driver: a segment's mix or rate part of the change, in the metric's unit.

    ``before``/``after``: the segment's own value (rate), its share of the denominator (mix), or its
    counts (count metrics); ``z``: the test statistic behind the part."""

    dimension: str
    value: str
    kind: str  # "mix" | "rate"
    contribution: float
    before: float | None
    after: float | None
    z: float


@dataclass
class Explanation:
    metric: WhyMetric
    before: float | None = None  # the metric over the comparison window (in its unit: ‰ for 投诉率)
    after: float | None = None
    n_before: float = 0.0  # the denominator (the count, for counts)
    n_after: float = 0.0
    z: float = 0.0
    noise: bool = False
    drivers: list[Part] = field(default_factory=list)
    parts: dict[str, list[Split]] = field(default_factory=dict)  # every segment, per dimension
    reason: str = ""  # why there is no decomposition (not decomposable, no data)

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


def decompose(metric: WhyMetric, before: Combos, after: Combos, dims: tuple[str, ...] | None = None) -> Explanation:
    """The explanation of ``metric``'s change from ``before`` to ``after`` over ``dims`` (default: all of
    the metric's)."""
    dims = metric.dims if dims is None else dims
    out = Explanation(metric)
    n0, d0 = before.totals
    n1, d1 = after.totals
    out.n_before, out.n_after = d0, d1
    if metric.form == "count":
        out.before, out.after, out.z = n0, n1, z_count(n0, n1)
    else:
        if d0 < MIN_N or d1 < MIN_N:
            out.before, out.after = _value(metric, n0, d0), _value(metric, n1, d1)
            out.reason = "对比的两段时间里至少有一段数据太少，无法分解。"
            return out
        out.before, out.after = n0 / d0 * metric.per, n1 / d1 * metric.per
        out.z = _total_z(metric, before, after)
    for dim in dims:
        out.parts[dim] = _splits(metric, before, after, dim)
    out.noise = abs(out.z) < Z_NOISE
    if not out.noise:
        out.drivers = _choose(metric, out, before, after)
    return out


def _value(metric: WhyMetric, n: float, d: float) -> float | None:
    return n / d * metric.per if d else None


def _sums(combos: Combos, n: float, d: float, key: tuple[str | None, str | None]) -> Sums:
    return Sums(n, d, None if combos.squares is None else combos.squares.get(key, 0.0))


def _total_z(metric: WhyMetric, before: Combos, after: Combos) -> float:
    return z_diff(_sums(before, *before.totals, (None, None)), _sums(after, *after.totals, (None, None)), metric.test)


def _splits(metric: WhyMetric, before: Combos, after: Combos, dim: str) -> list[Split]:
    seg0, seg1 = before.segments(dim), after.segments(dim)
    if metric.form == "count":
        return split_count({k: v[0] for k, v in seg0.items()}, {k: v[0] for k, v in seg1.items()})
    splits = split_ratio({k: _sums(before, n, d, (dim, k)) for k, (n, d) in seg0.items()},
                         {k: _sums(after, n, d, (dim, k)) for k, (n, d) in seg1.items()}, metric.test)
    if metric.per == 1.0:
        return splits
    p = metric.per
    return [replace(s, mix=s.mix * p, rate=s.rate * p, r0=None if s.r0 is None else s.r0 * p,
                    r1=None if s.r1 is None else s.r1 * p) for s in splits]


def _candidates(metric: WhyMetric, out: Explanation) -> list[Part]:
    change = out.change or 0.0
    floor = MIN_SHARE * abs(change)
    found = []
    for dim, splits in out.parts.items():
        for s in splits:
            # rate: its own value moved, and more than the rest of the dimension, the same way as its part
            rate_ok = (abs(s.z_rate) >= Z_NOISE and abs(s.z_contrast) >= Z_NOISE
                       and (s.z_contrast > 0) == (s.rate > 0))
            # mix: its share moved, and it is really better or worse than the rest
            mix_ok = metric.form != "count" and abs(s.z_mix) >= Z_NOISE and abs(s.z_gap) >= Z_NOISE
            for kind, part, lo, hi, z, ok in (("rate", s.rate, s.r0, s.r1, s.z_rate, rate_ok),
                                              ("mix", s.mix, s.w0, s.w1, s.z_mix, mix_ok)):
                if ok and abs(part) >= floor and abs(part) > 1e-12:
                    found.append(Part(dim, s.value, kind, part, lo, hi, z))
    found.sort(key=lambda p: (-abs(p.contribution), p.dimension, p.value, p.kind))
    return found


def _choose(metric: WhyMetric, out: Explanation, before: Combos, after: Combos) -> list[Part]:
    periods = (before, after)
    totals = {dim: (before.segments(dim), after.segments(dim)) for dim in out.parts}

    def own(p: Part, t: int) -> tuple[float, float]:
        return totals[p.dimension][t].get(p.value, (0.0, 0.0))

    def repeats(b: Part, a: Part) -> bool:
        """Whether ``b``'s change is gone once the rows of ``a``'s segment are taken out (rule 4)."""
        if a.dimension == b.dimension:
            return False  # segments of one dimension are disjoint
        rest = [c.outside(b.dimension, b.value, a.dimension, a.value) for c in periods]
        if b.kind == "mix":
            a_d = [own(a, t)[1] for t in (0, 1)]
            whole = [c.totals[1] - a_d[t] for t, c in enumerate(periods)]
            if not whole[0] or not whole[1]:
                return True
            return abs(z_binomial(rest[0][1], whole[0], rest[1][1], whole[1])) < Z_NOISE
        if metric.form == "count":
            return abs(z_count(rest[0][0], rest[1][0])) < Z_NOISE
        if not rest[0][1] or not rest[1][1]:
            return True
        rest_sums = [Sums(n, d, None if c.squares is None else _outside_squares(c, b, a)) for c, (n, d)
                     in zip(periods, rest, strict=True)]
        return abs(z_diff(rest_sums[0], rest_sums[1], metric.test)) < Z_NOISE

    def size(p: Part) -> float:
        return own(p, 0)[1] + own(p, 1)[1]

    kept: list[Part] = []
    for cand in _candidates(metric, out):
        told = next((i for i, k in enumerate(kept) if repeats(cand, k)), None)
        if told is None:
            kept.append(cand)
            continue
        k = kept[told]  # the same rows: the narrower segment of the same kind pinpoints it better
        if cand.kind == k.kind and repeats(k, cand) and size(cand) < size(k) and cand not in kept:
            kept[told] = cand
    # a driver kept early may repeat one kept later (an agent before the channel whose change it carries)
    final = [k for k in kept if not any(o is not k and repeats(k, o) and not repeats(o, k) for o in kept)]
    final.sort(key=lambda p: (-abs(p.contribution), p.dimension, p.value, p.kind))
    return final[:MAX_DRIVERS]


def _outside_squares(combos: Combos, b: Part, a: Part) -> float:
    """Σ v² of segment ``b``'s rows outside ``a``: the same spread (σ² of the whole period) around the mean
    of the rows left, as for every 首响 segment (analytics.explain.sources)."""
    assert combos.squares is not None
    n, d = combos.totals
    whole = combos.squares.get((None, None), 0.0)
    var = max(whole / d - (n / d) ** 2, 0.0) if d else 0.0
    rest_n, rest_d = combos.outside(b.dimension, b.value, a.dimension, a.value)
    return rest_d * (var + (rest_n / rest_d) ** 2) if rest_d else 0.0
