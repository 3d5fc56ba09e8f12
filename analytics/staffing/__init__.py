"""排班: conversations forecast per hour for the coming days and the agents each hour needs, pure.

What belongs here: the forecast (a weekday × hour profile of recent weeks, scaled by the recent level and
by ``[staffing] events`` promotion days; statutory holidays by ``chinese-calendar``), Erlang C sizing for a
service-level target with chat concurrency (an agent = ``concurrency`` servers), the measured handle time
and concurrency, and the imported roster's agents per hour. No clock of its own (``now`` is passed in), no
formatting, no sending: ``handlers/staffing.py`` words the plan and draws it, ``bot/staffing_cli.py`` prints
its JSON. May import ``analytics.rollups`` and ``analytics.store``; never ``bot`` or ``handlers``.

Modules (imports point one way: ``plan`` → ``data`` → ``forecast`` → ``days``, ``model``; ``plan`` →
``erlang``; ``horizon`` → ``model``):

- ``model`` — parameters (``Params.from_config``), events, the plan's hours, :class:`StaffingError` (exported here);
- ``erlang`` — Erlang B/C, service level and the servers a target needs (stable recursion);
- ``days`` — which weekday profile a day follows (holidays, 调休);
- ``forecast`` — the seasonal profile, the recent level and the prediction, over counts handed in;
- ``data`` — hourly counts from the rollups, handle time and concurrency, roster counts;
- ``horizon`` — which days 明天 / 下周 / 未来N天 mean (exported here);
- ``plan`` — :func:`build`, the whole plan, and :func:`to_json` (exported here).

See docs/staffing.md.
"""

from __future__ import annotations

from analytics.staffing.erlang import Staffing, erlang_b, erlang_c, service_level, staffing
from analytics.staffing.horizon import horizon
from analytics.staffing.model import Event, HourPlan, Measured, Params, Plan, StaffingError
from analytics.staffing.plan import build, to_json

__all__ = ["Event", "HourPlan", "Measured", "Params", "Plan", "Staffing", "StaffingError", "build", "erlang_b",
           "erlang_c", "horizon", "service_level", "staffing", "to_json"]
