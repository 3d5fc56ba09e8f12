"""Spike detection and alert lifecycle decisions, pure.

What belongs here: expected values from a seasonal baseline, significance of an observed count,
threshold rules over the metric dictionary, and the lifecycle (pending → firing → reminded →
resolved) as decision functions that take ``now`` as an argument and return a reason enum.

No I/O beyond the database reads a caller hands in (a ``Connection`` or the rows it read), no clock
of its own (``now`` is injected), no sending: the timed evaluation lives in ``bot.jobs`` and delivery
in ``bot.delivery``. May import ``analytics.rollups``, ``analytics.metrics``, ``analytics.periods``
and ``analytics.store``; never ``bot`` or ``handlers``.

Modules (imports point one way: ``evaluate`` → ``detect`` → ``data`` → ``model``; ``evaluate`` →
``lifecycle`` → ``model``; ``rules`` → ``model``):

- ``model`` — parameters, series keys, breaches and signals (exported here);
- ``lifecycle`` — :func:`decide`, its :class:`Reason` and :class:`Action`, silences (exported here);
- ``data`` — counts per hour from the rollups, per minute from the raw edge of the last hour;
- ``detect`` — the seasonal, volume-scaled baseline and the negative-binomial test (numpy, scipy);
- ``evaluate`` — one check at ``now`` and the backtest replay through the same code;
- ``rules`` — static thresholds on metrics (``[[alerts.rules]]``).

This ``__init__`` exports only the pure-Python parts, so loading the config or the lifecycle does not
load numpy and scipy; ``detect``, ``evaluate`` and ``rules`` are imported as modules. See docs/alerts.md.
"""

from __future__ import annotations

from analytics.alerts.lifecycle import Action, AlertState, Decision, Reason, Silence, Status, decide, silenced
from analytics.alerts.model import (
    ALL,
    COMPLAINTS,
    NEGATIVE,
    Breach,
    DetectorParams,
    LifecycleParams,
    Rule,
    SeriesKey,
    Signal,
)

__all__ = ["ALL", "COMPLAINTS", "NEGATIVE", "Action", "AlertState", "Breach", "Decision", "DetectorParams",
           "LifecycleParams", "Reason", "Rule", "SeriesKey", "Signal", "Silence", "Status", "decide", "silenced"]
