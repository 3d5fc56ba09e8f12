"""Issue 11, part B: charts never vanish or mislead, keyword lists read in order and are words, and
partial data is named. One test per class of problem, the issue's examples among the cases; numbers
are checked against plain loops over the rows the test inserted."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

import pytest
from matplotlib.lines import Line2D
from sqlalchemy import insert

from analytics import breakdown, charts, coverage, keywords
from analytics.charts import style
from analytics.periods import resolve_window
from analytics.store.models import Review
from bot.app import Bot
from bot.config import Settings
from tests import metric_data as md

TZ = md.TZ
THIRD = datetime(2026, 12, 3, 17, 18, tzinfo=TZ)  # a Thursday; 本月 is under three days old


def _bot(engine, tmp_path, now: datetime) -> Bot:  # noqa: ANN001
    return Bot(Settings(), engine, clock=lambda: now, chart_dir=tmp_path / "charts")


# ---------------------------------------------------------------- 1. a granularity that does not fit

@pytest.mark.parametrize(("phrase", "asked", "drawn"), [
    ("本月", "week", "day"),     # /满意度 本月 按周 on the 3rd: one week point
    ("本周", "week", "day"),     # /首响 本周 按周: one point
    ("近7天", "month", "day"),   # /满意度 近7天 按月: two slivers of months, no whole one
    ("近30天", "month", "week"),
    ("上季度", "month", "month"),  # three whole months: kept
    ("今年", "month", "month"),
    ("本月", None, "day"),
])
def test_granularity_that_does_not_fit_steps_down(phrase: str, asked: str | None, drawn: str) -> None:
    window = resolve_window(phrase, THIRD)
    used = breakdown.fit_granularity(window, asked)
    assert used == drawn
    starts = [s for s, _lo, _hi in breakdown.segments(window, used)]
    whole = [lo == s and hi == breakdown.bucket_end(s, used) for s, lo, hi in breakdown.segments(window, used)]
    assert len(starts) >= 2 and any(whole)  # what is drawn has two points, one of them a whole bucket


async def test_corrected_granularity_is_said_and_drawn(sqlite_engine, tmp_path) -> None:
    md.load(sqlite_engine, md.make_rows(days=100))
    now = datetime(2026, 11, 3, 15, 30, tzinfo=TZ)
    bot = _bot(sqlite_engine, tmp_path, now)
    reply = await bot.ask("/满意度 本月 按周")
    assert reply.ok and len(reply.charts) == 1, reply.text
    # 11-01 is a Sunday: two week points, both partial
    assert "（本月里没有一个完整的周，画不成趋势，已改为按天）" in reply.text
    assert "按天" in reply.charts[0].title
    reply = await bot.ask("/满意度 近7天 按月")
    assert len(reply.charts) == 1 and "近7天里没有一个完整的月，画不成趋势，已改为按天" in reply.text


# ---------------------------------------------------------------- 2. a chart omitted ⇒ the reply says why

@pytest.mark.parametrize("text", ["/会话量 今天 按天", "/会话量 今天 按周", "/投诉 今天 按月"])
async def test_an_omitted_chart_comes_with_its_reason(sqlite_engine, tmp_path, text: str) -> None:
    md.load(sqlite_engine, md.make_rows())
    bot = _bot(sqlite_engine, tmp_path, datetime(2026, 11, 25, 0, 50, tzinfo=TZ))  # 50 minutes of 今天
    reply = await bot.ask(text)
    assert reply.ok and reply.charts == []
    assert "（今天太短，画不出趋势图）" in reply.text


async def test_every_asked_granularity_gets_a_chart_or_a_reason(sqlite_engine, tmp_path) -> None:
    md.load(sqlite_engine, md.make_rows(days=100))
    bot = _bot(sqlite_engine, tmp_path, datetime(2026, 11, 3, 15, 30, tzinfo=TZ))
    for metric in ("满意度", "首响", "投诉", "会话量"):
        for period in ("今天", "本周", "本月", "近7天", "上月"):
            for gran in ("按天", "按周", "按月"):
                reply = await bot.ask(f"/{metric} {period} {gran}")
                assert reply.ok, reply.text
                if not reply.charts:
                    assert "画不出趋势图" in reply.text or "不画趋势图" in reply.text, (metric, period, gran)
                elif gran not in reply.charts[0].title:
                    assert "已改为" in reply.text, (metric, period, gran)


# ---------------------------------------------------------------- 3. a rate axis is not over-zoomed

def test_rate_axis_spans_at_least_five_points() -> None:
    # /满意度 近7天 按月 drew 83.6–84.2 % full height: 0.6 points looked like a swing.
    points = [(datetime(2026, 11, 1, tzinfo=TZ), 83.6), (datetime(2026, 12, 1, tzinfo=TZ), 84.2)]
    ax = charts.trend_figure(points, title="满意度", unit="%", granularity="month").axes[0]
    lo, hi = ax.get_ylim()
    assert hi - lo >= 5.0 and lo <= 83.6 and hi >= 84.2
    ax = charts.trend_figure([(p[0], 99.0 + i * 0.5) for i, p in enumerate(points)], title="解决率",
                             unit="%", granularity="month").axes[0]
    assert ax.get_ylim()[1] <= 100.0 and ax.get_ylim()[1] - ax.get_ylim()[0] >= 5.0  # no axis above 100 %
    counts = charts.trend_figure([(points[0][0], 1000.0), (points[1][0], 1010.0)], title="会话量", unit="个",
                                 granularity="month").axes[0]
    assert counts.get_ylim()[1] - counts.get_ylim()[0] < 100  # counts keep their own scale


def _lines(figure) -> list[Line2D]:  # noqa: ANN001
    """Sparklines are drawn straight onto the figure, not into an Axes."""
    return [a for a in figure.artists if isinstance(a, Line2D)]


def test_sparkline_of_a_rate_keeps_a_minimum_span() -> None:
    def height(panel: charts.Panel) -> float:
        figure = charts.small_multiples_figure([panel], title="概览")
        ys = [y for line in _lines(figure) for y in line.get_ydata() if math.isfinite(y)]
        return max(ys) - min(ys)

    wobble = [84.0, 84.1, 83.9, 84.0]
    assert height(charts.Panel("满意度", "84.0%", points=wobble, min_span=5.0)) < \
        0.2 * height(charts.Panel("满意度", "84.0%", points=wobble))


# ---------------------------------------------------------------- 4. a partial last bucket is marked

def test_partial_buckets_are_found() -> None:
    today = resolve_window("今天", datetime(2026, 11, 25, 15, 5, tzinfo=TZ))
    flags = breakdown.partial_flags(today, "hour")
    assert len(flags) == 16 and flags[-1] and not any(flags[:-1])  # 15:00–15:05 is five minutes of an hour
    month = resolve_window("近30天", THIRD)
    flags = breakdown.partial_flags(month, "week")
    assert flags[0] and flags[-1] and not any(flags[1:-1])  # entered on a Wednesday, ends today
    assert not any(breakdown.partial_flags(resolve_window("上季度", THIRD), "month"))


def test_partial_last_point_is_hollow_not_a_plunge() -> None:
    days = [datetime(2026, 12, 1, tzinfo=TZ) + timedelta(days=i) for i in range(3)]
    figure = charts.trend_figure(list(zip(days, [500.0, 520.0, 40.0], strict=True)), title="会话量", unit="个",
                                 partial=[False, False, True])
    lines = figure.axes[0].get_lines()
    solid = [ln for ln in lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 1]
    assert all(not math.isfinite(ln.get_ydata()[2]) for ln in solid if len(ln.get_ydata()) > 2)
    hollow = [ln for ln in lines if list(ln.get_xdata()) == [2] and ln.get_markerfacecolor() == style.BACKGROUND]
    assert hollow, "the partial day is drawn hollow"
    dotted = [ln for ln in lines if list(ln.get_xdata()) == [1, 2] and ln.get_linestyle() not in ("-", "None")]
    assert dotted, "and reached by a dotted segment"
    assert "未完整的周期" in {t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))}


def test_sparkline_marks_the_current_hour() -> None:
    panel = charts.Panel("会话量", "559 个", points=[30.0, 32.0, 35.0, 3.0], partial=[False, False, False, True])
    figure = charts.small_multiples_figure([panel], title="概览 · 今天")
    lines = _lines(figure)
    solid = [ln for ln in lines if ln.get_linestyle() == "-" and len(ln.get_ydata()) == 4]
    assert solid and all(not math.isfinite(ln.get_ydata()[3]) for ln in solid)  # the solid line stops before it
    assert any(ln.get_markerfacecolor() == style.TILE and len(ln.get_xdata()) == 1 for ln in lines)  # hollow


async def test_trend_and_overview_pass_partial_buckets(sqlite_engine, tmp_path, monkeypatch) -> None:
    md.load(sqlite_engine, md.make_rows())
    seen: list[dict] = []

    async def fake_render(fn, *args, **kwargs):  # noqa: ANN001, ANN202
        seen.append({"fn": fn.__name__, "args": args, **kwargs})
        return kwargs["path"]

    monkeypatch.setattr(charts, "render", fake_render)
    bot = _bot(sqlite_engine, tmp_path, md.NOW)  # Wednesday 15:30
    await bot.ask("/满意度 本周")
    trend = next(s for s in seen if s["fn"] == "trend_chart")
    assert trend["partial"] == [False, False, True]  # Mon, Tue whole; Wed to 15:30
    await bot.ask("/概览")
    panels = next(s for s in seen if s["fn"] == "small_multiples")["args"][0]
    assert all(p.partial[-1] and not any(p.partial[:-1]) for p in panels)  # 今天 by hour: 15:00–15:30
    assert {p.title: p.min_span for p in panels}["满意度"] == 5.0


# ---------------------------------------------------------------- 5/6. keyword lists: in order, words

BAD_TEXTS_HISTORY = "质量太差了"  # every day for 20 days: the lowest weight
BAD_TEXTS_NOW = ["质量太差了，还有线头"] * 6 + ["洗了一次缩水一圈，掉色"] * 4 + ["掉色严重"] * 2


def _reviews() -> list[dict]:
    rows = []
    for d in range(20):
        rows.append({"review_id": f"h{d}", "created_at": md.NOW - timedelta(days=d + 3), "rating": 1,
                     "product": "羽绒服", "text": BAD_TEXTS_HISTORY})
    for i, text in enumerate(BAD_TEXTS_NOW):
        rows.append({"review_id": f"n{i}", "created_at": md.NOW - timedelta(hours=i + 1), "rating": 1,
                     "product": "羽绒服", "text": text})
    return rows


def _keyword_line(text: str) -> list[tuple[str, int]]:
    line = next(ln for ln in text.splitlines() if ln.startswith("差评关键词"))
    return [(m[1], int(m[2])) for m in re.finditer(r"(\S+) (\d+)", line.split("：", 1)[1])]


async def test_keyword_lists_are_sorted_by_the_count_they_show(engine, tmp_path) -> None:
    rows = _reviews()
    with engine.begin() as conn:
        conn.execute(insert(Review.__table__), rows)
    keywords.rebuild(engine)
    reply = await _bot(engine, tmp_path, md.NOW).ask("/差评 今天")
    listed = _keyword_line(reply.text)
    assert listed and [n for _t, n in listed] == sorted((n for _t, n in listed), reverse=True)
    today = [r for r in rows if r["created_at"] >= datetime(2026, 11, 25, tzinfo=TZ)]
    for term, n in listed:  # each count is the number of today's bad reviews containing the term
        assert n == sum(term in r["text"] for r in today), term
    assert ("掉色", 6) in listed and ("质量", 6) in listed
    # the pick still weighs burst over steady: 掉色 (new today) is listed although 质量 is as frequent
    n, scores = keywords.top_terms(engine, "bad_review", datetime(2026, 11, 25, tzinfo=TZ), md.NOW,
                                   datetime(2026, 11, 24, tzinfo=TZ), datetime(2026, 11, 24, 15, 30, tzinfo=TZ), 3)
    assert [s.docs for s in scores] == sorted((s.docs for s in scores), reverse=True)


@pytest.mark.parametrize("term", ["一圈", "还有", "一次", "一股", "有人", "不管", "好滴", "还慢", "送到", "东西",
                                  "感觉", "买的", "哈哈", "http"])
def test_fragments_and_fillers_are_not_keywords(term: str) -> None:
    assert not keywords.is_keyword(term)


@pytest.mark.parametrize("term", ["严重", "太差", "质量", "退货", "不符", "掉色", "起球", "运费险", "偏小", "没到",
                                  "差评", "顺丰", "iphone", "不回"])
def test_words_stay_keywords(term: str) -> None:
    assert keywords.is_keyword(term)


async def test_no_fragment_or_filler_reaches_a_reply(engine, tmp_path) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Review.__table__), _reviews())
    keywords.rebuild(engine)
    reply = await _bot(engine, tmp_path, md.NOW).ask("/差评 今天")
    terms = {t for t, _n in _keyword_line(reply.text)}
    assert terms and not terms & {"一圈", "还有", "一次"}
    assert {"掉色", "缩水"} <= terms


# ---------------------------------------------------------------- 7. partial data is named

def _rows_between(first: datetime, last: datetime) -> md.Rows:
    """make_rows' conversations, reviews and complaints kept only inside [first, last]."""
    rows = md.make_rows(days=150)
    rows.conversations = [c for c in rows.conversations if first <= c["started_at"] <= last]
    keep = {c["conversation_id"] for c in rows.conversations}
    rows.messages = [m for m in rows.messages if m["conversation_id"] in keep]
    rows.complaints = [c for c in rows.complaints if first <= c["created_at"] <= last]
    rows.reviews = [r for r in rows.reviews if first <= r["created_at"] <= last]
    rows.orders = [o for o in rows.orders if first <= o["created_at"] <= last]
    ids = {o["order_id"] for o in rows.orders}
    rows.returns = [r for r in rows.returns if r["order_id"] in ids and first <= r["created_at"] <= last]
    return rows


