"""`/为什么`: which channel, agent, shop, category or product moved a metric, and whether by mix or rate.

The period is compared with its comparison window (``Window.prev_start``/``prev_end``, the 同期 rule of
every command, analytics.periods). Each dimension the metric carries splits the change exactly into
segment parts — 占比变化 (mix: a segment's share of the denominator moved) and 自身变化 (rate: the
segment's own value moved), symmetric Kitagawa, no interaction term — and the parts of all dimensions
are ranked, filtered and de-duplicated into at most three drivers, or "within noise". See docs/why.md.

Modules, imports pointing one way: ``drivers`` (choosing drivers) → ``shift_share`` (the arithmetic and
the noise tests, pure) and ``drivers`` → ``sources`` (which metrics, their dimensions, reading the
rollups). This ``__init__`` ties them to a database connection; callers import from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from analytics import rollups
from analytics.explain.drivers import Explanation, Part, decompose
from analytics.explain.shift_share import Split
from analytics.explain.sources import WHY_METRICS, WhyMetric, find_why_metric, read
from analytics.periods import Window

__all__ = ["WHY_METRICS", "Explanation", "Part", "Split", "WhyMetric", "explain", "explain_windows",
           "find_why_metric", "to_json"]


def explain(engine: Engine, key: str, window: Window, *, agents: bool = True) -> Explanation:
    """Why metric ``key`` changed from ``window``'s comparison window to ``window`` (blocking: run it in a
    thread). ``agents=False`` leaves the agent dimension out (chats where per-agent figures are not shown)."""
    return explain_windows(engine, key, (window.prev_start, window.prev_end), (window.start, window.end),
                           agents=agents)


def explain_windows(engine: Engine, key: str, before: tuple[datetime, datetime], after: tuple[datetime, datetime],
                    *, agents: bool = True) -> Explanation:
    """:func:`explain` for two explicit [start, end) windows."""
    metric = WHY_METRICS[key]
    if metric.form == "none":
        return Explanation(metric, reason=metric.note)
    dims = tuple(d for d in metric.dims if agents or d != "agent")
    with engine.connect() as conn, rollups.probes():
        combos_before = read(conn, metric, *before)
        combos_after = read(conn, metric, *after)
    return decompose(metric, combos_before, combos_after, dims)


def to_json(explanation: Explanation, window: Window) -> dict[str, Any]:
    """The ``csbot why --json`` document: metric, both windows, the change and the drivers sorted by
    absolute contribution. Values in the metric's own unit (ratios as fractions, 投诉率 in ‰, seconds, counts)."""
    def span(start: datetime, end: datetime, label: str) -> dict[str, str]:
        return {"label": label, "start": start.isoformat(), "end": end.isoformat()}

    return {
        "metric": explanation.metric.key,
        "window": span(window.start, window.end, window.phrase),
        "comparison": span(window.prev_start, window.prev_end, window.prev_phrase),
        "change": explanation.change,
        "drivers": [{"dimension": p.dimension, "value": p.value, "contribution": p.contribution, "kind": p.kind}
                    for p in sorted(explanation.drivers, key=lambda p: -abs(p.contribution))],
    }
