"""Digest content (日报, 周报): which numbers, comparisons, flags and charts a digest holds.

A digest is built from the metric engine (``analytics.metrics``) over the same windows as the chat
commands, so a digest and ``/满意度 昨天`` can never disagree: one source of truth. Scheduling and
once-only delivery live in ``bot.jobs``; the text layout per platform in ``bot.delivery``. May import
``analytics.metrics``, ``analytics.periods``, ``analytics.rollups``, ``analytics.charts`` and
``analytics.store``; never ``bot`` or ``handlers``.
"""
