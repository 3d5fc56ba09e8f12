"""Formatting numbers, changes and windows for chat: short lines, key number first."""

from __future__ import annotations

from analytics.metrics import FILTER_KEYS, Metric
from analytics.periods import Window

_COLUMN_TO_CN = {v: k for k, v in FILTER_KEYS.items()}

def fmt_int(n: int | float | None) -> str:
    return "—" if n is None else f"{int(round(n)):,}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def fmt_money(x: float | None) -> str:
    return "—" if x is None else f"¥{x:,.2f}"


def fmt_seconds(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 600:
        return f"{x / 60:.1f} 分钟"
    return f"{x:.1f} 秒"


def fmt_value(metric: Metric, value: float | None) -> str:
    """The headline value in the metric's unit."""
    if metric.unit == "%":
        return fmt_pct(value)
    if metric.unit == "秒":
        return fmt_seconds(value)
    if metric.unit == "¥":
        return fmt_money(value)
    if metric.unit == "分":
        return "—" if value is None else f"{value:.2f}"
    return "—" if value is None else f"{fmt_int(value)} {metric.unit}"


def fmt_filters(filters: dict[str, str]) -> str:
    if not filters:
        return "全部"
    return " · ".join(f"{_COLUMN_TO_CN.get(k, k)}={v}" for k, v in filters.items())


def window_line(window: Window, filters: dict[str, str]) -> str:
    return f"{window.describe()} · {fmt_filters(filters)}"


def prev_label(window: Window) -> str:
    """What the comparison window is called: 上周同期, 前天, 9月 …"""
    return window.prev_phrase


def arrow(delta: float) -> str:
    if abs(delta) < 1e-12:
        return "→"
    return "↑" if delta > 0 else "↓"


def verdict(metric: Metric, delta: float) -> str:
    """向好/变差 for metrics whose good direction is known."""
    if metric.higher_is_better is None or abs(delta) < 1e-12:
        return ""
    better = (delta > 0) == metric.higher_is_better
    return "，向好" if better else "，变差"


def fmt_change(metric: Metric, current: float | None, previous: float | None) -> str:
    """E.g. ``↑ 1.5 个百分点（90.8% → 92.3%），向好``."""
    if current is None or previous is None:
        return "无法比较"
    delta = current - previous
    if metric.unit == "%":
        size = f"{abs(delta) * 100:.1f} 个百分点"
    elif metric.unit == "秒":
        size = fmt_seconds(abs(delta))
    elif metric.unit == "¥":
        size = fmt_money(abs(delta))
    elif metric.unit == "分":
        size = f"{abs(delta):.2f}"
    else:
        size = f"{fmt_int(abs(delta))} {metric.unit}"
    if not any(c in "123456789" for c in size):  # the change rounds to zero as displayed
        return f"→ 持平（{fmt_value(metric, previous)} → {fmt_value(metric, current)}）"
    rel = ""
    if previous and metric.unit != "%":
        rel = f"，{delta / previous * 100:+.1f}%"
    return (f"{arrow(delta)} {size}（{fmt_value(metric, previous)} → {fmt_value(metric, current)}{rel}）"
            f"{verdict(metric, delta)}")
