"""Static threshold rules on the metric dictionary (``[[alerts.rules]]``), computed with analytics.metrics.

A rule names a metric (any name or alias of :mod:`analytics.metrics`, or one of the values inside a
metric listed in :data:`NAMED_VALUES`), a window phrase of :mod:`analytics.periods` resolved at the
check's ``now`` (``近1小时``, ``今天``), a comparison and a value in the unit the chat shows — percent for
% metrics, so ``30秒应答率 < 80`` means below 80 %. A window with fewer than ``min_n`` items behind the
value (rated conversations for 满意度) is not judged: "no data" is not an alert. The signal goes
through the same lifecycle as spikes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from analytics import metrics
from analytics.alerts.model import RULE_PREFIX, Breach, Rule, SeriesKey, Signal
from analytics.periods import PeriodError, resolve_window

#: Values inside a metric's result that a rule can name: name → (metric key, part, is a share).
NAMED_VALUES: dict[str, tuple[str, str, bool]] = {
    "30秒应答率": ("frt", "within_30s", True),
    "投诉率": ("complaints", "per_mille", False),
    "负面占比": ("sentiment", "negative_share", True),
    "参评率": ("csat", "participation", True),
}
_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def target(rule: Rule) -> tuple[str, str | None, bool]:
    """(metric key, part or None for the headline value, whether it shows as a percentage)."""
    if rule.metric in NAMED_VALUES:
        return NAMED_VALUES[rule.metric]
    metric = metrics.find_metric(rule.metric)
    if metric is None:
        names = "、".join([*(m.name for m in metrics.METRICS.values()), *NAMED_VALUES])
        raise ValueError(f"告警规则「{rule.name}」的指标「{rule.metric}」不认识；可用：{names}")
    return metric.key, None, metric.unit == "%"


def validate(rule: Rule, now: datetime) -> None:
    """Raise ValueError (Chinese) when a rule cannot be evaluated: unknown metric, window, comparison or
    filter. Run once at start-up so a typo fails loudly instead of never alerting."""
    key, _, _ = target(rule)
    if rule.comparison not in _COMPARE:
        raise ValueError(f"告警规则「{rule.name}」的比较符「{rule.comparison}」只能是 < <= > >=")
    try:
        resolve_window(rule.window, now)
    except PeriodError as exc:
        raise ValueError(f"告警规则「{rule.name}」的时间窗：{exc}") from None
    bad = [f for f in rule.filters if f not in metrics.METRICS[key].filters]
    if bad:
        raise ValueError(f"告警规则「{rule.name}」：{metrics.METRICS[key].name}不支持筛选 {bad[0]}")


def canonical_filters(filters: dict[str, str]) -> dict[str, str]:
    """Chat filter words (渠道, 客服, 店铺, 商品) or column names → column names."""
    return {metrics.FILTER_KEYS.get(k, k): v for k, v in filters.items()}


def rule_signal(conn: Connection, rule: Rule, now: datetime) -> Signal:
    """The rule's signal at ``now`` (aware, in the shop's time zone: 今天 is the local day)."""
    key, part, share = target(rule)
    window = resolve_window(rule.window, now)
    result = metrics.compute_on(conn, key, window.start, window.end, rule.filters, headline_only=True)
    if part is not None and part not in result.parts:  # headline_only left it out (it never does for these)
        result = metrics.compute_on(conn, key, window.start, window.end, rule.filters)
    value = result.parts.get(part) if part else result.value
    series_key = f"{RULE_PREFIX}{rule.name}"
    if value is None or result.n < rule.min_n:
        return Signal(series_key, now, False)
    shown = float(value) * 100 if share else float(value)
    if not _COMPARE[rule.comparison](shown, rule.value):
        return Signal(series_key, now, False)
    return Signal(series_key, now, True, Breach(SeriesKey(series_key), 0, shown, rule.value, 0.0))
