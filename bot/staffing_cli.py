"""``csbot staffing [--days N] [--json]``: the staffing plan for the next N days (from tomorrow).

Without ``--json`` stdout gets the ``/排班`` answer for those days (text, then the heatmap's path). With
``--json`` stdout gets one document and nothing else::

    {"start": "2026-12-04T00:00:00+08:00", "days": 7, "target": {"service_level": 0.8, "answer_seconds": 30},
     "handle_seconds": 75.1, "handle_source": "measured", "concurrency": 1.15, "concurrency_source": "measured",
     "level": 0.995, "has_roster": false, "notes": [],
     "hours": [{"start": "2026-12-04T00:00:00+08:00", "forecast": 14.9, "needed": 2, "scheduled": null,
                "gap": null, "event": null}, …]}

``scheduled`` and ``gap`` (scheduled − needed) are null without an imported roster. Errors go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from analytics import staffing
from analytics.staffing import Params, StaffingError
from analytics.staffing.horizon import MAX_DAYS
from bot.cli_output import ask_and_print, say
from bot.config import Settings


def add_parser(sub: Any) -> None:  # noqa: ANN401 - argparse's private _SubParsersAction
    s = sub.add_parser("staffing", help="forecast conversations per hour and the agents needed (Erlang C) "
                                        "for the next N days, e.g. csbot staffing --days 7 [--json]")
    s.add_argument("--days", type=int, default=7, help=f"days from tomorrow (1–{MAX_DAYS}, default 7)")
    s.add_argument("--json", action="store_true", help="one JSON document on stdout")


def run(settings: Settings, args: argparse.Namespace, open_engine: Callable[[Settings], Any],
        make_bot: Callable[[Settings], Any]) -> int:
    if not 1 <= args.days <= MAX_DAYS:
        say(f"--days 应在 1 到 {MAX_DAYS} 之间", sys.stderr)
        return 2
    if not args.json:
        return ask_and_print(make_bot, settings, f"/排班 未来{args.days}天")
    now = datetime.now(settings.tz)
    params = Params.from_config(settings.staffing.model_dump())
    try:
        plan = staffing.build(open_engine(settings), now, now.date() + timedelta(days=1), args.days, params,
                              settings.tz)
    except StaffingError as exc:
        say(str(exc), sys.stderr)
        return 2
    say(json.dumps(staffing.to_json(plan), ensure_ascii=False), sys.stdout)
    return 0
