"""Time phrases → half-open local windows ``[start, end)`` and their comparison windows.

What belongs here: parsing Chinese time phrases (``parse``), finding one inside free chat text
(``text``), trend-bucket starts (``buckets``), Chinese numerals (``numerals``), and the shared types
(``window``: :class:`Window`, :class:`PeriodError`, local-time helpers) that the others import.
Imports point one way inside the package: ``text`` → ``parse`` → ``window`` ← ``buckets``;
``numerals`` imports nothing. It imports nothing else of the project.

``resolve(phrase, now)`` is a SPEC.md evaluation hook: keep its signature. Callers import from
this package, not from its modules.
"""

from __future__ import annotations

from analytics.periods.buckets import bucket_starts
from analytics.periods.parse import resolve, resolve_window
from analytics.periods.text import extract_period
from analytics.periods.window import EXAMPLES, PeriodError, Window

__all__ = ["EXAMPLES", "PeriodError", "Window", "bucket_starts", "extract_period", "resolve", "resolve_window"]
