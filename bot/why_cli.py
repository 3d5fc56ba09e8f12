"""``csbot why METRIC PERIOD [--json]``: why a metric changed, as the chat answers it or as one JSON document.

Without ``--json`` stdout gets the `/为什么` answer (text, then the chart's path), exactly what
``csbot ask "/为什么 METRIC PERIOD"`` prints. With ``--json`` stdout gets one document and nothing else:

    {"metric": "csat", "window": {"label", "start", "end"}, "comparison": {"label", "start", "end"},
     "change": -0.031, "drivers": [{"dimension": "channel", "value": "抖音", "contribution": -0.031,
     "kind": "rate"}, …]}

drivers sorted by absolute contribution; values in the metric's own unit (ratios as fractions, 投诉率 in ‰,
seconds, counts). Per-agent drivers are included: the CLI runs where the data is. Errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from analytics import explain
from analytics.periods import PeriodError, resolve_window
from bot.cli_output import ask_and_print, say
from bot.config import Settings


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    w = sub.add_parser("why", help='why a metric changed, e.g. csbot why 满意度 本周 [--json]')
    w.add_argument("metric", help="满意度, 解决率, 首响, 30秒应答率, 投诉率, 投诉, 退货率, 差评率, 会话量, 情感, 复购率")
    w.add_argument("period", nargs="?", default="本周", help="a time phrase (default 本周)")
    w.add_argument("--json", action="store_true", help="one JSON document on stdout")


def run(settings: Settings, args: argparse.Namespace, open_engine: Callable[[Settings], Any],
        make_bot: Callable[[Settings], Any]) -> int:
    metric = explain.find_why_metric(args.metric)
    if metric is None:
        say(f"不认识的指标「{args.metric}」。可选：满意度、解决率、首响、30秒应答率、投诉率、投诉、退货率、差评率、会话量、情感、复购率",
             sys.stderr)
        return 2
    if not args.json:
        return ask_and_print(make_bot, settings, f"/为什么 {metric.name} {args.period}")
    try:
        window = resolve_window(args.period, datetime.now(settings.tz))
    except PeriodError as exc:
        say(str(exc), sys.stderr)
        return 2
    found = explain.explain(open_engine(settings), metric.key, window)
    say(json.dumps(explain.to_json(found, window), ensure_ascii=False), sys.stdout)
    return 0
