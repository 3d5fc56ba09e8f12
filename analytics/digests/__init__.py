"""Digest content (日报, 周报): which numbers, comparisons, flags and lists a digest holds.

A digest is built from the metric engine (``analytics.metrics``) over the same windows as the chat
commands, so a digest and ``/满意度 昨天`` can never disagree: one source of truth. Scheduling and
once-only delivery live in ``bot.jobs``; the chat text and chart labels in ``handlers.digest``. May
import ``analytics.metrics``, ``analytics.breakdown``, ``analytics.periods``, ``analytics.rollups``,
``analytics.charts`` and ``analytics.store``; never ``bot`` or ``handlers``.

Modules: ``model`` (the data a digest holds, section names, errors), ``flags`` (the documented rules
for "unusual" and "trend", pure), ``build`` (the database reads). Imports point one way:
``build`` → ``flags`` → ``model``. Callers import from this package.
"""

from analytics.digests.build import (
    HISTORY_WEEKS,
    build,
    complaint_categories,
    daily_period,
    default_day,
    weekly_period,
)
from analytics.digests.model import (
    AGENTS,
    ANOMALIES,
    DAILY,
    KINDS,
    KPI_KEYS,
    RISING,
    SECTIONS,
    STAFFING,
    TRENDS,
    WEEKLY,
    CategoryChange,
    Digest,
    DigestError,
    DigestUnavailable,
    Flag,
    KpiRow,
    Period,
    parse_sections,
)

__all__ = ["AGENTS", "HISTORY_WEEKS", "ANOMALIES", "DAILY", "KINDS", "KPI_KEYS", "RISING", "SECTIONS", "STAFFING", "TRENDS", "WEEKLY",
           "CategoryChange", "Digest", "DigestError", "DigestUnavailable", "Flag", "KpiRow", "Period", "build",
           "complaint_categories", "daily_period", "default_day", "parse_sections", "weekly_period"]
