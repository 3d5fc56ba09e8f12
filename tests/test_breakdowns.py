"""/客服, /高峰, /概览 and trend series against plain loops, on both databases."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics import breakdown, rollups
from analytics.periods import resolve_window
from bot.app import Bot
from bot.config import Settings
from tests import metric_data as md

MONTH = (datetime(2026, 11, 1, tzinfo=md.TZ), md.NOW)


@pytest.fixture(params=["raw", "rollups"])
def loaded(engine, request):
    """The rows loaded directly: answered from raw rows, or from the rollups after a rebuild."""
    rows = md.make_rows()
    md.load(engine, rows)
    if request.param == "rollups":
        rollups.rebuild(engine)
    return engine, rows


@pytest.fixture
def bot(loaded, tmp_path):
    engine, _ = loaded
    return Bot(Settings(), engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")


def test_by_agent_matches_loop(loaded):
    engine, rows = loaded
    for flt in [{}, {"channel": "淘宝"}]:
        got = {r.agent: r for r in breakdown.by_agent(engine, *MONTH, flt)}
        for agent in md.AGENTS:
            convs = [c for c in md.convs(rows, *MONTH, flt) if c["agent"] == agent]
            rated = [c for c in convs if c["rating"] is not None]
            frt = [c["first_response_seconds"] for c in convs if c["first_response_seconds"] is not None]
            r = got[agent]
            assert (r.conversations, r.rated, r.good) == (len(convs), len(rated), sum(c["rating"] >= 4 for c in rated))
            assert r.frt_n == len(frt) and r.frt_sum == pytest.approx(sum(frt))
            conv_all = {c["conversation_id"]: c for c in rows.conversations}
            n_complaints = sum(1 for k in rows.complaints if MONTH[0] <= k["created_at"] < MONTH[1]
                               and k["conversation_id"] in conv_all and conv_all[k["conversation_id"]]["agent"] == agent
                               and (not flt or conv_all[k["conversation_id"]]["channel"] == flt["channel"]))
            assert r.complaints == n_complaints


def test_weekday_hour_matches_loop(loaded):
    engine, rows = loaded
    matrix = breakdown.weekday_hour_counts(engine, *MONTH, {}, md.TZ)
    expected = [[0] * 24 for _ in range(7)]
    for c in md.convs(rows, *MONTH, {}):
        local = c["started_at"].astimezone(md.TZ)
        expected[local.weekday()][local.hour] += 1
    assert matrix == expected


def test_series_matches_loop(loaded):
    engine, rows = loaded
    window = resolve_window("本月", md.NOW)
    got = breakdown.series(engine, "csat", window, "week")
    assert got[0][0] == datetime(2026, 10, 26, tzinfo=md.TZ)  # the Monday of the week containing 11-01
    for start, value, n in got:
        lo = max(start, window.start)
        hi = min(start + (datetime(2026, 11, 2) - datetime(2026, 10, 26)), window.end)
        exp_value, exp_n = md.expect_csat(rows, lo, hi, {})
        assert n == exp_n and value == pytest.approx(exp_value)


def _expect_point(rows, key: str, lo: datetime, hi: datetime, flt: dict[str, str]) -> tuple[float | None, int]:
    """(value, n) of one trend point by plain loops over the rows (metric_data)."""
    if key == "conversations":
        n = len(md.convs(rows, lo, hi, flt))
        return float(n), n
    if key == "csat":
        return md.expect_csat(rows, lo, hi, flt)
    if key == "resolution":
        return md.expect_resolution(rows, lo, hi, flt)
    if key == "frt":
        mean, n, *_ = md.expect_frt(rows, lo, hi, flt)
        return mean, n
    if key == "complaints":
        n = len(md.expect_complaints(rows, lo, hi, flt))
        return float(n), n
    if key == "return_rate":
        rate, n, _ = md.expect_return_rate(rows, lo, hi, flt)
        return rate, n
    if key == "repurchase":
        return md.expect_repurchase(rows, lo, hi, flt)
    if key == "bad_reviews":
        return md.expect_bad_reviews(rows, lo, hi, flt)
    if key == "sales":
        n, amount = md.expect_sales(rows, lo, hi, flt)
        return amount, n
    mean, n, _ = md.expect_sentiment(rows, lo, hi, flt)
    return mean, n


SERIES_FILTERS = {"conversations": {"agent": "小王"}, "csat": {"channel": "淘宝"}, "frt": {"shop": "旗舰店"},
                  "resolution": {"channel": "京东"}, "complaints": {"agent": "小李"},
                  "return_rate": {"channel": "淘宝"}, "repurchase": {"product": "羽绒服"},
                  "bad_reviews": {"product": "运动鞋"}, "sales": {"channel": "抖音"}, "sentiment": {"agent": "小张"}}


@pytest.mark.parametrize("phrase,granularity", [("本月", "day"), ("近30天", "day"), ("近60天", "week"),
                                                ("今年", "month"), ("今天", "hour"), ("昨天", "hour")])
def test_every_metric_series_matches_loop(loaded, phrase, granularity):
    """Every metric's trend points (one batched rollup read per series) equal plain loops per point, for
    the window and its comparison, without and with a filter; 今天 ends mid-hour (raw edge rows)."""
    engine, rows = loaded
    window = resolve_window(phrase, md.NOW)
    for key, one in SERIES_FILTERS.items():
        for flt in ({}, one):
            got = breakdown.series_many(engine, key, [window, window.previous()], granularity, flt)
            for w, points in zip([window, window.previous()], got, strict=True):
                plan = breakdown.segments(w, granularity)
                assert [p[0] for p in points] == [b for b, _, _ in plan]
                for (_, value, n), (_, lo, hi) in zip(points, plan, strict=True):
                    exp_value, exp_n = _expect_point(rows, key, lo, hi, flt)
                    assert n == exp_n, (key, flt, lo, hi)
                    assert value == pytest.approx(exp_value), (key, flt, lo, hi)


def test_overview_card_matches_loop(loaded, tmp_path):
    """The /概览 card (one batch for every metric, window and point) equals plain loops."""
    from handlers import overview
    from handlers.base import CommandContext

    engine, rows = loaded
    bot = Bot(Settings(), engine, clock=lambda: md.NOW, chart_dir=tmp_path / "charts")
    for phrase, flt in [("本月", {}), ("今天", {"channel": "淘宝"})]:
        window = resolve_window(phrase, md.NOW)
        ctx = CommandContext(overview.SPEC, bot.services, md.NOW, window=window, filters=flt)
        data, _rng = overview._compute(ctx)
        plan = breakdown.segments(window, breakdown.auto_granularity(window) or "hour")
        for key, (cur, prev, points) in data.items():
            kf = {k: v for k, v in flt.items() if k in breakdown.metrics.METRICS[key].filters}
            for result, (lo, hi) in [(cur, (window.start, window.end)), (prev, (window.prev_start, window.prev_end))]:
                exp_value, exp_n = _expect_point(rows, key, lo, hi, kf)
                assert (result.n, result.value) == (exp_n, pytest.approx(exp_value)), (key, phrase)
            assert points == [pytest.approx(_expect_point(rows, key, lo, hi, kf)[0]) for _, lo, hi in plan]


async def test_agent_league_ranks_and_respects_min_n(bot, loaded):
    _, rows = loaded
    reply = await bot.ask("/客服 本月")
    assert reply.ok and reply.charts and reply.charts[0].path.exists()
    ranked = []
    for agent in md.AGENTS:
        rated = [c for c in md.convs(rows, *MONTH, {}) if c["agent"] == agent and c["rating"] is not None]
        ranked.append((-sum(c["rating"] >= 4 for c in rated) / len(rated), -len(rated), agent))
    order = [a for _, _, a in sorted(ranked)]
    lines = [line for line in reply.text.splitlines() if line[:2] in {f"{i}." for i in range(1, 9)}]
    assert [line.split()[1] for line in lines] == order

    bot.services.min_agent_n = 10_000
    reply = await bot.ask("/客服 本月")
    assert "样本不足不排名" in reply.text and "1. " not in reply.text


async def test_agent_profile_and_unknown_agent(bot):
    reply = await bot.ask("/客服 小王 本月")
    assert reply.ok and "**小王 · 本月**" in reply.text and "团队" in reply.text
    reply = await bot.ask("/客服 小汪 本月")
    assert not reply.ok and "小王" in reply.text


async def test_agent_profile_compares_only_with_enough_ratings_last_period(bot, loaded):
    engine, rows = loaded
    window = resolve_window("今天", md.NOW)
    prev_rated = sum(1 for c in md.convs(rows, window.prev_start, window.prev_end, {"agent": "小王"})
                     if c["rating"] is not None)
    assert prev_rated < Settings().metrics.min_agent_n  # yesterday: a handful of rated chats
    reply = await bot.ask("/客服 小王 今天")
    assert reply.ok and f"昨天同期参评 {prev_rated} 个，不足 20 个" in reply.text and "个百分点" not in reply.text


async def test_peak_and_overview(bot, loaded):
    reply = await bot.ask("/高峰 本月")
    assert reply.ok and reply.charts
    reply = await bot.ask("/概览 本周")
    assert reply.ok and reply.charts and reply.charts[0].path.stat().st_size < 300_000
    for name in ["会话量", "满意度", "首响", "解决率", "投诉", "退货率", "差评", "销售"]:
        assert name in reply.text


@pytest.mark.parametrize("flt", [{}, {"channel": "淘宝"}, {"product": "羽绒服"}])
def test_sales_and_product_view_match_loop(loaded, flt):
    engine, rows = loaded
    orders = [o for o in rows.orders if MONTH[0] <= o["created_at"] < MONTH[1] and md._match(o, flt)]
    for dim in ("channel", "product"):
        totals: dict[str, list[int]] = {}
        for o in orders:
            if o[dim] is not None:
                t = totals.setdefault(o[dim], [0, 0])
                t[0] += 1
                t[1] += o["amount_fen"] or 0
        expected = sorted(((k, n, a / 100) for k, (n, a) in totals.items()), key=lambda r: (-r[2], r[0]))
        assert breakdown.sales_by(engine, dim, *MONTH, flt) == expected
    channel_of = {o["order_id"]: o["channel"] for o in rows.orders}
    view = {r.product: r for r in breakdown.product_view(engine, *MONTH, flt)}
    for product in {o["product"] for o in rows.orders} | {r["product"] for r in rows.returns}:
        rets = [r for r in rows.returns if MONTH[0] <= r["created_at"] < MONTH[1] and r["product"] == product
                and ("product" not in flt or r["product"] == flt["product"])
                and ("channel" not in flt or channel_of.get(r["order_id"]) == flt["channel"])]
        revs = [v for v in rows.reviews if MONTH[0] <= v["created_at"] < MONTH[1] and v["product"] == product
                and "channel" not in flt and md._match(v, flt)]
        comps = [k for k in rows.complaints if MONTH[0] <= k["created_at"] < MONTH[1] and k["product"] == product
                 and md._match(k, flt)]
        sold = [o for o in orders if o["product"] == product]
        if not (sold or rets or revs or comps):
            assert product not in view
            continue
        r = view[product]
        assert (r.orders, r.returns, r.reviews, r.complaints) == (len(sold), len(rets), len(revs), len(comps)), product
        assert r.bad_reviews == sum(1 for v in revs if v["rating"] <= 2)
        assert r.amount == pytest.approx(sum(o["amount_fen"] or 0 for o in sold) / 100)
