"""Pure delivery decisions, table-driven: mute, dedup, backoff, retry, parts, rate windows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.base import Destination, SendError
from bot.config import DeliveryMute, DeliveryRateLimit, DeliverySettings
from bot.delivery.pipeline import (
    DedupReason,
    Verdict,
    backoff_delay,
    dedup_decision,
    limits_from,
    mute_reason,
    plan_parts,
    retry_decision,
)
from bot.delivery.ratelimit import SlidingWindowLimiter, Window
from handlers.base import Chart, Reply

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 25, hh, mm)


QUIET = DeliveryMute(destination="wecom:robot:*", start="22:00", end="08:00", reason="quiet hours")
DAY = DeliveryMute(destination="feishu:robot:ops", start="12:00", end="13:30")
ALWAYS = DeliveryMute(destination="dingtalk:chat:cid-muted")
EVENING = DeliveryMute(destination="dingtalk:robot:late", start="20:00")


@pytest.mark.parametrize(("key", "when", "muted"), [
    ("wecom:robot:ops", at(23), True),  # inside a window that wraps midnight (before)
    ("wecom:robot:ops", at(7, 59), True),  # inside a window that wraps midnight (after)
    ("wecom:robot:ops", at(8), False),  # the end minute is outside
    ("wecom:robot:ops", at(12), False),  # daytime
    ("wecom:user:LiSi", at(23), False),  # pattern does not match the kind
    ("feishu:robot:ops", at(12, 30), True),  # plain window
    ("feishu:robot:ops", at(13, 30), False),  # end is exclusive
    ("dingtalk:chat:cid-muted", at(3), True),  # no window: muted all day
    ("dingtalk:robot:late", at(23, 59), True),  # start only: until midnight
    ("dingtalk:robot:late", at(19), False),  # before the start
])
def test_mute_reason(key, when, muted):
    assert (mute_reason(key, when, [QUIET, DAY, ALWAYS, EVENING]) is not None) is muted


@pytest.mark.parametrize(("last", "now", "key", "expected"), [
    (None, T0, None, DedupReason.NO_KEY),  # no key: always send
    (None, T0, "digest:2026-11-25", DedupReason.FIRST),  # never sent
    (T0, T0 + timedelta(hours=1), "digest:2026-11-25", DedupReason.DUPLICATE),  # inside the window
    (T0, T0 + timedelta(days=1), "digest:2026-11-25", DedupReason.REPEAT_DUE),  # window passed
])
def test_dedup_decision(last, now, key, expected):
    assert dedup_decision(last, now, timedelta(days=1), key) is expected


class ZeroRandom(random.Random):
    def random(self) -> float:
        return 0.0


class OneRandom(random.Random):
    def random(self) -> float:
        return 1.0


@pytest.mark.parametrize(("attempt", "rng", "retry_after", "expected"), [
    (1, ZeroRandom(), None, 2.0),  # base
    (2, ZeroRandom(), None, 4.0),  # doubles
    (5, ZeroRandom(), None, 32.0),  # 2 * 2^4
    (20, ZeroRandom(), None, 600.0),  # capped
    (1, OneRandom(), None, 2.4),  # +20 % jitter at most
    (20, OneRandom(), None, 720.0),  # jitter applies on top of the cap
    (1, ZeroRandom(), 600.0, 600.0),  # DingTalk 130101: the vendor penalty wins
    (3, ZeroRandom(), 1.0, 8.0),  # a short retry_after does not shorten the backoff
])
def test_backoff_delay(attempt, rng, retry_after, expected):
    assert backoff_delay(attempt, base=2.0, cap=600.0, jitter=0.2, rng=rng, retry_after=retry_after) == \
        pytest.approx(expected)


SETTINGS = DeliverySettings(max_attempts=3, max_age_hours=1)


@pytest.mark.parametrize(("error", "attempts", "age", "verdict"), [
    (SendError("5xx", retryable=True), 1, timedelta(0), Verdict.DEFERRED),  # retry
    (SendError("4xx", retryable=False), 1, timedelta(0), Verdict.FAILED),  # permanent
    (SendError("5xx", retryable=True), 3, timedelta(0), Verdict.FAILED),  # attempts used up
    (SendError("slow", retryable=True, retry_after=7200), 1, timedelta(0), Verdict.FAILED),  # would be too old
    (SendError("5xx", retryable=True), 1, timedelta(minutes=59, seconds=59), Verdict.FAILED),  # too old
])
def test_retry_decision(error, attempts, age, verdict):
    got, retry_at, why = retry_decision(error, attempts, T0 - age, T0, SETTINGS, ZeroRandom())
    assert got is verdict and why
    assert (retry_at is not None) is (verdict is Verdict.DEFERRED)


def test_plan_parts_wecom_separates_charts(tmp_path):
    chart = Chart(Path(tmp_path / "c.png"), "趋势")
    parts = plan_parts(Destination("wecom", "robot", "ops"), Reply("满" * 3000, title="T", charts=[chart]))
    assert [bool(p.charts) for p in parts] == [False, False, False, True]
    assert all(len(p.text.encode()) <= 4096 - len(b"T") - 16 for p in parts)
    assert parts[0].title == "T" and parts[1].title is None


def test_plan_parts_chart_only_reply_on_wecom(tmp_path):
    chart = Chart(Path(tmp_path / "c.png"), "趋势")
    parts = plan_parts(Destination("wecom", "user", "u"), Reply("", charts=[chart]))
    assert len(parts) == 1 and parts[0].charts == [chart]


def test_plan_parts_other_platforms_keep_charts_with_text(tmp_path):
    chart = Chart(Path(tmp_path / "c.png"), "趋势")
    parts = plan_parts(Destination("dingtalk", "robot", "ops"), Reply("hi", charts=[chart]))
    assert len(parts) == 1 and parts[0].charts == [chart]
    assert plan_parts(Destination("console", "user", "u"), Reply("x" * 500_000))[0].text == "x" * 500_000


def test_sliding_windows():
    limiter = SlidingWindowLimiter({"feishu": (Window(5, 1.0), Window(100, 60.0))})
    sent = [limiter.acquire("f", "feishu", 0.0) for _ in range(5)]
    assert sent == [0.0] * 5
    assert limiter.acquire("f", "feishu", 0.5) == pytest.approx(0.5)  # 6th in the same second waits
    assert limiter.acquire("f", "feishu", 1.0) == 0.0
    assert limiter.acquire("other", "feishu", 0.5) == 0.0  # per destination
    assert limiter.acquire("x", "console", 0.0) == 0.0  # no limits for unknown platforms


def test_minute_window_with_brute_force_check():
    limiter = SlidingWindowLimiter({"dingtalk": (Window(20, 60.0),)})
    accepted, t = [], 0.0
    rng = random.Random(3)
    while t < 600:
        if limiter.acquire("d", "dingtalk", t) == 0.0:
            accepted.append(t)
        t += rng.uniform(0, 2)
    for start in accepted:  # no 60-second window ever holds more than 20 sends
        assert sum(1 for x in accepted if start <= x < start + 60) <= 20
    assert len(accepted) >= 180  # and the limiter is not stricter than needed


def test_rate_limit_overrides_replace_a_platform():
    settings = DeliverySettings(rate_limits=[DeliveryRateLimit(platform="wecom", count=2, per_seconds=10)])
    limits = limits_from(settings)
    assert limits["wecom"] == (Window(2, 10),)
    assert limits["feishu"] == (Window(5, 1.0), Window(100, 60.0))
