"""The chart gallery of docs/charts.md, drawn from the demo shop (analytics.demo) at a fixed clock.

``python -m analytics.charts.gallery docs/img`` rewrites the PNGs. The numbers are aggregated
here with plain loops over the demo records (the metric definitions of SPEC.md), so the gallery
depends on nothing but the demo generator and the charts themselves; tests render it too.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from analytics.charts.bars import bar_chart, bar_figure
from analytics.charts.heatmap import heatmap, heatmap_figure
from analytics.charts.multiples import Panel, small_multiples, small_multiples_figure
from analytics.charts.trend import trend_chart, trend_figure

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 26, 15, 0, tzinfo=TZ)  # a Wednesday afternoon
DAYS = 35
SCALE = 0.4
MIN_RATED = 20

# name -> (figure builder, PNG writer, keyword arguments)
Case = tuple[Callable[..., Any], Callable[..., Path], dict[str, Any]]


def demo_records(now: datetime = NOW, days: int = DAYS, scale: float = SCALE) -> dict[str, list[dict]]:
    from analytics.demo import generate_records

    records = generate_records(days=days, seed=7, now=now, tz=TZ, scale=scale)
    return {kind: list(rows) for kind, rows in records.items() if kind != "messages"}


def gallery_cases(records: dict[str, list[dict]], now: datetime = NOW) -> dict[str, Case]:
    """Every chart type, drawn the way the chat commands use it."""
    return {
        "trend": (trend_figure, trend_chart, _csat_trend(records["conversations"], now)),
        "trend_hourly": (trend_figure, trend_chart, _hourly_volume(records["conversations"], now)),
        "bars_agents": (bar_figure, bar_chart, _agent_league(records["conversations"], now)),
        "bars_returns": (bar_figure, bar_chart, _return_rates(records["orders"], records["returns"], now)),
        "heatmap": (heatmap_figure, heatmap, _peak(records["conversations"], now)),
        "overview": (small_multiples_figure, small_multiples, _overview(records, now)),
    }


def write_gallery(out_dir: Path, records: dict[str, list[dict]] | None = None, now: datetime = NOW) -> list[Path]:
    cases = gallery_cases(records if records is not None else demo_records(now), now)
    return [writer(path=Path(out_dir) / f"{name}.png", **kwargs) for name, (_, writer, kwargs) in cases.items()]


# ---------------------------------------------------------------- plain-loop aggregation


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _in(rows: Iterable[dict], column: str, start: datetime, end: datetime) -> list[dict]:
    return [r for r in rows if start <= r[column] < end]


def _csat(conversations: list[dict]) -> tuple[float | None, int]:
    ratings = [c["rating"] for c in conversations if c["rating"] is not None]
    return (100 * sum(r >= 4 for r in ratings) / len(ratings) if ratings else None), len(ratings)


def _daily(rows: list[dict], column: str, start: datetime, days: int, value) -> list[tuple[datetime, float | None]]:  # noqa: ANN001
    buckets: dict[datetime, list[dict]] = defaultdict(list)
    for row in rows:
        buckets[_midnight(row[column])].append(row)
    out = []
    for i in range(days):
        day = start + timedelta(days=i)
        out.append((day, value(buckets.get(day, []))))
    return out


def _csat_trend(conversations: list[dict], now: datetime) -> dict[str, Any]:
    start = _midnight(now) - timedelta(days=13)
    before = start - timedelta(days=14)
    return dict(
        points=_daily(_in(conversations, "started_at", start, now), "started_at", start, 14, lambda c: _csat(c)[0]),
        previous=_daily(_in(conversations, "started_at", before, start), "started_at", before, 14,
                        lambda c: _csat(c)[0]),
        title="满意度趋势（按天）",
        subtitle=f"近14天 {start:%m-%d} 00:00 ~ {now:%m-%d %H:%M} · 虚线：前14天 · 全部渠道",
        unit="%",
    )


def _hourly_volume(conversations: list[dict], now: datetime) -> dict[str, Any]:
    today = _midnight(now)
    yesterday = today - timedelta(days=1)

    def hourly(start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        counts = Counter(c["started_at"].hour for c in _in(conversations, "started_at", start, end))
        hours = (end - start) // timedelta(hours=1)
        return [(start + timedelta(hours=h), float(counts.get(h, 0))) for h in range(hours)]

    return dict(
        points=hourly(today, now.replace(minute=0)), previous=hourly(yesterday, today),
        title="会话量（按小时）", subtitle=f"今天 {today:%m-%d} 00:00 ~ {now:%H:%M} · 虚线：昨天 · 全部渠道",
        unit="", granularity="hour", value_format="{:,.0f}",
    )


def _agent_league(conversations: list[dict], now: datetime) -> dict[str, Any]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    by_agent: dict[str, list[dict]] = defaultdict(list)
    for c in _in(conversations, "started_at", start, now):
        by_agent[c["agent"]].append(c)
    rows = [(agent, *_csat(convs)) for agent, convs in by_agent.items()]
    rows = [(agent, value, n) for agent, value, n in rows if value is not None and n >= MIN_RATED]
    top = max(rows, key=lambda row: row[1])[0] if rows else None
    return dict(
        labels=[r[0] for r in rows], values=[r[1] for r in rows], counts=[r[2] for r in rows], highlight=top,
        title="客服满意度排行", subtitle=f"本月 {start:%m-%d} 00:00 ~ {now:%m-%d %H:%M} · 至少 {MIN_RATED} 个评价",
        unit="%",
    )


def _return_rates(orders: list[dict], returns: list[dict], now: datetime) -> dict[str, Any]:
    start = _midnight(now) - timedelta(days=29)
    ordered = Counter(o["product"] for o in _in(orders, "created_at", start, now))
    returned = Counter(r["product"] for r in _in(returns, "created_at", start, now))
    products = [p for p in ordered if ordered[p] >= MIN_RATED]
    return dict(
        labels=products, values=[100 * returned[p] / ordered[p] for p in products],
        counts=[ordered[p] for p in products], title="退货率 · 按商品",
        subtitle=f"近30天 {start:%m-%d} ~ {now:%m-%d %H:%M} · n = 订单数 · 全部渠道", unit="%",
    )


def _peak(conversations: list[dict], now: datetime) -> dict[str, Any]:
    start = _midnight(now) - timedelta(days=27)
    matrix = [[0.0] * 24 for _ in range(7)]
    for c in _in(conversations, "started_at", start, now):
        matrix[c["started_at"].weekday()][c["started_at"].hour] += 1
    return dict(matrix=matrix, title="会话量 · 星期×小时",
                subtitle=f"近4周 {start:%m-%d} ~ {now:%m-%d %H:%M} · 全部渠道")


def _overview(records: dict[str, list[dict]], now: datetime) -> dict[str, Any]:
    """本周 vs 上周同期 (the same elapsed span), with a daily sparkline over the last 14 days."""
    week = _midnight(now) - timedelta(days=now.weekday())
    span = (week, now)
    previous = (week - timedelta(days=7), now - timedelta(days=7))
    spark_start = _midnight(now) - timedelta(days=14)  # 14 complete days: a partial today would dip
    conv, orders, returns, complaints = (records[k] for k in ("conversations", "orders", "returns", "complaints"))

    def frt(cs: list[dict]) -> float | None:
        seconds = [c["first_response_seconds"] for c in cs if c["first_response_seconds"] is not None]
        return statistics.median(seconds) if seconds else None

    def per_mille(start: datetime, end: datetime) -> float | None:
        n = len(_in(conv, "started_at", start, end))
        return 1000 * len(_in(complaints, "created_at", start, end)) / n if n else None

    def return_rate(start: datetime, end: datetime) -> float | None:
        n = len(_in(orders, "created_at", start, end))
        return 100 * len(_in(returns, "created_at", start, end)) / n if n else None

    def sales(start: datetime, end: datetime) -> float:
        return sum(o["amount"] or 0 for o in _in(orders, "created_at", start, end))

    metrics: list[tuple[str, Callable[[datetime, datetime], float | None], str, bool | None]] = [
        ("会话量", lambda s, e: float(len(_in(conv, "started_at", s, e))), "{:,.0f}", None),
        ("满意度", lambda s, e: _csat(_in(conv, "started_at", s, e))[0], "{:.1f}%", True),
        ("首响中位数", lambda s, e: frt(_in(conv, "started_at", s, e)), "{:.0f}秒", False),
        ("投诉率", per_mille, "{:.1f}‰", False),
        ("销售额", sales, "¥{:,.0f}", None),
        ("退货率", return_rate, "{:.1f}%", False),
    ]
    panels = []
    for name, value, fmt, higher_is_better in metrics:
        now_value, before = value(*span), value(*previous)
        days = [spark_start + timedelta(days=i) for i in range(14)]
        points = [value(d, d + timedelta(days=1)) for d in days]
        change, good = _change(now_value, before, fmt.endswith("%"), higher_is_better)
        shown = "—" if now_value is None else fmt.format(now_value)
        panels.append(Panel(name, shown, change, points, good))
    return dict(panels=panels, title="概览 · 本周",
                subtitle=f"本周 {week:%m-%d} 00:00 ~ {now:%m-%d %H:%M} · 较上周同期 · 走势：近14个整天")


def _change(now: float | None, before: float | None, percent: bool,
            higher_is_better: bool | None) -> tuple[str, bool | None]:
    if now is None or before is None or (not percent and before == 0):
        return "上期数据不足，无法比较", None
    delta = now - before
    size = f"{abs(delta):.1f}pt" if percent else f"{abs(delta) / abs(before) * 100:.1f}%"
    if float(size.rstrip("pt%")) == 0:
        return "持平 较上周同期", None
    arrow = "↑" if delta > 0 else "↓"
    good = None if higher_is_better is None else (delta > 0) == higher_is_better
    return f"{arrow} {size} 较上周同期", good


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render the chart gallery from the demo shop.")
    parser.add_argument("out_dir", type=Path, nargs="?", default=Path("docs/img"))
    parser.add_argument("--repeat", type=int, default=1, help="render each chart N times and report CPU ms")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cases = gallery_cases(demo_records())
    for name, (_, writer, kwargs) in cases.items():
        cpu = []
        for _ in range(max(1, args.repeat)):
            began = time.process_time()
            path = writer(path=args.out_dir / f"{name}.png", **kwargs)
            cpu.append(time.process_time() - began)
        cpu.sort()
        log.info("%-34s %4d KB  cpu median %4.0f ms, max %4.0f ms", path, (path.stat().st_size + 1023) // 1024,
                 1000 * cpu[len(cpu) // 2], 1000 * cpu[-1])


if __name__ == "__main__":
    main()
