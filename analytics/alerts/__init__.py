"""Spike detection and alert lifecycle decisions, pure.

What belongs here: expected values from a seasonal baseline, significance of an observed count,
threshold rules over the metric dictionary, and the lifecycle (pending → firing → reminded →
resolved) as decision functions that take ``now`` as an argument and return a reason enum.

No I/O beyond the database reads a caller hands in (a ``Connection`` or the rows it read), no clock
of its own (``now`` is injected), no sending: the timed evaluation lives in ``bot.jobs`` and delivery
in ``bot.delivery``. May import ``analytics.rollups``, ``analytics.metrics``, ``analytics.periods``
and ``analytics.store``; never ``bot`` or ``handlers``.
"""