def _day(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日"


async def test_partial_data_is_named_at_the_start(engine, tmp_path) -> None:
    rows = _rows_between(datetime(2026, 9, 4, 10, tzinfo=TZ), md.NOW)
    md.load(engine, rows)
    first = min(c["started_at"] for c in rows.conversations).astimezone(TZ)
    first_review = min(r["created_at"] for r in rows.reviews).astimezone(TZ)
    bot = _bot(engine, tmp_path, md.NOW)
    for text in ("/满意度 上季度", "/满意度 今年", "今年满意度多少", "/会话量 今年"):
        reply = await bot.ask(text)
        assert f"数据自 {_day(first)} 起" in reply.text.splitlines()[2], (text, reply.text)
    reply = await bot.ask("/差评 今年")  # its own table: the first review, not the first conversation
    assert f"数据自 {_day(first_review)} 起" in reply.text
    reply = await bot.ask("/满意度 10月")  # covered: nothing to say about the window
    assert "数据自" not in reply.text.splitlines()[2]
    reply = await bot.ask("/满意度 6月")  # wholly before the data: no data, not an empty rate
    assert "这段时间没有数据" in reply.text
    reply = await bot.ask("/投诉 6月")  # and not "投诉 0 件"
    assert "这段时间没有数据" in reply.text and "0 件" not in reply.text


async def test_cards_name_partial_data_and_a_comparison_before_it(engine, tmp_path) -> None:
    """/概览 and /客服 cover several metrics: the conversations' range is named on them too."""
    rows = _rows_between(datetime(2026, 9, 4, 10, tzinfo=TZ), md.NOW)
    md.load(engine, rows)
    first = _day(min(c["started_at"] for c in rows.conversations).astimezone(TZ))
    bot = _bot(engine, tmp_path, md.NOW)
    agent = rows.conversations[-1]["agent"]
    for text in ("/概览 今年", "/客服 今年", f"/客服 {agent} 今年"):
        reply = await bot.ask(text)
        lines = reply.text.splitlines()
        assert f"数据自 {first} 起" in lines[2], (text, reply.text)
        assert f"去年同期没有数据（数据自 {first} 起），不作比较" in reply.text, (text, reply.text)
    for text in ("/概览 10月", "/客服 10月"):  # covered, and September has data: nothing to say
        reply = await bot.ask(text)
        assert "数据自" not in reply.text and "不作比较" not in reply.text, (text, reply.text)


async def test_partial_data_is_named_at_the_end(engine, tmp_path) -> None:
    last_moment = datetime(2026, 11, 19, 16, tzinfo=TZ)
    rows = _rows_between(datetime(2026, 8, 1, tzinfo=TZ), last_moment)
    md.load(engine, rows)
    last = max(c["started_at"] for c in rows.conversations).astimezone(TZ)
    bot = _bot(engine, tmp_path, md.NOW)
    reply = await bot.ask("/满意度 11月1日-11月23日")  # a complete past window the data stops inside
    assert f"数据截至 {_day(last)}" in reply.text
    reply = await bot.ask("/满意度 10月")
    assert "数据截至" not in reply.text
    reply = await bot.ask("/满意度 本周")  # to date, and the data stopped before it began
    assert "这段时间没有数据" in reply.text


def test_data_range_is_two_index_probes_per_table(engine) -> None:
    md.load(engine, md.make_rows(days=10, per_day=5))
    from sqlalchemy import func, select, text

    from analytics.store.models import Conversation

    with engine.connect() as conn:
        rng = coverage.data_range(conn, "csat")
        col = Conversation.__table__.c.started_at
        stmt = select(func.min(col)).compile(conn, compile_kwargs={"literal_binds": True})
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {stmt}")))
            assert "INDEX" in plan and "SCAN conversations" not in plan.replace("COVERING INDEX", ""), plan
        else:
            plan = " ".join(r[0] for r in conn.execute(text(f"EXPLAIN {stmt}")))
            assert "Index Only Scan" in plan or "Index Scan" in plan, plan
    rows = md.make_rows(days=10, per_day=5)
    assert rng.first == min(c["started_at"] for c in rows.conversations)
    assert rng.last == max(c["started_at"] for c in rows.conversations)


# ---------------------------------------------------------------- 8. a comparison window before the data

async def test_no_comparison_with_a_window_before_the_data(engine, tmp_path) -> None:
    rows = _rows_between(datetime(2026, 9, 16, 10, tzinfo=TZ), md.NOW)
    md.load(engine, rows)
    first = _day(min(c["started_at"] for c in rows.conversations).astimezone(TZ))
    bot = _bot(engine, tmp_path, md.NOW)
    reply = await bot.ask("/满意度 上季度")  # 第2季度 has no row at all
    assert f"第2季度没有数据（数据自 {first} 起），不作比较" in reply.text
    assert "n=0" not in reply.text
    reply = await bot.ask("/满意度 今年")
    assert f"去年同期没有数据（数据自 {first} 起），不作比较" in reply.text
    reply = await bot.ask("/投诉 10月")  # a count against a September that starts on the 16th: not compared
    assert "9月只有部分数据" in reply.text and "较9月" not in reply.text
    reply = await bot.ask("/满意度 10月")  # a rate is compared, the gap named
    assert "较9月" in reply.text and "9月的数据自" in reply.text
