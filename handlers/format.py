"""Formatting numbers, changes and windows for chat: short lines, key number first."""

from __future__ import annotations

import difflib

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


def _shown(metric: Metric, value: float, minutes: bool = False) -> tuple[str, float]:
    """``value`` as printed in a change line, and the number that print stands for (in its unit)."""
    if metric.unit == "%":
        text = f"{value * 100:.1f}"
        return f"{text}%", float(text)
    if metric.unit == "秒":
        text = f"{value / 60:.1f}" if minutes else f"{value:.1f}"
        return f"{text} {'分钟' if minutes else '秒'}", float(text)
    if metric.unit == "¥":
        return f"¥{value:,.2f}", float(f"{value:.2f}")
    if metric.unit == "分":
        text = f"{value:.2f}"
        return text, float(text)
    return f"{int(round(value)):,} {metric.unit}", float(round(value))


def _size(metric: Metric, delta: float, minutes: bool) -> str:
    """A change's size in the unit and with the digits its two values are printed with."""
    d = abs(delta)
    if metric.unit == "%":
        return f"{d:.1f} 个百分点"
    if metric.unit == "秒":
        return f"{d:.1f} {'分钟' if minutes else '秒'}"
    if metric.unit == "¥":
        return f"¥{d:,.2f}"
    if metric.unit == "分":
        return f"{d:.2f}"
    return f"{int(round(d)):,} {metric.unit}"


def shown_change(metric: Metric, current: float, previous: float) -> tuple[str, str, float, float, str]:
    """(previous as printed, current as printed, previous's printed number, delta, delta's size as printed).

    The delta is the difference of the two printed numbers, so a reader who subtracts them gets the
    printed change: 67.8% → 59.8% is ↓ 8.0 个百分点, never 8.1 from the unrounded values. Seconds switch
    to minutes for both values together (from 10 minutes up), so the two sides share one unit."""
    minutes = metric.unit == "秒" and max(abs(current), abs(previous)) >= 600
    prev_text, p = _shown(metric, previous, minutes)
    cur_text, c = _shown(metric, current, minutes)
    delta = round(c - p, 2)
    return prev_text, cur_text, p, delta, _size(metric, delta, minutes)


def fmt_change(metric: Metric, current: float | None, previous: float | None) -> str:
    """E.g. ``↑ 1.5 个百分点（90.8% → 92.3%），向好``; a count from zero is ``↑ 10 件（0 件 → 10 件）``."""
    if current is None or previous is None:
        return "无法比较"
    prev_text, cur_text, p, delta, size = shown_change(metric, current, previous)
    if delta == 0:  # the change rounds to zero as displayed
        return f"→ 持平（{prev_text} → {cur_text}）"
    rel = f"，{delta / p * 100:+.1f}%" if p and metric.unit != "%" else ""
    return f"{arrow(delta)} {size}（{prev_text} → {cur_text}{rel}）{verdict(metric, delta)}"


def too_few_to_compare(metric: Metric, label: str, n: int) -> str:
    """The minimum-n rule, stated: ``上周同期参评 3 个，不足 5 个，不作比较``."""
    return (f"{label}{metric.n_label} {fmt_int(n)} {metric.n_unit}，不足 {metric.min_compare_n} {metric.n_unit}"
            "，不作比较")


def unsupported_filter(name: str, column: str, allowed: list[str]) -> str:
    """The refusal for a filter a command cannot apply (one wording for every command)."""
    cn = _COLUMN_TO_CN.get(column, column)
    return f"/{name} 不支持按「{cn}」筛选（可用筛选：{'、'.join(allowed) or '无'}）。"


def unknown_value(column: str, value: str, known: list[str]) -> str:
    """The refusal for a filter value no row has, with a did-you-mean from the known values: the one
    closest name, or — when several are equally close (小明 vs 小王、小李…) — the list to pick from."""
    cn = _COLUMN_TO_CN.get(column, column)
    scored = sorted(((difflib.SequenceMatcher(None, value, k).ratio(), k) for k in known), key=lambda sk: -sk[0])
    close = [k for score, k in scored if score >= 0.4 and score == scored[0][0]]
    if not close:  # 旗舰 → 暖山服饰旗舰店: a part of a known name
        close = [k for k in known if value and (value in k or k in value)]
    if len(close) == 1:
        hint = f"你是不是想找「{close[0]}」？"
    elif len(known) <= 12:
        hint = f"已有的{cn}：{'、'.join(known)}。"
    else:
        hint = f"相近的{cn}：{'、'.join((close or known)[:8])}。"
    return f"没有叫「{value}」的{cn}。{hint}"
