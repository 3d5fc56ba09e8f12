"""The shared types of the alert package: tuning parameters, series keys and what a check found.

Parameters are plain frozen dataclasses (``bot.config.AlertSettings`` converts to them), so the
detector, the lifecycle and the backtest take exactly the same values whether they run on schedule or
in a replay. Nothing here reads a clock or a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: Families of spike series. A family raises at most one alert at a time: the overall series and its
#: category / channel / product breakdown are one spike, the breakdown is its explanation.
COMPLAINTS, NEGATIVE = "complaints", "negative"
FAMILY_NAMES = {COMPLAINTS: "投诉", NEGATIVE: "负面消息占比"}
#: Breakdown dimensions of the complaint family (rollup column → chat filter word).
DIM_WORDS = {"category": "类别", "channel": "渠道", "product": "商品"}
ALL = "*"
RULE_PREFIX = "rule:"  # the family of a threshold rule's series: rule:<name>


@dataclass(frozen=True, order=True)
class SeriesKey:
    """One counted series: a family, and either the whole family (dim ``*``) or one value of a dimension."""

    family: str
    dim: str = ALL
    key: str = ALL

    @property
    def overall(self) -> bool:
        return self.dim == ALL

    def label(self) -> str:
        """How the series is named in chat and in the backtest output: ``投诉``, ``投诉 类别=物流``."""
        if self.family.startswith(RULE_PREFIX):
            return self.family[len(RULE_PREFIX):]
        name = FAMILY_NAMES.get(self.family, self.family)
        return name if self.overall else f"{name} {DIM_WORDS.get(self.dim, self.dim)}={self.key}"


@dataclass(frozen=True)
class DetectorParams:
    """How a spike is told from noise (defaults documented in config.example.toml and docs/alerts.md)."""

    windows_minutes: tuple[int, ...] = (15, 30, 60)
    min_count: int = 8  # fewer observed events in a window never breach
    min_ratio: float = 2.0  # observed must be at least this many times the expected
    significance: float = 1e-5  # negative-binomial upper-tail probability at or below which a window breaches
    baseline_weeks: int = 4  # same weekday × hour over this many past weeks
    neighbour_hours: int = 1  # and this many hours either side of it, for more data per slot
    outlier_z: float = 3.0  # a past hour this far above its leave-one-out expectation is left out (spikes)
    families: tuple[str, ...] = (COMPLAINTS, NEGATIVE)

    @property
    def max_window(self) -> int:
        return max(self.windows_minutes)


@dataclass(frozen=True)
class LifecycleParams:
    """How a breaching series becomes a page and how it ends."""

    hold: timedelta = timedelta(minutes=2)  # pending this long (breaching at every check) before firing
    reminder: timedelta = timedelta(hours=2)  # repeat while firing
    resolve_after: timedelta = timedelta(minutes=30)  # normal this long before 已恢复


@dataclass(frozen=True)
class Rule:
    """A static threshold on a metric of the dictionary (``[[alerts.rules]]``)."""

    name: str
    metric: str  # a metric name or alias of analytics.metrics, or a named value such as 30秒应答率
    window: str  # a time phrase of analytics.periods: 近1小时, 今天, 近24小时
    comparison: str  # < <= > >=
    value: float  # in the unit the chat shows (percent for % metrics)
    min_n: int = 0
    filters: dict[str, str] = field(default_factory=dict)  # canonical columns: channel, agent, shop, product


@dataclass(frozen=True)
class Breach:
    """A series that breaches at one check: the window that scored highest, and its numbers."""

    series: SeriesKey
    window_minutes: int
    observed: float
    expected: float
    score: float  # −log10 of the upper-tail probability

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")

    @property
    def severity(self) -> float:
        """What "peak" ranks by: the score of a spike, the distance past its value for a threshold rule."""
        if self.series.family.startswith(RULE_PREFIX):
            return abs(self.observed - self.expected)
        return self.score


@dataclass(frozen=True)
class Signal:
    """What one check says about one alert key: breaching or not, and the numbers behind it.

    ``key`` is the family (``complaints``) for spikes, ``rule:<name>`` for threshold rules. ``lead`` is the
    breach that names the alert (the overall series when it breaches, else the strongest one), ``parts``
    the other breaching series of the family — the explanation, not more alerts. A rule's breach has the
    metric's value as ``observed`` and the rule's value as ``expected``."""

    key: str
    at: datetime
    breaching: bool
    lead: Breach | None = None
    parts: tuple[Breach, ...] = ()
