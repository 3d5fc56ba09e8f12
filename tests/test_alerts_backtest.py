"""Alert reads, one check and the backtest replay on a real database (SQLite file and PostgreSQL).

Five weeks of a small shop imported through the import layer, with one planted spike of 物流 complaints
about 羽绒服 on the last day; numbers checked against plain loops over the same rows.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics.alerts import COMPLAINTS, DetectorParams, LifecycleParams, SeriesKey
from analytics.alerts.data import epoch_hour, epoch_minute, read_hours, read_minutes
from analytics.alerts.evaluate import HourCache, backtest, check
from analytics.ingest import ingest_records

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 26, tzinfo=SH)
SPIKE = (datetime(2026, 11, 30, 13, 0, tzinfo=SH), datetime(2026, 11, 30, 14, 0, tzinfo=SH))
END = datetime(2026, 12, 1, tzinfo=SH)
CATEGORIES = ["物流", "质量", "服务态度", "退款售后"]
PARAMS = DetectorParams(families=(COMPLAINTS,))


def _shop() -> tuple[list[dict], list[dict]]:
    rng = random.Random(13)
    conversations, complaints = [], []
    at = START
    while at < END:
        per_hour = 40 if 9 <= at.hour < 22 else 6
        for _ in range(per_hour):
            started = at + timedelta(seconds=rng.uniform(0, 3600))
            cid = f"C{len(conversations):06d}"
            channel = rng.choice(["淘宝", "京东"])
            conversations.append({"conversation_id": cid, "started_at": started.isoformat(), "agent": "小王",
                                  "channel": channel})
            if rng.random() < 0.05:
                complaints.append({"complaint_id": f"P{len(complaints):06d}",
                                   "created_at": (started + timedelta(minutes=rng.uniform(0, 10))).isoformat(),
                                   "text": "问题", "channel": channel, "category": rng.choice(CATEGORIES),
                                   "product": rng.choice(["羽绒服", "围巾", "手套"])})
        at += timedelta(hours=1)
    for i in range(45):  # ~2 complaints an hour at 13:00 become 45 more within the hour
        made = SPIKE[0] + timedelta(seconds=rng.uniform(0, 3600))
        complaints.append({"complaint_id": f"S{i:04d}", "created_at": made.isoformat(), "text": "快递太慢",
                           "channel": "淘宝", "category": "物流", "product": "羽绒服"})
    return conversations, complaints


@pytest.fixture
def shop(engine):  # noqa: ANN001, ANN201
    conversations, complaints = _shop()
    ingest_records(engine, "conversations", conversations, tz=SH, enrich=False)
    ingest_records(engine, "complaints", complaints, tz=SH, enrich=False)
    return engine, conversations, complaints


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_hour_and_minute_counts_equal_plain_loops(shop):
    engine, conversations, complaints = shop
    lo, hi = datetime(2026, 11, 20, 3, 0, tzinfo=UTC), datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    with engine.connect() as conn:
        hours = read_hours(conn, lo, hi, (COMPLAINTS,))
        m_lo, m_hi = SPIKE[0].astimezone(UTC) - timedelta(minutes=17), SPIKE[0].astimezone(UTC) + timedelta(minutes=43)
        minutes = read_minutes(conn, m_lo, m_hi, (COMPLAINTS,))
    expect = Counter()
    for c in complaints:
        t = _utc(c["created_at"])
        if lo <= t < hi:
            h = epoch_hour(t) - hours.first
            for series in (SeriesKey(COMPLAINTS), SeriesKey(COMPLAINTS, "category", c["category"]),
                           SeriesKey(COMPLAINTS, "channel", c["channel"]), SeriesKey(COMPLAINTS, "product", c["product"])):
                expect[(series, h)] += 1
    got = Counter({(s, h): int(v) for s, row in hours.events.items() for h, v in enumerate(row) if v})
    assert got == expect
    conv = Counter(epoch_hour(_utc(c["started_at"])) - hours.first for c in conversations
                   if lo <= _utc(c["started_at"]) < hi)
    assert {h: int(v) for h, v in enumerate(hours.volume["conv"]) if v} == dict(conv)
    by_minute = Counter(epoch_minute(_utc(c["created_at"])) - minutes.first for c in complaints
                        if m_lo <= _utc(c["created_at"]) < m_hi and c["category"] == "物流")
    assert {m: int(v) for m, v in enumerate(minutes.events[SeriesKey(COMPLAINTS, "category", "物流")]) if v} == dict(by_minute)


def test_backtest_finds_the_spike_once_and_nothing_else(shop):
    engine, _, complaints = shop
    with engine.connect() as conn:
        found = backtest(conn, datetime(2026, 11, 24, tzinfo=SH), END, PARAMS, LifecycleParams(), 60)
    assert len(found) == 1, [a.as_json(SH) for a in found]
    alert = found[0]
    # 45 extra in an hour: min_count (8) is reached after ~10 minutes, then the 2-minute hold
    assert SPIKE[0] + timedelta(minutes=5) < alert.opened_at <= SPIKE[0] + timedelta(minutes=25)
    assert alert.resolved_at is not None and alert.resolved_at > SPIKE[1]
    labels = {alert.series, *alert.explained_by}
    assert {"投诉 类别=物流", "投诉 商品=羽绒服"} <= labels | {alert.lead.series.label()}
    # the numbers of the firing check, against a plain count of the rows in its window
    w = timedelta(minutes=alert.lead.window_minutes)
    series = alert.lead.series
    plain = sum(1 for c in complaints if alert.opened_at - w <= _utc(c["created_at"]) < alert.opened_at
                and (series.overall or c[series.dim] == series.key))
    assert alert.lead.observed == plain
    assert alert.as_json(SH)["opened_at"].endswith("+08:00")


def test_one_check_is_the_replay_at_that_minute(shop):
    """check() (the scheduled job's call) gives the same numbers as the replay's bulk scan."""
    engine, _, _ = shop
    with engine.connect() as conn:
        found = backtest(conn, datetime(2026, 11, 29, tzinfo=SH), END, PARAMS,
                         LifecycleParams(hold=timedelta(0)), 60)
        fired = found[0]
        live = check(conn, fired.opened_at, PARAMS)
        cache = HourCache()
        cached = [check(conn, fired.opened_at + timedelta(minutes=k), PARAMS, cache) for k in range(3)]
        plain = [check(conn, fired.opened_at + timedelta(minutes=k), PARAMS) for k in range(3)]
        quiet = check(conn, SPIKE[0] - timedelta(hours=3), PARAMS)
    signal = live[COMPLAINTS]
    assert signal.breaching and signal.lead.series == fired.lead.series
    assert signal.lead.observed == fired.lead.observed
    assert signal.lead.expected == pytest.approx(fired.lead.expected, rel=1e-9)  # summed over other spans
    assert signal.lead.score == pytest.approx(fired.lead.score, rel=1e-9)
    assert cached == plain  # the incremental hour cache changes nothing
    assert not quiet[COMPLAINTS].breaching


def test_check_says_none_before_rollups_exist(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert check(conn, END, PARAMS) is None


def test_csbot_alerts_backtest_json_lines_and_overrides(backend, db_factory, tmp_path, capsys):
    import json

    from bot.cli import main

    engine = db_factory.engine(backend)
    conversations, complaints = _shop()
    ingest_records(engine, "conversations", conversations, tz=SH, enrich=False)
    ingest_records(engine, "complaints", complaints, tz=SH, enrich=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[general]\ntimezone = "Asia/Shanghai"\n[database]\nurl = "{engine.url.render_as_string(False)}"\n'
                   '[alerts]\nseries = ["complaints"]\n', encoding="utf-8")
    args = ["--config", str(cfg), "alerts", "backtest", "--from", "2026-11-24", "--to", "2026-11-30", "--json"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1 and {"opened_at", "resolved_at", "series", "observed", "expected", "score"} <= set(rows[0])
    assert datetime.fromisoformat(rows[0]["opened_at"]).utcoffset() == timedelta(hours=8)
    assert "共 1 条告警" in err and "每周" in err
    assert main([*args, "--set", "min_count=100"]) == 0  # overrides reach the detector
    out, err = capsys.readouterr()
    assert out == "" and "共 0 条告警" in err
    assert main([*args, "--config-overrides", "min_cuont=3"]) == 2  # a typo is an error, not ignored
    assert "min_cuont" in capsys.readouterr().err


def test_threshold_rules_compare_the_metric_value(shop):
    from analytics.alerts import Rule
    from analytics.alerts.rules import rule_signal, validate

    engine, conversations, complaints = shop
    now = datetime(2026, 11, 30, 15, 30, tzinfo=SH)
    day = datetime(2026, 11, 30, tzinfo=SH)
    today = sum(1 for c in complaints if day <= datetime.fromisoformat(c["created_at"]) < now)
    last_hour = sum(1 for c in conversations if now - timedelta(hours=1) <= datetime.fromisoformat(c["started_at"]) < now)
    taobao = sum(1 for c in complaints if day <= datetime.fromisoformat(c["created_at"]) < now and c["channel"] == "淘宝")
    with engine.connect() as conn:
        over = rule_signal(conn, Rule("投诉多", "投诉", "今天", ">", today - 1), now)
        under = rule_signal(conn, Rule("投诉多", "投诉", "今天", ">", today), now)
        volume = rule_signal(conn, Rule("会话少", "会话量", "近1小时", "<", last_hour + 1, min_n=0), now)
        too_few = rule_signal(conn, Rule("会话少", "会话量", "近1小时", "<", last_hour + 1, min_n=last_hour + 1), now)
        filtered = rule_signal(conn, Rule("淘宝投诉", "投诉", "今天", ">=", taobao, filters={"channel": "淘宝"}), now)
    assert over.breaching and over.lead.observed == today and over.key == "rule:投诉多"
    assert not under.breaching
    assert volume.breaching and volume.lead.observed == last_hour
    assert not too_few.breaching  # fewer than min_n behind the value: not judged
    assert filtered.breaching and filtered.lead.observed == taobao
    with pytest.raises(ValueError, match="不认识"):
        validate(Rule("x", "好评数", "今天", "<", 1), now)
    with pytest.raises(ValueError, match="时间窗"):
        validate(Rule("x", "满意度", "上上上周", "<", 1), now)


def test_alert_and_recovery_messages_from_the_replay(shop):
    from analytics.alerts import Action
    from analytics.alerts.message import behind, firing_text, resolved_text

    engine, _, complaints = shop
    sent = []
    with engine.connect() as conn:
        conn.execute(__import__("sqlalchemy").text(
            "UPDATE complaints SET text = '快递太慢，电话13812345678' WHERE complaint_id LIKE 'S%'"))
        backtest(conn, datetime(2026, 11, 29, tzinfo=SH), END, PARAMS, LifecycleParams(), 60,
                 on_send=lambda action, state, now: sent.append((action, state, now)))
        assert [a for a, _, _ in sent] == [Action.SEND_FIRING, Action.SEND_RESOLVED]
        (_, fired, at), (_, done, resolved_at) = sent
        tops, examples = behind(conn, fired, at)
    since = fired.started_at - timedelta(minutes=fired.lead.window_minutes)
    rows = [c for c in complaints if since <= _utc(c["created_at"]) < at
            and (fired.lead.series.overall or c[fired.lead.series.dim] == fired.lead.series.key)]
    share = Counter(c["category"] for c in rows)["物流"] / len(rows)
    assert tops["category"][0] == ("物流", pytest.approx(share))
    text = firing_text(fired, tops, examples, SH, alert_id=3)
    assert f"{fired.lead.observed:g} 件" in text and f"×{fired.lead.ratio:.1f}" in text
    assert f"物流 {share:.0%}" in text and "/认领 3" in text and "查看：/投诉 今天" in text
    assert "13812345678" not in text and "快递太慢，电话" in text  # personal data masked in the examples
    assert len([line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.")]) == 3
    recovered = resolved_text(done, resolved_at, SH, alert_id=3)
    assert recovered.startswith("✅ 已恢复 #3") and "持续" in recovered and f"{done.peak.observed:g} 件" in recovered
    assert "30 分钟" in recovered  # normal for resolve_after before 已恢复


def test_kept_hour_counts_see_rows_that_arrive_late(shop):
    """The job's hour cache re-reads the last hours: a late-imported complaint an hour back counts."""
    engine, _, _ = shop
    cache = HourCache()
    now = datetime(2026, 11, 30, 12, 0, tzinfo=SH)
    late = [{"complaint_id": f"L{i}", "created_at": (now - timedelta(minutes=100 + i)).isoformat(), "text": "迟到",
             "channel": "京东", "category": "发票", "product": "围巾"} for i in range(3)]
    with engine.connect() as conn:
        before = cache.hours(conn, *_span(now), (COMPLAINTS,), now)
    ingest_records(engine, "complaints", late, tz=SH, enrich=False)
    with engine.connect() as conn:
        after = cache.hours(conn, *_span(now + timedelta(minutes=1)), (COMPLAINTS,), now + timedelta(minutes=1))
        fresh = read_hours(conn, *_span(now + timedelta(minutes=1)), (COMPLAINTS,))
    key = SeriesKey(COMPLAINTS, "category", "发票")
    assert after.row(after.events, key).sum() == before.row(before.events, key).sum() + 3 == 3
    assert {k: list(v) for k, v in after.events.items() if v.any()} == {k: list(v) for k, v in fresh.events.items() if v.any()}


def _span(now: datetime) -> tuple[datetime, datetime]:
    from analytics.alerts.data import hour_span

    return hour_span(now.astimezone(UTC), PARAMS.baseline_weeks, PARAMS.neighbour_hours, PARAMS.max_window)
