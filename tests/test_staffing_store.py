"""排班 on real databases: hourly history read from the rollups equals a plain count of the rows, the roster
import and its per-hour counts (SQLite and PostgreSQL), /排班 end to end on demo data, and the CLI's JSON."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics import rollups, staffing
from analytics.demo import generate_demo
from analytics.ingest import ingest_records
from analytics.staffing import Event, Params, data
from analytics.staffing.forecast import fit
from bot.app import Bot
from bot.config import Settings
from tests import metric_data as md

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=TZ)  # a Wednesday


def _conversations(days: int = 35, seed: int = 2) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    start = datetime.combine(NOW.date() - timedelta(days=days), datetime.min.time(), tzinfo=TZ)
    t = start
    i = 0
    while t < NOW:
        rate = 30 if 9 <= t.hour < 22 else 4  # per hour
        t += timedelta(seconds=rnd.expovariate(rate / 3600))
        if t >= NOW:
            break
        frt = float(rnd.randrange(5, 60))
        rows.append({"conversation_id": f"s{i}", "started_at": t, "agent": rnd.choice(md.AGENTS), "channel": "淘宝",
                     "ended_at": t + timedelta(seconds=frt + rnd.randrange(120, 900)), "first_response_seconds": frt,
                     "resolved": True, "rating": None, "transferred": False})
        i += 1
    return rows


def test_history_from_rollups_equals_a_plain_count(engine):
    rows = _conversations()
    md.load(engine, md.Rows(conversations=rows))
    rollups.rebuild(engine)
    with engine.connect() as conn:
        hist = data.history(conn, NOW, 4, TZ)
    plain: dict = {}
    end_hour = NOW.replace(minute=0, second=0, microsecond=0)
    for r in rows:
        if r["started_at"] < end_hour:
            local = r["started_at"].astimezone(TZ)
            plain[(local.date(), local.hour)] = plain.get((local.date(), local.hour), 0) + 1
    window = {k: v for k, v in plain.items() if k[0] >= hist.first_day}
    assert {k: v for k, v in hist.counts.items() if v} == window
    assert hist.end == (NOW.date(), 15)
    model = fit(hist, Params(history_weeks=4))
    assert 25 < model.predict(NOW.date() + timedelta(days=1), 14) < 35  # 30 an hour by day


def test_roster_import_and_counts(engine):
    day = date(2026, 11, 26)
    shifts = [{"agent": "小王", "date": "2026-11-26", "start": "09:00", "end": "18:00"},
              {"agent": "小李", "date": "2026/11/26", "start": "9:30", "end": "12:00"},
              {"agent": "阿明", "date": "2026-11-26", "start": "22:00", "end": "06:00"},  # ends the next morning
              {"agent": "小周", "date": "2026-11-26", "start": "25:00", "end": "06:00"}]  # rejected
    result = ingest_records(engine, "roster", shifts, tz=TZ)
    assert (result.accepted, result.rejected) == (3, 1)
    assert "start" in result.errors[0].reason
    again = ingest_records(engine, "roster", shifts[:1], tz=TZ)  # same agent, day and start: an update
    assert (again.accepted, again.updated) == (0, 1)
    start = datetime.combine(day, datetime.min.time(), tzinfo=TZ).astimezone(UTC)
    with engine.connect() as conn:
        counted = data.scheduled(conn, start, start + timedelta(days=2), TZ)
        assert data.scheduled(conn, start + timedelta(days=5), start + timedelta(days=6), TZ) is None
    expected = {h: (1 if 9 <= h < 18 else 0) + (0.5 if h == 9 else 1 if 10 <= h < 12 else 0) + (1 if h >= 22 else 0)
                for h in range(24)}
    assert {h: counted[(day, h)] for h in range(24)} == pytest.approx(expected)
    # The night shift's hours after midnight belong to 11-27, a day the roster does not list: unknown, left out.
    assert not any(key[0] != day for key in counted)
    ingest_records(engine, "roster", [{"agent": "小李", "date": "2026-11-27", "start": "10:00", "end": "11:00"}], tz=TZ)
    with engine.connect() as conn:
        both = data.scheduled(conn, start, start + timedelta(days=2), TZ)
    assert [both[(day + timedelta(days=1), h)] for h in range(8)] == pytest.approx([1] * 6 + [0, 0])
    assert both[(day + timedelta(days=1), 10)] == pytest.approx(1)


def test_plan_with_roster_and_promotion(engine):
    md.load(engine, md.Rows(conversations=_conversations()))
    rollups.rebuild(engine)
    ingest_records(engine, "roster", [{"agent": a, "date": "2026-11-26", "start": "09:00", "end": "21:00"}
                                      for a in md.AGENTS[:2]], tz=TZ)
    params = Params(events=(Event(date(2026, 11, 26), 3.0, "大促"),), history_weeks=4)
    promo = staffing.build(engine, NOW, date(2026, 11, 26), 1, params, TZ)
    plain = staffing.build(engine, NOW, date(2026, 11, 26), 1, Params(history_weeks=4), TZ)
    assert promo.has_roster and promo.measured.handle_source == "measured"
    for a, b in zip(promo.hours, plain.hours, strict=True):
        assert a.forecast == pytest.approx(3 * b.forecast) and a.event == "大促"
        assert a.needed >= b.needed
        assert a.gap == pytest.approx((a.scheduled or 0) - a.needed)
    assert promo.hours[12].scheduled == pytest.approx(2.0) and promo.hours[8].scheduled == 0
    doc = staffing.to_json(promo)
    assert len(doc["hours"]) == 24 and doc["hours"][12]["scheduled"] == 2.0


def test_too_little_history_is_a_chinese_error(sqlite_engine):
    md.load(sqlite_engine, md.Rows(conversations=_conversations(days=5)))
    rollups.rebuild(sqlite_engine)
    with pytest.raises(staffing.StaffingError, match="至少需要 14 天"):
        staffing.build(sqlite_engine, NOW, date(2026, 11, 26), 1, Params(), TZ)


# -- /排班 end to end on demo data --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from analytics.store.db import open_database

    url = f"sqlite:///{tmp_path_factory.mktemp('staffing') / 'demo.db'}"
    engine = open_database(url)
    generate_demo(engine, days=35, seed=7, now=NOW, tz=TZ, scale=0.15)
    return engine


async def test_command_tomorrow(demo_db, tmp_path):
    bot = Bot(Settings(), demo_db, clock=lambda: NOW, chart_dir=tmp_path)
    reply = await bot.ask("/排班 明天")
    assert reply.ok, reply.text
    lines = reply.text.splitlines()
    assert lines[0].startswith("**排班 明天：最多需要 ") and "会话高峰 11-26 周四" in lines[0]
    hours = [ln for ln in lines if ln[:2].isdigit() and "时  预测" in ln]
    assert 20 <= len(hours) <= 24
    assert "没有导入这段时间的排班表" in reply.text
    assert reply.charts and reply.charts[0].path.exists()
    plan = staffing.build(demo_db, NOW, date(2026, 11, 26), 1, Params(), TZ)
    peak = max(plan.hours, key=lambda h: (h.needed, h.forecast))
    assert f"最多需要 {peak.needed} 名客服" in lines[0] and f"{peak.start:%H}时" in lines[0]


async def test_command_next_week_with_a_roster(demo_db, tmp_path):
    ingest_records(demo_db, "roster", [{"agent": "小王", "date": f"2026-12-0{d}", "start": "09:00", "end": "18:00"}
                                       for d in range(1, 8)], tz=TZ)
    bot = Bot(Settings(), demo_db, clock=lambda: NOW, chart_dir=tmp_path)
    reply = await bot.ask("/排班 下周")
    assert reply.ok, reply.text
    days = [ln for ln in reply.text.splitlines() if ln[:5] in {f"12-0{d}" for d in range(1, 8)} or ln.startswith("11-30")]
    assert len(days) == 7 and all("排班" in ln for ln in days)
    assert "缺人最多的时段" in reply.text


@pytest.mark.parametrize("text", ["/排班 上周", "/排班 未来30天"])
async def test_unknown_period_in_chinese(demo_db, tmp_path, text):
    reply = await Bot(Settings(), demo_db, clock=lambda: NOW, chart_dir=tmp_path).ask(text)
    assert not reply.ok and "/排班 明天" in reply.text


def test_cli_json(tmp_path, monkeypatch, capsys):
    """``csbot staffing --days 2 --json``: one JSON document, 48 hours with forecast, needed, scheduled."""
    from analytics.store.db import open_database
    from bot import cli

    url = f"sqlite:///{tmp_path / 'st.db'}"
    generate_demo(open_database(url), days=21, seed=3, tz=TZ, scale=0.08)  # ends now: the CLI's clock
    monkeypatch.setenv("CSBOT_DATABASE__URL", url)
    monkeypatch.setenv("CSBOT_GENERAL__TIMEZONE", "Asia/Shanghai")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["staffing", "--days", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["days"] == 2 and len(doc["hours"]) == 48 and doc["has_roster"] is False
    assert set(doc["hours"][0]) == {"start", "forecast", "needed", "scheduled", "gap", "event"}
    assert all(h["scheduled"] is None and h["needed"] >= 0 and h["forecast"] >= 0 for h in doc["hours"])
    tomorrow = datetime.now(TZ).date() + timedelta(days=1)
    assert doc["hours"][0]["start"].startswith(tomorrow.isoformat())
    assert cli.main(["staffing", "--days", "40", "--json"]) == 2
    assert capsys.readouterr().out == ""


async def test_weekly_digest_staffing_section_is_opt_in(demo_db, tmp_path):
    from handlers.base import Services
    from handlers.digest import digest_reply

    services = Services(engine=demo_db, tz=TZ, chart_dir=tmp_path)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # the 周报 of 11-16 – 11-22, sent on Monday
    with_plan = await digest_reply(services, "周报", now=monday, sections=["指标", "排班"])
    lines = with_plan.text.splitlines()
    head = lines.index(next(ln for ln in lines if ln.startswith("**排班 · 11-23 起 7 天")))
    assert [ln[:8] for ln in lines[head + 1:head + 8]] == [f"11-{d} {w}" for d, w in
                                                          zip(range(23, 30), ("周一", "周二", "周三", "周四", "周五",
                                                                              "周六", "周日"), strict=True)]
    default = await digest_reply(services, "周报", now=monday)
    assert "排班" not in default.text
    daily = await digest_reply(services, "日报", now=monday, sections=["指标", "排班"])
    assert "**排班" not in daily.text



def test_data_that_stops_early_ends_the_history_and_is_named(sqlite_engine):
    md.load(sqlite_engine, md.Rows(conversations=_conversations()))
    rollups.rebuild(sqlite_engine)
    later = NOW + timedelta(days=9)  # nothing imported for nine days: not nine quiet days
    plan = staffing.build(sqlite_engine, later, later.date() + timedelta(days=1), 1, Params(history_weeks=4), TZ)
    fresh = staffing.build(sqlite_engine, NOW, later.date() + timedelta(days=1), 1, Params(history_weeks=4), TZ)
    assert plan.level == pytest.approx(fresh.level)
    assert plan.measured.handle_seconds == pytest.approx(fresh.measured.handle_seconds, rel=0.02)
    assert any("会话数据只到 11-25 15:00" in note for note in plan.notes)


def test_a_year_the_holiday_calendar_does_not_know_is_named(sqlite_engine):
    md.load(sqlite_engine, md.Rows(conversations=_conversations()))
    rollups.rebuild(sqlite_engine)
    plan = staffing.build(sqlite_engine, NOW, date(2027, 1, 4), 2, Params(history_weeks=4), TZ)
    assert any("2027 年的法定节假日安排还不在日历里" in note for note in plan.notes)
    off = staffing.build(sqlite_engine, NOW, date(2027, 1, 4), 2, Params(history_weeks=4, holidays=False), TZ)
    assert not off.notes
