"""What a digest holds: its period, one row per key metric with its comparisons, flags and lists.

Plain data, no formatting: the chat text and the chart labels are laid out by the caller
(``handlers.digest``), which formats numbers the way the metric commands do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from analytics.breakdown import AgentRow
from analytics.metrics import METRICS, MetricResult

DAILY = "日报"
WEEKLY = "周报"
KINDS = (DAILY, WEEKLY)

#: The key numbers of both digests, in reading order (the /概览 card's eight).
KPI_KEYS = ("conversations", "csat", "frt", "resolution", "complaints", "return_rate", "bad_reviews", "sales")

#: Section names a subscription may pick: each key number by its metric name, plus the blocks below.
ANOMALIES = "异常"
RISING = "投诉上升"
AGENTS = "客服"
TRENDS = "趋势"
BLOCKS = (ANOMALIES, RISING, AGENTS, TRENDS)
#: Opt-in blocks: only when a subscription names them (or 全部). 排班 = the 周报's staffing plan for the next week.
STAFFING = "排班"
OPTIONAL = (STAFFING,)
DEFAULT_SECTIONS = tuple(METRICS[k].name for k in KPI_KEYS) + BLOCKS
SECTIONS = DEFAULT_SECTIONS + OPTIONAL
_SECTION_ALIASES = {"指标": tuple(METRICS[k].name for k in KPI_KEYS), "全部": SECTIONS,
                    "异常标记": (ANOMALIES,), "投诉原因": (RISING,), "上升原因": (RISING,),
                    "客服排行": (AGENTS,), "排行": (AGENTS,), "趋势": (TRENDS,)}


class DigestError(ValueError):
    """A digest asked for something it cannot hold (an unknown section); the message is Chinese."""


class DigestUnavailable(RuntimeError):
    """The database could not be read: nothing was built, the caller may retry later.

    ``reason`` is a short log-safe description (the driver's error class), never shown in chat."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_sections(names: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Canonical section names in :data:`SECTIONS` order (all but the opt-in :data:`OPTIONAL` ones when
    ``names`` is empty or None).

    Accepts metric names and aliases (``csat``, ``满意率``) and the block names; raises
    :class:`DigestError` for anything else."""
    if not names:
        return DEFAULT_SECTIONS
    chosen: set[str] = set()
    for raw in names:
        name = raw.strip()
        if name in SECTIONS:
            chosen.add(name)
        elif name in _SECTION_ALIASES:
            chosen.update(_SECTION_ALIASES[name])
        else:
            metric = next((m for m in (METRICS[k] for k in KPI_KEYS)
                           if name.lower() in (m.key, *(a.lower() for a in m.aliases))), None)
            if metric is None:
                raise DigestError(f"没有「{name}」这一栏。可选：{'、'.join(SECTIONS)}（或「指标」= 全部八项指标）。")
            chosen.add(metric.name)
    return tuple(s for s in SECTIONS if s in chosen)


@dataclass(frozen=True)
class Period:
    """A digest's period ``[start, end)`` in local time and what it is called."""

    kind: str
    first: date  # first day (a 日报's day, a 周报's Monday)
    start: datetime
    end: datetime
    label: str  # 12月2日（周三） / 11月24日-11月30日
    prev_label: str  # 前日 / 上上周
    week_label: str = ""  # 日报: 上周三


@dataclass(frozen=True)
class Flag:
    """Why a number is unusual: ``rule`` names the test (see :mod:`analytics.digests.flags`).

    ``expected`` is the baseline (the history's median); ``low``/``high`` the range it was compared
    with (same unit as the metric's value); ``direction`` +1 above, −1 below; ``good`` whether that is good news
    (None: no judgement, e.g. 会话量)."""

    key: str
    rule: str  # "rate" | "count" | "range"
    direction: int
    expected: float
    low: float
    high: float
    weeks: int
    good: bool | None


@dataclass
class KpiRow:
    """One key number: the period's full result, the comparisons, history and sparkline points."""

    key: str
    current: MetricResult
    previous: MetricResult
    same_weekday: MetricResult | None  # 日报: the same weekday a week earlier
    history: list[MetricResult]  # baseline periods for the flags, newest first
    points: list[float | None]  # sparkline, oldest first, ending with the period itself
    flag: Flag | None = None
    streak: int = 0  # 周报: weeks in a row the value moved the same way (±), 0 when under 3

    @property
    def metric(self):  # noqa: ANN201 - analytics.metrics.Metric
        return METRICS[self.key]

    def comparable(self, other: MetricResult | None) -> bool:
        """Whether ``other`` has enough data to compare with (the commands' ``min_compare_n``)."""
        return other is not None and other.value is not None and other.n >= self.metric.min_compare_n


@dataclass(frozen=True)
class CategoryChange:
    """A complaint category now vs its baseline (日报: per-day mean of the 7 days before; 周报: last week)."""

    category: str
    count: int
    baseline: float

    @property
    def rise(self) -> float:
        return self.count - self.baseline


@dataclass
class Digest:
    """Everything one 日报 or 周报 shows. ``empty``: the period has no rows at all (one line, no page)."""

    period: Period
    filters: dict[str, str]
    sections: tuple[str, ...]
    rows: dict[str, KpiRow] = field(default_factory=dict)
    unsupported: list[str] = field(default_factory=list)  # metric keys the filters rule out
    categories: list[tuple[str, int]] = field(default_factory=list)
    rising: list[CategoryChange] = field(default_factory=list)
    agents: list[AgentRow] | None = None  # 周报 with show_agents only
    agents_prev: list[AgentRow] | None = None
    min_agent_n: int = 20
    empty: bool = False

    @property
    def kind(self) -> str:
        return self.period.kind

    @property
    def flags(self) -> list[Flag]:
        return [r.flag for r in self.rows.values() if r.flag is not None]

    def wants(self, section: str) -> bool:
        return section in self.sections
