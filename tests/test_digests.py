"""日报 / 周报 content: every number equals a plain loop over the rows and the metric commands' own
answer for the same window, on SQLite and PostgreSQL, from raw rows and from rollups."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from analytics import digests, metrics, rollups
from analytics.digests import flags
from analytics.metrics import MetricResult
from analytics.periods import resolve_window
from handlers.base import Services
from handlers.digest import digest_reply
from tests import metric_data as md

DAY = date(2026, 11, 24)  # yesterday at md.NOW (a Tuesday)
WEEK = date(2026, 11, 16)  # last week's Monday at md.NOW


def at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=md.TZ)


def span(d: date, days: int = 1) -> tuple[datetime, datetime]:
    return at(d), at(d + timedelta(days=days))


def expect(key: str, rows: md.Rows, start: datetime, end: datetime, flt: dict[str, str]) -> tuple[float | None, int]:
    """(value, n) of metric ``key`` by a plain loop over the rows (tests/metric_data.py)."""
    if key == "conversations":
        n = len(md.convs(rows, start, end, flt))
        return float(n), n
    if key == "csat":
        return md.expect_csat(rows, start, end, flt)
    if key == "frt":
        mean, n, *_ = md.expect_frt(rows, start, end, flt)
        return mean, n
    if key == "resolution":
        return md.expect_resolution(rows, start, end, flt)
    if key == "complaints":
        n = len(md.expect_complaints(rows, start, end, flt))
        return float(n), n
    if key == "return_rate":
        value, n, _ = md.expect_return_rate(rows, start, end, flt)
        return value, n
    if key == "bad_reviews":
        return md.expect_bad_reviews(rows, start, end, flt)
    n, amount = md.expect_sales(rows, start, end, flt)
    return amount, n


def same(result: MetricResult | None, want: tuple[float | None, int]) -> bool:
    value, n = want
    if result is None or result.n != n:
        return False
    if result.value is None or value is None:
        return result.value is None and value is None
    return result.value == pytest.approx(value, rel=1e-9, abs=1e-9)


def categories_loop(rows: md.Rows, start: datetime, end: datetime, flt: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in md.expect_complaints(rows, start, end, flt):
        if k["category"] is not None:
            out[k["category"]] = out.get(k["category"], 0) + 1
    return out


@pytest.fixture(params=["raw", "rollups"])
def loaded(request, engine):
    rows = md.make_rows()
    md.load(engine, rows)
    if request.param == "rollups":
        rollups.rebuild(engine)
    return engine, rows


@pytest.mark.parametrize("flt", [{}, {"channel": "淘宝"}])
def test_daily_numbers_equal_loop_and_commands(loaded, flt):
    engine, rows = loaded
    period = digests.daily_period(DAY, md.TZ)
    assert (period.start, period.end) == span(DAY)
    w = resolve_window("昨天", md.NOW)  # the window of /满意度 昨天
    assert (w.start, w.end) == (period.start, period.end)
    d = digests.build(engine, period, md.TZ, filters=flt, sections=digests.SECTIONS)
    assert not d.empty
    supported = [k for k in digests.KPI_KEYS if all(f in metrics.METRICS[k].filters for f in flt)]
    assert list(d.rows) == supported
    assert d.unsupported == [k for k in digests.KPI_KEYS if k not in supported]
    for key, row in d.rows.items():
        assert same(row.current, expect(key, rows, *span(DAY), flt)), key
        assert same(row.previous, expect(key, rows, *span(DAY - timedelta(days=1)), flt)), key
        assert same(row.same_weekday, expect(key, rows, *span(DAY - timedelta(days=7)), flt)), key
        for i, h in enumerate(row.history, 1):
            assert same(h, expect(key, rows, *span(DAY - timedelta(days=7 * i)), flt)), (key, i)
        assert len(row.points) == 14
        for back, value in zip(range(13, -1, -1), row.points, strict=True):
            want = expect(key, rows, *span(DAY - timedelta(days=back)), flt)[0]
            assert value == pytest.approx(want, rel=1e-9, abs=1e-9) if want is not None else value is None
        # What the command computes for the same window (one source of truth); the batched read sums
        # the same buckets in another order, so floats may differ in the last bit.
        command = metrics.compute(engine, key, w.start, w.end, flt)
        assert command.n == row.current.n, key
        assert command.value == pytest.approx(row.current.value, rel=1e-12) if command.value is not None \
            else row.current.value is None
    assert dict(d.categories) == categories_loop(rows, *span(DAY), flt)


def test_daily_rising_reasons_follow_the_rule(loaded):
    engine, rows = loaded
    d = digests.build(engine, digests.daily_period(DAY, md.TZ), md.TZ, sections=digests.SECTIONS)
    now = categories_loop(rows, *span(DAY), {})
    before = categories_loop(rows, at(DAY - timedelta(days=7)), at(DAY), {})
    want = sorted(((c, n, before.get(c, 0) / 7) for c, n in now.items()
                   if n - before.get(c, 0) / 7 >= 3 and n >= 1.5 * before.get(c, 0) / 7),
                  key=lambda t: (-(t[1] - t[2]), t[0]))[:3]
    assert [(c.category, c.count, pytest.approx(c.baseline)) for c in d.rising] == want


def test_weekly_numbers_and_league(loaded):
    engine, rows = loaded
    period = digests.weekly_period(WEEK + timedelta(days=3), md.TZ)  # any day inside the week
    assert (period.start, period.end) == span(WEEK, 7)
    w = resolve_window("上周", md.NOW)
    assert (w.start, w.end) == (period.start, period.end)
    d = digests.build(engine, period, md.TZ, sections=digests.SECTIONS, show_agents=True, min_agent_n=20)
    for key, row in d.rows.items():
        assert same(row.current, expect(key, rows, *span(WEEK, 7), {})), key
        assert same(row.previous, expect(key, rows, *span(WEEK - timedelta(days=7), 7), {})), key
        assert row.same_weekday is None
        assert len(row.points) == 8
        assert row.points[-1] == row.current.value
    by_agent: dict[str, list[int]] = {}
    for c in md.convs(rows, *span(WEEK, 7), {}):
        stats = by_agent.setdefault(c["agent"], [0, 0, 0])
        stats[0] += 1
        if c["rating"] is not None:
            stats[1] += 1
            stats[2] += c["rating"] >= 4
    assert {r.agent: [r.conversations, r.rated, r.good] for r in d.agents} == by_agent
    hidden = digests.build(engine, period, md.TZ, sections=digests.SECTIONS, show_agents=False)
    assert hidden.agents is None


def test_sections_pick_what_is_built(sqlite_engine):
    md.load(sqlite_engine, md.make_rows())
    chosen = digests.parse_sections(["满意度", "csat", "投诉上升"])
    assert chosen == ("满意度", "投诉上升")
    d = digests.build(sqlite_engine, digests.daily_period(DAY, md.TZ), md.TZ, sections=chosen)
    assert list(d.rows) == ["csat"]
    assert digests.parse_sections(["指标"]) == digests.SECTIONS[:8]
    with pytest.raises(digests.DigestError, match="没有「天气」这一栏"):
        digests.parse_sections(["天气"])


def test_unreadable_database_raises_digest_unavailable(tmp_path):
    from sqlalchemy import create_engine

    from analytics.store.db import open_database

    down = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/csbot")  # nothing listens on port 1
    with pytest.raises(digests.DigestUnavailable) as err:
        digests.build(down, digests.daily_period(DAY, md.TZ), md.TZ, sections=digests.SECTIONS)
    assert "OperationalError" in err.value.reason
    broken = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    with broken.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {metrics.CONV.name}")
    with pytest.raises(digests.DigestUnavailable):
        digests.build(broken, digests.daily_period(DAY, md.TZ), md.TZ, sections=digests.SECTIONS)


def _result(value: float | None, n: int, key: str = "csat") -> MetricResult:
    return MetricResult(key, value, n)


@pytest.mark.parametrize(("key", "current", "history", "want"), [
    # 满意度 85% of 400 vs a pooled 92% over 4 weeks: ~5 standard errors below → flagged, bad news
    ("csat", _result(0.85, 400), [_result(0.92, 400)] * 4, (-1, False)),
    # the same drop on 30 ratings is within what 30 can wobble → not flagged
    ("csat", _result(0.85, 30), [_result(0.92, 400)] * 4, None),
    # 1.5 points on 50,000 ratings is significant but below the 2-point floor → not flagged
    ("csat", _result(0.905, 50_000), [_result(0.92, 50_000)] * 4, None),
    # too little history (2 of 4 weeks with data) → never flagged
    ("csat", _result(0.50, 400), [_result(0.92, 400), _result(0.92, 400), _result(None, 0), _result(None, 0)], None),
    # 投诉 42 vs 8–12 the same weekday before → far above the widened range and 3 √μ → flagged
    ("complaints", _result(42, 42), [_result(v, v) for v in (8, 10, 12, 9)], (1, False)),
    # 投诉 5 vs 2–3: above 1.2 × max but only 2.5 over a mean of 2.5, under 3 √2.5 → a small-count wobble
    ("complaints", _result(5, 5), [_result(v, v) for v in (2, 3, 2, 3)], None),
    # 会话量 halved against a steady 1,000 → flagged low, no judgement on volume
    ("conversations", _result(500, 500), [_result(v, v) for v in (1000, 980, 1020, 1010)], (-1, None)),
    # 首响 60 s vs 30–40 s → above 1.2 × 40, bad news
    ("frt", _result(60.0, 200), [_result(v, 200) for v in (30.0, 35.0, 40.0, 33.0)], (1, False)),
    # 首响 on 10 conversations → too few to flag
    ("frt", _result(90.0, 10), [_result(v, 200) for v in (30.0, 35.0, 40.0, 33.0)], None),
    # 销售 inside the range → quiet
    ("sales", _result(1100.0, 50), [_result(v, 50) for v in (1000.0, 1200.0, 900.0, 1050.0)], None),
])
def test_unusual_rule(key, current, history, want):
    flag = flags.unusual(key, current, history)
    assert (None if flag is None else (flag.direction, flag.good)) == want


@pytest.mark.parametrize(("values", "want"), [
    ([0.90, 0.91, 0.92, 0.93], 3),  # three rises in a row
    ([0.93, 0.92, 0.91, 0.90], -3),  # three falls in a row
    ([0.90, 0.92, 0.91, 0.93], 0),  # zig-zag
    ([0.90, 0.90, 0.91, 0.92], 0),  # only two moves
])
def test_trend_streak(values, want):
    weekly = [_result(v, 100) for v in values]
    assert flags.streak("csat", weekly) == want
    thin = [_result(v, 2) for v in values]  # under the metric's min_compare_n: no trend claimed
    assert flags.streak("csat", thin) == 0


async def test_reply_numbers_and_quiet_days(sqlite_engine, tmp_path):
    rows = md.make_rows()
    md.load(sqlite_engine, rows)
    services = Services(engine=sqlite_engine, tz=md.TZ, chart_dir=tmp_path / "charts")
    reply = await digest_reply(services, "日报", now=md.NOW)
    csat, n = md.expect_csat(rows, *span(DAY), {})
    assert reply.text.splitlines()[0] == "**日报 · 11月24日（周二）**"
    assert f"满意度 {csat * 100:.1f}%（参评 {n:,}）" in reply.text
    assert len(reply.charts) == 1 and reply.charts[0].path.name.endswith(".png")
    # A day long after the data: one line, no chart.
    later = datetime(2027, 3, 2, 9, 0, tzinfo=md.TZ)
    quiet = await digest_reply(services, "日报", now=later)
    assert quiet.text == "日报 · 3月1日（周一）：昨日无数据" and not quiet.charts
    quiet = await digest_reply(services, "周报", now=later, filters={"渠道": "淘宝"})
    assert quiet.text == "周报 · 2月22日-2月28日 · 渠道=淘宝：上周无数据"
    old = await digest_reply(services, "日报", now=md.NOW, day=date(2020, 1, 1))
    assert old.text == "日报 · 1月1日（周三）：当日无数据"


async def test_too_little_comparison_data_says_so(sqlite_engine, tmp_path):
    rows = md.make_rows(days=10)  # data from 11-15 15:30: 11-17's same weekday a week earlier has none
    md.load(sqlite_engine, rows)
    services = Services(engine=sqlite_engine, tz=md.TZ, chart_dir=tmp_path / "charts")
    reply = await digest_reply(services, "日报", now=md.NOW, day=date(2026, 11, 17))
    lines = reply.text.splitlines()
    assert lines[1] == "全部 · 较前日"  # the empty comparison is not a column
    assert "上周二无数据，不作比较" in lines
    assert all("较上周二" not in line for line in lines)


async def test_filters_apply_and_unsupported_metrics_are_named(sqlite_engine, tmp_path):
    rows = md.make_rows()
    md.load(sqlite_engine, rows)
    services = Services(engine=sqlite_engine, tz=md.TZ, chart_dir=tmp_path / "charts")
    reply = await digest_reply(services, "日报", now=md.NOW, filters={"渠道": "淘宝"}, sections=["会话量", "差评"])
    n = len(md.convs(rows, *span(DAY), {"channel": "淘宝"}))
    assert reply.text.splitlines()[1].startswith("渠道=淘宝")
    assert f"会话量 {n:,} 个" in reply.text or f"会话量 {n:,} 件" in reply.text
    assert "（差评不支持按渠道=淘宝筛选，未列出）" in reply.text
    assert "满意度" not in reply.text
