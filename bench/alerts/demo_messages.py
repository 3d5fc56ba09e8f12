"""Render the alert and 已恢复 messages the demo data's planted spike produces, as a chat shows them.

    csbot demo --no-chat                       # the demo database (one planted 羽绒服 物流 spike)
    python bench/alerts/demo_messages.py --db sqlite:///csbot_demo.db --out docs/alerts_demo.md

Replays the last three days through ``csbot alerts backtest``'s code and writes every message the
lifecycle would have sent. The demo shop is small — under one complaint an hour — and its planted spike
is 8 complaints in 3 hours, which the defaults (made for a shop with tens of complaints an hour, see
bench/alerts/README.md) do not call significant; the small-shop settings of :data:`SMALL_SHOP` are
used and printed with the messages.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SMALL_SHOP = {"windows_minutes": [15, 30, 60, 180], "min_count": 5, "significance": 1e-3, "series": ["complaints"]}


def main() -> int:
    from analytics.alerts import Action
    from analytics.alerts.evaluate import backtest
    from analytics.alerts.message import behind, firing_text, resolved_text
    from analytics.store.db import make_engine
    from bot.alerting import detector, lifecycle
    from bot.config import AlertSettings

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--days", type=int, default=3)
    args = p.parse_args()
    tz = ZoneInfo("Asia/Shanghai")
    alerts = AlertSettings(**SMALL_SHOP)
    engine = make_engine(args.db)
    messages: list[tuple[datetime, str]] = []
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT max(started_at) FROM conversations").scalar()
        end = datetime.fromisoformat(str(last)[:19]).replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
        data_end = end
        end = end + timedelta(hours=3)  # the clock runs on past the data: no more complaints arrive, so it resolves
        start = (data_end - timedelta(days=args.days)).replace(hour=0, minute=0, second=0, microsecond=0)
        sent = []
        backtest(conn, start, end, detector(alerts), lifecycle(alerts), alerts.check_interval_seconds,
                 on_send=lambda action, state, now: sent.append((action, state, now)))
        for action, state, now in sent:
            if action is Action.SEND_RESOLVED:
                messages.append((now, resolved_text(state, now, tz, alert_id=1)))
            else:
                tops, examples = behind(conn, state, now)
                messages.append((now, firing_text(state, tops, examples, tz, alert_id=1, now=now,
                                                  reminder=action is Action.SEND_REMINDER)))
    lines = ["# Alerts from the demo data", "",
             f"`python bench/alerts/demo_messages.py` on `csbot demo` data, {start:%Y-%m-%d} – {data_end:%Y-%m-%d %H:%M} "
             "(the simulated clock runs on 3 hours past the last row, with nothing more arriving): "
             "every message the alert lifecycle sends, as it appears in the chat (the demo plants one spike of "
             "羽绒服 物流 complaints; see docs/alerts.md). The demo shop files under one complaint an hour, so "
             "the small-shop settings are used: `[alerts] "
             + " ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in SMALL_SHOP.items())
             + "` (the defaults are tuned on bench/alerts' busier shop). Alert ids are shown as #1: ids come with "
             "the persisted alert state, which is not built yet.", ""]
    for at, text in messages:
        lines += [f"**{at.astimezone(tz):%m-%d %H:%M}**", "", "```", text, "```", ""]
    if not messages:
        lines.append("(no alert)")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(messages)} messages → {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
