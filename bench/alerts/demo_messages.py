"""Render the alert messages the demo data's planted spike produces, as a chat shows them.

    csbot demo --no-chat                       # the demo database (one planted 羽绒服 物流 spike)
    python bench/alerts/demo_messages.py --db csbot-data/csbot.db --out docs/alerts_demo.md --img docs/img

Copies the SQLite database (the job writes alert states and outbox rows), then runs the real alert job
(:class:`bot.jobs.alerts.AlertJob`, default ``[alerts]`` settings, a robot ``dingtalk:ops`` with one
on-call mobile) minute by minute over the last ``--days`` days, on past the data's end by 3 hours (no
more rows arrive, so the spike resolves). Writes every message it queued, with the chart of the first,
as the chat shows them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ONCALL = "13800000000"


def main() -> int:
    from sqlmodel import Session, select

    from analytics.store.db import open_database
    from analytics.store.outbox import OutboxMessage
    from bot.config import Settings
    from bot.jobs.alerts import AlertJob

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=Path, required=True, help="the demo's SQLite file")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--img", type=Path, required=True, help="where the first alert's chart is copied")
    p.add_argument("--days", type=int, default=1)
    args = p.parse_args()
    tz = ZoneInfo("Asia/Shanghai")
    work = Path(tempfile.mkdtemp(prefix="csbot-alert-demo-"))
    shutil.copy(args.db, work / "demo.db")
    settings = Settings(database={"url": f"sqlite:///{work / 'demo.db'}"}, general={"data_dir": str(work)},
                        alerts={"targets": ["dingtalk:ops"], "oncall_dingtalk_mobiles": [ONCALL]})
    engine = open_database(settings.database.url)
    with engine.begin() as conn:
        for table in ("outbox", "alerts", "alert_silences", "job_leases"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        last = conn.exec_driver_sql("SELECT max(started_at) FROM conversations").scalar()
    data_end = datetime.fromisoformat(str(last)[:19]).replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    start = (data_end - timedelta(days=args.days)).replace(hour=0, minute=0, second=0, microsecond=0)
    job = AlertJob(settings, engine, owner="demo")
    now = start
    while now < data_end + timedelta(hours=3):
        job.evaluate(now)
        now += timedelta(minutes=1)
    with Session(engine) as session:
        rows = list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())
    lines = ["# Alerts from the demo data", "",
             f"`python bench/alerts/demo_messages.py` on `csbot demo` data, {start:%Y-%m-%d} – "
             f"{data_end:%Y-%m-%d %H:%M}: the real alert job with the **default** `[alerts]` settings, run every "
             "minute with a simulated clock that goes on 3 hours past the last row (nothing more arrives, so "
             "the spike resolves). Every message it queued for the robot `dingtalk:ops`, as the chat shows "
             f"it (the on-call mobile {ONCALL} is @-mentioned on the alert and its reminders; DingTalk shows "
             "the `@` line at the end). The demo plants one spike of 羽绒服 物流 complaints; see docs/alerts.md.", ""]
    args.img.mkdir(parents=True, exist_ok=True)
    chart_done = False
    for row in rows:
        at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=ZoneInfo("UTC"))
        mention = f"\n@{ONCALL}" if (row.extra or {}).get("at_mobiles") else ""
        lines += [f"**{at.astimezone(tz):%m-%d %H:%M}**", "", "```", row.text + mention, "```", ""]
        if row.charts and not chart_done:
            target = args.img / "alert_demo.png"
            shutil.copy(row.charts[0]["path"], target)
            lines += [f"![{row.charts[0]['title']}](img/{target.name})", ""]
            chart_done = True
    if not rows:
        lines.append("(no alert)")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(rows)} messages → {args.out}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
