"""质检: automatic inspection of service conversations — rules, scores, and their upkeep at import.

What belongs here: the rules (pure functions of one conversation's lines and the ``[qa]`` parameters,
each returning a :class:`Finding` with the lines that made it fire), the impolite-wording judge (a
lexicon plus the shipped sentiment model), the per-conversation score, keeping the stored findings and
their per-hour/day sums current at every import batch, and reading them back for a window. The
wording of answers lives in ``handlers/quality.py``; the CLI in ``bot/qa_cli.py``.

No clock of its own and no platform: ``analytics.ingest`` calls :func:`after_batch` inside each batch's
transaction; ``bot`` calls :func:`configure` with the ``[qa]`` settings. May import ``analytics.store``
and ``analytics.text`` (lazily, for the models); never ``bot``, ``handlers`` or ``analytics.ingest``.

Modules (imports point one way: ``maintain`` → ``rules`` → ``impolite``; ``rules`` → ``model``;
``maintain`` → ``model``; ``read`` → ``analytics.store``; ``scripts`` → ``analytics.faq``):

- ``model`` — :class:`Line`, :class:`Conversation`, :class:`Finding`, :class:`QAParams`, rule ids, weights,
  Chinese names and training topics (exported here);
- ``impolite`` — :func:`judge`: lexicon + sentiment model with the courtesy exception;
- ``rules`` — one function per rule, :func:`check` for all per-conversation rules, ``repeat_contact``
  over a customer's conversations;
- ``maintain`` — :func:`after_batch` (import), :func:`recheck`, :func:`rebuild` (``csbot rebuild qa``),
  :func:`clear`;
- ``read`` — counts per agent and rule for a window from the sums, flagged conversations, examples;
- ``scripts`` — 话术 that work: agent replies per question cluster by what followed (rating, resolution).

See docs/qa.md for the rules, thresholds and scores.
"""

from __future__ import annotations

from analytics.qa.maintain import after_batch, clear, configure, current_params, rebuild, recheck
from analytics.qa.model import (
           RULE_NAMES,
           RULES,
           TRAINING,
           WEIGHTS,
           Conversation,
           Finding,
           Line,
           QAParams,
           score,
)

__all__ = ["RULES", "RULE_NAMES", "TRAINING", "WEIGHTS", "Conversation", "Finding", "Line", "QAParams", "after_batch",
           "clear", "configure", "current_params", "rebuild", "recheck", "score"]
