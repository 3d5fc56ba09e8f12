"""Charts: every type renders from realistic data into a small 720 px PNG whose every glyph the
chosen CJK font covers, with no matplotlib glyph/font warnings, and rendering stays off the loop."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import random
import threading
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from analytics import charts
from analytics.charts import fonts, numbers, style

TZ = ZoneInfo("Asia/Shanghai")
MAX_HEIGHT_PX = 2400


# ---------------------------------------------------------------- realistic data, seeded


def _daily_csat(rng: random.Random, start: date, days: int, base: float) -> list[tuple[date, float | None]]:
    """A week-shaped CSAT series in %, with a quiet day (no ratings) now and then."""
    out: list[tuple[date, float | None]] = []
    for i in range(days):
        day = start + timedelta(days=i)
        weekend_dip = -1.5 if day.weekday() >= 5 else 0.0
        value = base + weekend_dip + rng.gauss(0, 1.2)
        out.append((day, None if rng.random() < 0.05 else min(100.0, value)))
    return out


def _hourly_volume(rng: random.Random, start: datetime, hours: int) -> list[tuple[datetime, float]]:
    out = []
    for i in range(hours):
        moment = start + timedelta(hours=i)
        h = moment.hour
        level = 8 + 120 * math.exp(-(((h - 10.5) / 3) ** 2)) + 90 * math.exp(-(((h - 20.5) / 2) ** 2))
        out.append((moment, float(round(level * rng.uniform(0.8, 1.2)))))
    return out


def _peak_matrix(rng: random.Random) -> list[list[float]]:
    return [
        [round((20 + 260 * math.exp(-(((h - 10.5) / 3) ** 2)) + 170 * math.exp(-(((h - 20.5) / 2) ** 2)))
               * (0.75 if d >= 5 else 1.0) * rng.uniform(0.85, 1.15)) for h in range(24)]
        for d in range(7)
    ]


AGENTS = ["小王", "李娜娜", "张伟", "客服-王晓明（夜班组）", "陈静", "刘洋", "赵敏", "孙悦", "周杰", "吴磊", "郑爽", "冯一鸣"]
PRODUCTS = ["【旗舰店】加厚羽绒服男款冬季中长款连帽外套", "纯棉四件套 1.8m 床单被套", "儿童保温杯 316 不锈钢",
            "USB-C 快充数据线 2 米", "$9.9 包邮 袜子 10 双装", "无线降噪蓝牙耳机_Pro"]


def _panels(rng: random.Random) -> list[charts.Panel]:
    def series(lo: float, hi: float) -> list[float | None]:
        return [rng.uniform(lo, hi) for _ in range(14)]

    return [
        charts.Panel("会话量", "1,284", "↑ 8.2% 较上周同期", series(900, 1300), None),
        charts.Panel("满意度", "95.2%", "↓ 1.3pt 较上周同期", series(93, 97), False),
        charts.Panel("首响中位数", "18秒", "↓ 4秒 较上周同期", series(15, 30), True),
        charts.Panel("投诉率", "3.1‰", "↑ 0.4‰ 较上周同期", series(2, 4), False),
        charts.Panel("销售额", "¥1,234,567.89", "↑ 12.0% 较上周同期", series(1e5, 2e5), True),
        charts.Panel("退货率", "4.6%", "持平", series(4, 5), None),
        charts.Panel("差评率", "1.2%", "上期数据不足，无法比较", [None] * 5 + series(1, 2)[:9], None),
    ]


def _cases() -> dict[str, tuple]:
    """name -> (figure builder, file writer, kwargs) for every chart type and its edge cases."""
    rng = random.Random(20251126)
    week = date(2025, 11, 24)
    month_points = [(date(2024 + (11 + i) // 12, (11 + i) % 12 + 1, 1), rng.uniform(8e5, 2e6)) for i in range(12)]
    agent_csat = [rng.uniform(78, 98) for _ in AGENTS]
    return {
        "trend_week_vs_previous": (charts.trend_figure, charts.trend_chart, dict(
            points=_daily_csat(rng, week, 3, 94), previous=_daily_csat(rng, week - timedelta(7), 7, 93),
            title="满意度趋势 · 本周", subtitle="本周 11-24 00:00 ~ 11-26 15:00 · 渠道=淘宝 · 按天", unit="%")),
        "trend_30_days": (charts.trend_figure, charts.trend_chart, dict(
            points=_daily_csat(rng, date(2025, 10, 28), 30, 92),
            previous=_daily_csat(rng, date(2025, 9, 28), 30, 91),
            title="满意度趋势 · 近30天", subtitle="近30天 10-28 ~ 11-26 15:00 · 店铺=旗舰店", unit="%")),
        "trend_hours": (charts.trend_figure, charts.trend_chart, dict(
            points=_hourly_volume(rng, datetime(2025, 11, 25, 16, tzinfo=TZ), 24),
            title="会话量 · 近24小时", subtitle="近24小时 11-25 16:00 ~ 11-26 16:00 · 按小时",
            unit="", granularity="hour", value_format="{:,.0f}")),
        "trend_months_money": (charts.trend_figure, charts.trend_chart, dict(
            points=month_points, title="销售额 · 近12个月", subtitle="2024-12 ~ 2025-11 · 按月 · 全部渠道",
            unit="¥", granularity="month", value_format="{:,.0f}")),
        "trend_long_unit": (charts.trend_figure, charts.trend_chart, dict(
            points=[(week + timedelta(i), rng.uniform(2, 5)) for i in range(7)],
            previous=[(week - timedelta(7 - i), rng.uniform(2, 5)) for i in range(7)],
            title="投诉率 · 上周", subtitle="上周 11-17 ~ 11-23 · 按天", unit="‰（每千会话）", value_format="{:.2f}")),
        "trend_empty": (charts.trend_figure, charts.trend_chart, dict(
            points=[(week, None)], title="满意度趋势 · 今天", subtitle="今天 11-26 00:00 ~ 15:00", unit="%")),
        "bars_agents": (charts.bar_figure, charts.bar_chart, dict(
            labels=AGENTS, values=agent_csat, counts=[rng.randint(20, 500) for _ in AGENTS],
            highlight="张伟", title="客服满意度排行 · 本月",
            subtitle="本月 11-01 00:00 ~ 11-26 15:00 · 渠道=淘宝 · 至少 20 个评价", unit="%")),
        "bars_products_long_labels": (charts.bar_figure, charts.bar_chart, dict(
            labels=PRODUCTS, values=[rng.uniform(1, 15) for _ in PRODUCTS],
            counts=[rng.randint(30, 900) for _ in PRODUCTS],
            title="退货率 Top 商品 · 本月", subtitle="本月 · 店铺=旗舰店", unit="%")),
        "bars_categories_money": (charts.bar_figure, charts.bar_chart, dict(
            labels=["淘宝", "京东", "抖音", "拼多多", "小程序"], values=[1234567.8, 873000.0, 455120.5, 90210.0, 1200.0],
            title="销售额 · 按渠道 · 本月", unit="¥", value_format="{:,.0f}")),
        "bars_many_first_response": (charts.bar_figure, charts.bar_chart, dict(
            labels=[f"客服{i:02d}" for i in range(30)], values=[rng.uniform(8, 90) for _ in range(30)],
            title="首响中位数 · 本周", subtitle="本周 · 越短越好", unit="秒", value_format="{:.0f}", order="asc")),
        "bars_empty": (charts.bar_figure, charts.bar_chart, dict(
            labels=[], values=[], title="投诉分类 · 今天", subtitle="今天", unit="件")),
        "heatmap_peak": (charts.heatmap_figure, charts.heatmap, dict(
            matrix=_peak_matrix(rng), title="咨询高峰 · 近4周", subtitle="近4周 10-30 ~ 11-26 15:00 · 会话量")),
        "heatmap_empty": (charts.heatmap_figure, charts.heatmap, dict(
            matrix=[[0] * 24 for _ in range(7)], title="咨询高峰 · 今天", subtitle="今天")),
        "multiples_overview": (charts.small_multiples_figure, charts.small_multiples, dict(
            panels=_panels(rng), title="概览 · 本周", subtitle="本周 11-24 00:00 ~ 11-26 15:00 · 全部渠道")),
        "multiples_three_columns": (charts.small_multiples_figure, charts.small_multiples, dict(
            panels=_panels(rng)[:6], title="日报 · 11-25（周二）", subtitle="较前一天 · 较上周同日", columns=3)),
        "multiples_empty": (charts.small_multiples_figure, charts.small_multiples, dict(
            panels=[], title="概览 · 今天")),
    }


CASES = _cases()


# ---------------------------------------------------------------- helpers


def _texts(figure: Figure) -> list[Text]:
    """Every visible, non-empty text artist, after a draw (tick labels exist only then)."""
    figure.canvas.draw()
    return [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _build_quietly(builder, kwargs: dict, caplog: pytest.LogCaptureFixture) -> tuple[Figure, list[Text]]:
    """Build and draw the figure; fail on any warning (e.g. "Glyph 21608 missing from font")
    and on any matplotlib log record at WARNING or above (e.g. "findfont: Font family not found")."""
    with caplog.at_level(logging.WARNING, logger="matplotlib"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = builder(**kwargs)
        texts = _texts(figure)
        figure.canvas.print_png(io.BytesIO())
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.name.startswith("matplotlib")] == []
    return figure, texts


# ---------------------------------------------------------------- the charts


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_glyphs_are_all_in_the_chosen_font(name: str, caplog: pytest.LogCaptureFixture) -> None:
    builder, _, kwargs = CASES[name]
    _, texts = _build_quietly(builder, kwargs, caplog)
    font_path = charts.chart_font_path()
    assert texts, "a chart always has at least its title"
    for text in texts:
        assert charts.missing_glyphs(text.get_text(), font_path) == set(), text.get_text()
        assert Path(font_manager.findfont(text.get_fontproperties())) == font_path, text.get_text()


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_png_is_phone_sized_and_small(name: str, tmp_path: Path) -> None:
    _, writer, kwargs = CASES[name]
    target = tmp_path / "nested" / "dir" / f"{name}.png"
    assert writer(path=target, **kwargs) == target
    size = target.stat().st_size
    assert 1_000 < size < 300 * 1024
    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.width == 720
        assert 200 <= image.height <= MAX_HEIGHT_PX
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no temporary file left behind"


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_text_stays_inside_the_image(name: str, caplog: pytest.LogCaptureFixture) -> None:
    builder, _, kwargs = CASES[name]
    figure, texts = _build_quietly(builder, kwargs, caplog)
    renderer = figure.canvas.get_renderer()
    width, height = figure.canvas.get_width_height()
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width + 0.5, (text.get_text(), box)
        assert box.y0 >= 0 and box.y1 <= height + 0.5, (text.get_text(), box)


# ---------------------------------------------------------------- the demo shop's charts (docs/img)

GALLERY = ["trend", "trend_hourly", "bars_agents", "bars_returns", "heatmap", "overview"]


@pytest.fixture(scope="module")
def demo_cases() -> dict:
    from analytics.charts import gallery

    return gallery.gallery_cases(gallery.demo_records())


def test_the_gallery_covers_every_chart_type(demo_cases: dict) -> None:
    assert sorted(demo_cases) == sorted(GALLERY)
    assert {writer for _, writer, _ in demo_cases.values()} == {
        charts.trend_chart, charts.bar_chart, charts.heatmap, charts.small_multiples}


@pytest.mark.parametrize("name", GALLERY)
def test_demo_chart_renders_cleanly(name: str, demo_cases: dict, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    builder, writer, kwargs = demo_cases[name]
    figure, texts = _build_quietly(builder, kwargs, caplog)
    assert charts.EMPTY_TEXT not in [t.get_text() for t in texts], "the demo has data for every chart"
    width, height = figure.canvas.get_width_height()
    renderer = figure.canvas.get_renderer()
    for text in texts:
        assert charts.missing_glyphs(text.get_text(), charts.chart_font_path()) == set()
        box = text.get_window_extent(renderer)
        assert 0 <= box.x0 and box.x1 <= width + 0.5 and 0 <= box.y0 and box.y1 <= height + 0.5, text.get_text()
    path = writer(path=tmp_path / f"{name}.png", **kwargs)
    assert path.stat().st_size < 300 * 1024
    with Image.open(path) as image:
        assert image.width == 720 and 200 <= image.height <= MAX_HEIGHT_PX


def _strings(figure: Figure) -> list[str]:
    return [t.get_text() for t in _texts(figure)]


@pytest.mark.parametrize("name", ["trend_empty", "bars_empty", "heatmap_empty", "multiples_empty"])
def test_empty_data_gives_a_clean_no_data_chart(name: str) -> None:
    builder, _, kwargs = CASES[name]
    strings = _strings(builder(**kwargs))
    assert charts.EMPTY_TEXT in strings
    assert kwargs["title"] in strings


def test_title_and_subtitle_are_shown_verbatim() -> None:
    builder, _, kwargs = CASES["bars_agents"]
    strings = _strings(builder(**kwargs))
    assert kwargs["title"] in strings
    assert "".join(strings).count("至少 20 个评价") == 1  # the subtitle, possibly wrapped at a separator


def test_all_chart_glyph_classes_are_covered_by_the_font() -> None:
    needed = "".join(charts.WEEKDAYS) + "↑↓¥‰%暂无数据本期上期单位最忙时月年…n=0123456789.,-"
    assert charts.missing_glyphs(needed, charts.chart_font_path()) == set()


# ---------------------------------------------------------------- what each chart shows


def test_trend_labels_the_last_value_and_aligns_previous_by_index() -> None:
    points = [(date(2025, 11, 24), 90.0), (date(2025, 11, 25), 95.25), (date(2025, 11, 26), None)]
    previous = [(date(2025, 11, 17) + timedelta(i), 80.0 + i) for i in range(7)]
    figure = charts.trend_figure(points, previous=previous, title="满意度", unit="%")
    strings = _strings(figure)
    assert "95.2%" in strings  # the last value that exists, formatted with its unit
    lines = [line for line in figure.axes[0].get_lines() if len(line.get_xdata()) > 1]
    solid = next(line for line in lines if line.get_color() == style.ACCENT)
    dashed = next(line for line in lines if line.get_color() == style.PREVIOUS)
    assert list(dashed.get_xdata()) == list(range(7))  # previous week over the same 7 positions
    assert list(solid.get_xdata()) == [0, 1, 2]
    assert dashed.get_linestyle() == "--" and solid.get_linestyle() == "-"
    assert {"11-24", "11-30"} <= set(strings)  # x runs on past today to the end of the week


def test_isolated_points_of_a_trend_are_drawn_as_dots() -> None:
    from analytics.charts.trend import _isolated

    nan = math.nan
    assert _isolated([nan, 1.0, nan, 2.0, 3.0, nan, 4.0]) == [1, 6]  # 2.0-3.0 is a segment, not dots
    assert _isolated([5.0]) == [0]
    assert _isolated([]) == []


def test_bars_are_ranked_with_value_and_n_labels() -> None:
    figure = charts.bar_figure(["甲", "乙", "丙"], [12.0, 30.0, 21.5], counts=[10, 1200, 35],
                               title="排行", unit="%")
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["乙", "丙", "甲"]
    strings = _strings(figure)
    assert {"30.0%", "21.5%", "12.0%", "n=1,200", "n=35", "n=10"} <= set(strings)
    ascending = charts.bar_figure(["甲", "乙", "丙"], [12.0, 30.0, 21.5], title="首响", unit="秒", order="asc")
    assert [t.get_text() for t in ascending.axes[0].get_yticklabels()] == ["甲", "丙", "乙"]


def test_bars_truncate_long_labels_and_cap_the_count() -> None:
    labels = [f"{PRODUCTS[0]}{i}" for i in range(25)]
    figure = charts.bar_figure(labels, [float(i) for i in range(25)], title="退货率", unit="%")
    ticks = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert len(ticks) == 20
    assert all(t.endswith("…") and len(t) < len(PRODUCTS[0]) for t in ticks)
    assert "另有 5 项未显示" in _strings(figure)


def test_bars_highlight_keeps_accent_and_greys_the_rest() -> None:
    figure = charts.bar_figure(["甲", "乙"], [1.0, 2.0], title="t", unit="", highlight="甲")
    colours = {p.get_facecolor()[:3] for p in figure.axes[0].patches}
    assert len(colours) == 2


def test_heatmap_marks_the_busiest_cell() -> None:
    matrix = [[0.0] * 24 for _ in range(7)]
    matrix[2][14] = 321.0
    strings = _strings(charts.heatmap_figure(matrix, title="高峰"))
    assert "最忙：周三 14时（321）" in strings


def test_heatmap_rejects_a_matrix_that_does_not_match_its_labels() -> None:
    with pytest.raises(ValueError):
        charts.heatmap_figure([[1.0] * 23 for _ in range(7)], title="高峰")


def test_small_multiples_colours_changes_by_direction() -> None:
    panels = [charts.Panel("满意度", "95%", "↑ 1pt", [1, 2], True), charts.Panel("投诉", "3", "↑ 2", [1, 2], False),
              charts.Panel("会话量", "9", "↑ 3", [1, 2], None)]
    figure = charts.small_multiples_figure(panels, title="概览")
    colour = {t.get_text(): t.get_color() for t in _texts(figure)}
    assert colour["↑ 1pt"] == style.GOOD
    assert colour["↑ 2"] == style.BAD
    assert colour["↑ 3"] == style.NEUTRAL


def test_long_values_are_never_cut_but_shrink_or_take_fewer_columns() -> None:
    value = "¥123,456,789,012.35"
    panels = [charts.Panel("销售额", value, "↑ 12.0% 较上周同期", [1.0, 2.0], True)] * 3
    figure = charts.small_multiples_figure(panels, title="概览", columns=3)
    renderer = figure.canvas.get_renderer()
    tiles = [patch.get_window_extent(renderer) for patch in figure.patches]
    assert len(tiles) == 3 and len({round(t.width) for t in tiles}) == 1
    assert tiles[0].width > (720 - 64) / 3, "three columns cannot hold this value; the grid narrows"
    shown = [t for t in _texts(figure) if t.get_text().startswith("¥")]
    assert [t.get_text() for t in shown] == [value] * 3
    for text in shown:
        box = text.get_window_extent(renderer)
        assert any(t.x0 <= box.x0 and box.x1 <= t.x1 and t.y0 <= box.y0 and box.y1 <= t.y1 for t in tiles)


# ---------------------------------------------------------------- numbers and text fitting


@pytest.mark.parametrize(
    ("ticks", "unit", "expected"),
    [
        ([90.0, 92.0, 94.0, 96.0], "%", ["90%", "92%", "94%", "96%"]),  # whole steps need no decimals
        ([2.5, 3.0, 3.5], "‰", ["2.5‰", "3.0‰", "3.5‰"]),  # half steps need one
        ([0.0, 50000.0, 100000.0], "", ["0万", "5万", "10万"]),  # 万 for large counts
        ([1200000.0, 1400000.0], "¥", ["¥120万", "¥140万"]),  # money: ¥ before the number
        ([0.0, 5.0], "次/千会话", ["0", "5"]),  # a long unit goes to a caption, not the ticks
        ([-2.0, 0.0, 2.0], "pt", ["-2pt", "0pt", "2pt"]),
    ],
)
def test_tick_labels(ticks: list[float], unit: str, expected: list[str]) -> None:
    assert numbers.tick_labels(ticks, unit) == expected


def test_nice_ticks_cover_the_data() -> None:
    rng = random.Random(7)
    for _ in range(200):
        lo = rng.uniform(-1000, 1000)
        hi = lo + rng.choice([0.0, 1e-3, 1.0, 37.0, 5e4])
        ticks = numbers.nice_ticks(lo, hi)
        assert ticks[0] <= lo and ticks[-1] >= hi and 2 <= len(ticks) <= 7


def test_month_and_hour_labels_carry_year_and_day_where_they_change() -> None:
    months = [datetime(2024, 12, 1), datetime(2025, 3, 1), datetime(2025, 6, 1)]
    assert numbers.period_labels(months, "month") == ["12月\n2024", "3月\n2025", "6月"]
    hours = [datetime(2025, 11, 25, 20), datetime(2025, 11, 26, 2)]
    assert numbers.period_labels(hours, "hour") == ["20:00\n11-25", "02:00\n11-26"]
    assert numbers.period_labels([datetime(2025, 11, 24), datetime(2025, 12, 1)], "week") == ["11-24", "12-01"]


def test_truncate_and_wrap_fit_the_width() -> None:
    cut = style.truncate(PRODUCTS[0], style.LABEL_CSS, 200)
    assert cut.endswith("…") and style.text_width(cut, style.LABEL_CSS) <= 200
    assert style.truncate("小王", style.LABEL_CSS, 200) == "小王"
    lines = style.wrap("本月 11-01 00:00 ~ 11-25 15:00 · 渠道=淘宝 · 至少 20 个评价", style.SUBTITLE_CSS, 560)
    assert lines == ["本月 11-01 00:00 ~ 11-25 15:00 · 渠道=淘宝", "至少 20 个评价"]


# ---------------------------------------------------------------- font discovery


def test_missing_glyphs_reports_what_a_latin_font_lacks() -> None:
    dejavu = font_manager.findfont("DejaVu Sans")
    assert charts.missing_glyphs("周一 ab%", dejavu) == {"周", "一"}
    assert charts.missing_glyphs("周一 ab%", charts.chart_font_path()) == set()


def test_the_debian_font_is_preferred_when_installed() -> None:
    if not fonts.WQY_MICROHEI.is_file():
        pytest.skip("fonts-wqy-microhei is not installed here")
    assert fonts.find_cjk_font() == fonts.WQY_MICROHEI


def test_no_cjk_font_is_a_clear_error_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    dejavu = Path(font_manager.findfont("DejaVu Sans"))
    monkeypatch.setattr(fonts, "_candidates", lambda: iter([dejavu]))
    with pytest.raises(charts.ChartFontError, match="fonts-wqy-microhei"):
        fonts.find_cjk_font()


# ---------------------------------------------------------------- off the event loop


async def test_render_runs_in_a_worker_thread_and_the_loop_keeps_running(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    loop_ran = threading.Event()
    seen: dict[str, int] = {}

    def chart(path: Path, *, title: str) -> Path:
        seen["thread"] = threading.get_ident()
        # Only a running event loop can set this event, so reaching it proves the loop is free.
        assert loop_ran.wait(timeout=30)
        return charts.bar_chart(["甲"], [1.0], title=title, unit="", path=path)

    async def tick() -> None:
        loop_ran.set()

    task = asyncio.ensure_future(charts.render(chart, tmp_path / "a.png", title="测试"))
    await asyncio.sleep(0)
    await tick()
    path = await task
    assert path.is_file()
    assert seen["thread"] != loop_thread


async def test_concurrent_renders_equal_serial_renders(tmp_path: Path) -> None:
    _, writer, kwargs = CASES["trend_30_days"]
    serial = writer(path=tmp_path / "serial.png", **kwargs).read_bytes()
    paths = await asyncio.gather(*(charts.render(writer, path=tmp_path / f"c{i}.png", **kwargs) for i in range(4)))
    assert all(p.read_bytes() == serial for p in paths)
