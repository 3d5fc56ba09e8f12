"""``[alerts]`` settings → the parameters of :mod:`analytics.alerts`, and ``csbot alerts backtest``.

The conversion lives on the bot side (analytics never imports the config) and is the one place both
the scheduled evaluation and the backtest take their parameters from, so a replay runs with exactly
the values the live job would use.
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from analytics.alerts import DetectorParams, LifecycleParams, Rule
from bot.cli_output import say
from bot.config import AlertSettings, ConfigError, Settings


def detector(alerts: AlertSettings) -> DetectorParams:
    return DetectorParams(windows_minutes=tuple(alerts.windows_minutes), min_count=alerts.min_count,
                          min_ratio=alerts.min_ratio, significance=alerts.significance,
                          baseline_weeks=alerts.baseline_weeks, families=tuple(alerts.series))


def lifecycle(alerts: AlertSettings) -> LifecycleParams:
    return LifecycleParams(hold=timedelta(minutes=alerts.hold_minutes),
                           reminder=timedelta(minutes=alerts.reminder_minutes),
                           resolve_after=timedelta(minutes=alerts.resolve_after_minutes))


def rules(alerts: AlertSettings) -> list[Rule]:
    from analytics.alerts.rules import canonical_filters

    return [Rule(r.name, r.metric, r.window, r.comparison, r.value, r.min_n, canonical_filters(r.filters))
            for r in alerts.rules]


def mentions(alerts: AlertSettings, platform: str) -> list[str]:
    """Who an alert @-mentions on ``platform``: DingTalk by mobile, WeCom by user id; Feishu has no
    configured on-call list (its robots @ by open id, which the config does not carry)."""
    if platform == "dingtalk":
        return list(alerts.oncall_dingtalk_mobiles)
    if platform == "wecom":
        return list(alerts.oncall_wecom_userids)
    return []


def with_overrides(alerts: AlertSettings, pairs: list[str]) -> AlertSettings:
    """``[alerts]`` with ``key=value`` pairs applied (values in TOML syntax: ``min_count=10``,
    ``windows_minutes=[15,60]``, ``significance=1e-6``), validated like the file."""
    update: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--config-overrides expects key=value, got {pair!r}")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        update[key.strip()] = value
    try:
        return AlertSettings(**{**alerts.model_dump(), **update})
    except Exception as exc:  # pydantic's ValidationError: its text names the key and the problem
        raise ConfigError(f"invalid --config-overrides: {exc}") from None


def _progress(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    say(f"\r回放 [{'#' * filled}{'.' * (width - filled)}] {done * 100 // max(total, 1):3d}%", sys.stderr,
         end="" if done < total else "\n")


def cmd_backtest(settings: Settings, engine, start_day: str, end_day: str, as_json: bool,  # noqa: ANN001
                 overrides: list[str]) -> int:
    """``csbot alerts backtest``: replay [from, to] (local days, both included) and print the alerts."""
    from analytics.alerts.evaluate import backtest

    tz = settings.tz
    try:
        start = datetime.strptime(start_day, "%Y-%m-%d").replace(tzinfo=tz)
        end = datetime.strptime(end_day, "%Y-%m-%d").replace(tzinfo=tz) + timedelta(days=1)
    except ValueError:
        say("日期格式应为 YYYY-MM-DD", sys.stderr)
        return 2
    if end <= start:
        say("--to 不能早于 --from", sys.stderr)
        return 2
    try:
        alerts = with_overrides(settings.alerts, overrides)
    except ConfigError as exc:
        say(str(exc), sys.stderr)
        return 2
    began = time.perf_counter()
    with engine.connect() as conn:
        try:
            found = backtest(conn, start, end, detector(alerts), lifecycle(alerts), alerts.check_interval_seconds,
                             progress=_progress if sys.stderr.isatty() else None)
        except ValueError as exc:
            say(f"回放失败：{exc}", sys.stderr)
            return 1
    seconds = time.perf_counter() - began
    for alert in found:
        if as_json:
            say(json.dumps(alert.as_json(tz), ensure_ascii=False))
        else:
            row = alert.as_json(tz)
            until = row["resolved_at"][:16].replace("T", " ") if row["resolved_at"] else "（未恢复）"
            say(f"{row['opened_at'][:16].replace('T', ' ')} → {until}  {row['series']}  "
                 f"{row['observed']:g} 件 / 预期 {row['expected']:.1f}（{row['window_minutes']} 分钟，"
                 f"×{alert.lead.ratio:.1f}，score {row['score']:.1f}）")
    weeks = (end - start).total_seconds() / (7 * 86400)
    by_series = Counter(a.series for a in found)
    out = sys.stderr if as_json else sys.stdout
    say(f"共 {len(found)} 条告警，{weeks:.1f} 周，每周 {len(found) / weeks:.2f} 条；回放 {seconds:.1f} 秒"
         f"（每 {alerts.check_interval_seconds} 秒一次检查）", out)
    for series, n in by_series.most_common():
        say(f"  {series}: {n}", out)
    return 0
