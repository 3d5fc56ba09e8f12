"""``csbot qa --period P [--agent NAME] [--json]``: the stored 质检 findings of a period.

Without ``--json`` stdout gets the chat answer (``/质检 P`` or ``/质检 客服=NAME P``). With ``--json``
stdout gets one document and nothing else::

    {"window": [start, end], "agents": {NAME: {"conversations": n, "flags": {RULE: count}}},
     "flagged": [{"conversation_id": …, "agent": …, "rules": [RULE, …]}, …]}

``window`` as ISO 8601 in the configured timezone; ``flags`` lists every rule id (0 when it never fired);
``flagged`` every conversation of the window with at least one finding, by start time. Errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from analytics import qa
from analytics.periods import PeriodError, resolve_window
from analytics.qa import read
from bot.cli_output import ask_and_print, say
from bot.config import QASettings, Settings


def params(s: QASettings) -> qa.QAParams:
    """``[qa]`` settings → the rules' parameters."""
    return qa.QAParams(first_response_target_seconds=s.first_response_target_seconds,
                       gap_target_seconds=s.gap_target_seconds, repeat_window_hours=s.repeat_window_hours,
                       extra_impolite_words=tuple(s.impolite_words), training_min_agents=s.training_min_agents,
                       training_agent_share=s.training_agent_share)


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    q = sub.add_parser("qa", help="质检: findings per agent and rule for a period, e.g. csbot qa --period 本周 [--json]")
    q.add_argument("--period", default="本周", help="a time phrase (default 本周)")
    q.add_argument("--agent", help="one agent's findings")
    q.add_argument("--json", action="store_true", help="one JSON document on stdout")


def report(engine: Any, start: datetime, end: datetime, agent: str | None = None) -> dict[str, Any]:  # noqa: ANN401
    """The ``--json`` document for [start, end)."""
    rows = read.counts(engine, start, end, agent)
    agents = {name: {"conversations": r.conversations, "flags": {rule: r.flags.get(rule, 0) for rule in qa.RULES}}
              for name, r in sorted(rows.items())}
    flagged = [{"conversation_id": cid, "agent": name, "rules": rules}
               for cid, name, rules in read.flagged(engine, start, end, agent)]
    return {"window": [start.isoformat(), end.isoformat()], "agents": agents, "flagged": flagged}


def run(settings: Settings, args: argparse.Namespace, open_engine: Callable[[Settings], Any],
        make_bot: Callable[[Settings], Any]) -> int:
    if not args.json:
        agent = f" 客服={args.agent}" if args.agent else ""
        return ask_and_print(make_bot, settings, f"/质检{agent} {args.period}")
    try:
        window = resolve_window(args.period, datetime.now(settings.tz))
    except PeriodError as exc:
        say(str(exc), sys.stderr)
        return 2
    doc = report(open_engine(settings), window.start, window.end, args.agent)
    say(json.dumps(doc, ensure_ascii=False), sys.stdout)
    return 0
