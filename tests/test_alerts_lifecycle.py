"""The alert lifecycle (analytics.alerts.lifecycle.decide), driven by an injected clock.

Each table row is one check: minutes since the start, whether the signal breaches, whether a silence
matches, and the reason and action expected. The state carries over from row to row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.alerts import (
    Action,
    Breach,
    LifecycleParams,
    Reason,
    SeriesKey,
    Signal,
    Silence,
    decide,
    silenced,
)

T0 = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
PARAMS = LifecycleParams(hold=timedelta(minutes=2), reminder=timedelta(minutes=120),
                         resolve_after=timedelta(minutes=30))
SERIES = SeriesKey("complaints")


def _signal(minute: int, breaching: bool, observed: float = 20.0) -> Signal:
    at = T0 + timedelta(minutes=minute)
    if not breaching:
        return Signal("complaints", at, False)
    return Signal("complaints", at, True, Breach(SERIES, 30, observed, 5.0, observed / 2))


def _run(rows, params=PARAMS):  # noqa: ANN001, ANN202
    state = None
    for minute, breaching, muted, reason, action in rows:
        signal = _signal(minute, breaching, observed=10.0 + minute % 7)
        d = decide(state, signal, signal.at, params, silenced=muted)
        assert (minute, d.reason, d.action) == (minute, reason, action)
        state = d.state
    return state


N, SEND, REMIND, RESOLVED = Action.NONE, Action.SEND_FIRING, Action.SEND_REMINDER, Action.SEND_RESOLVED

FIRE_ONCE_AND_RESOLVE = [
    (0, False, False, Reason.QUIET, N),  # nothing open, nothing breaching
    (1, True, False, Reason.PENDING, N),  # first breach: pending, no message
    (2, True, False, Reason.HOLDING, N),  # one minute into the 2-minute hold
    (3, True, False, Reason.FIRED, SEND),  # hold over: the one alert message
    (4, True, False, Reason.STILL_FIRING, N),  # still breaching: nothing new
    (30, True, False, Reason.STILL_FIRING, N),  # far from the reminder
    (31, False, False, Reason.RECOVERING, N),  # normal again: waiting 30 minutes
    (60, False, False, Reason.RECOVERING, N),  # 29 minutes normal
    (61, False, False, Reason.RESOLVED, RESOLVED),  # 30 minutes normal: 已恢复
    (62, False, False, Reason.QUIET, N),  # closed
]

REMIND_WHILE_FIRING = [
    (0, True, False, Reason.PENDING, N),  # pending
    (2, True, False, Reason.FIRED, SEND),  # fired at minute 2
    (121, True, False, Reason.STILL_FIRING, N),  # 119 minutes since the message
    (122, True, False, Reason.REMINDER_DUE, REMIND),  # 120 minutes: a reminder
    (200, True, False, Reason.STILL_FIRING, N),  # 78 minutes since the reminder
    (242, True, False, Reason.REMINDER_DUE, REMIND),  # 120 minutes since the reminder: the next one
]

FLAPPING = [
    (0, True, False, Reason.PENDING, N),  # pending
    (2, True, False, Reason.FIRED, SEND),  # fired
    (3, False, False, Reason.RECOVERING, N),  # normal
    (10, True, False, Reason.FLAPPED, N),  # breaching again within resolve_after: same alert, silent
    (11, False, False, Reason.RECOVERING, N),  # normal again: the 30 minutes start over
    (20, True, False, Reason.FLAPPED, N),  # and again: still no message
    (21, False, False, Reason.RECOVERING, N),  # normal from minute 21
    (50, False, False, Reason.RECOVERING, N),  # 29 minutes
    (51, False, False, Reason.RESOLVED, RESOLVED),  # one 已恢复 for the whole flapping episode
]

PENDING_THAT_CLEARS = [
    (0, True, False, Reason.PENDING, N),  # a single breaching check
    (1, False, False, Reason.PENDING_CLEARED, N),  # normal before the hold: dropped, nothing was sent
    (2, False, False, Reason.QUIET, N),  # nothing open
    (3, True, False, Reason.PENDING, N),  # a new pending starts from scratch
]

SILENCED_THROUGHOUT = [
    (0, True, True, Reason.PENDING, N),  # pending (silence does not matter yet)
    (2, True, True, Reason.FIRED_SILENCED, N),  # would fire: silenced, nothing sent
    (200, True, True, Reason.STILL_FIRING, N),  # no reminder under a silence either
    (201, False, True, Reason.RECOVERING, N),  # normal
    (231, False, True, Reason.RESOLVED_QUIET, N),  # resolved; it was never sent, so no 已恢复
]

SILENCE_ENDS_WHILE_FIRING = [
    (0, True, True, Reason.PENDING, N),  # pending
    (2, True, True, Reason.FIRED_SILENCED, N),  # firing under a silence
    (60, True, False, Reason.SILENCE_ENDED, SEND),  # silence over, still breaching: sent now
    (61, True, False, Reason.STILL_FIRING, N),  # and not again
    (62, False, False, Reason.RECOVERING, N),  # normal
    (92, False, False, Reason.RESOLVED, RESOLVED),  # 已恢复, since the alert was sent
]


@pytest.mark.parametrize("rows", [FIRE_ONCE_AND_RESOLVE, REMIND_WHILE_FIRING, FLAPPING, PENDING_THAT_CLEARS,
                                  SILENCED_THROUGHOUT, SILENCE_ENDS_WHILE_FIRING],
                         ids=["fire-once", "remind", "flap", "pending-clears", "silenced", "silence-ends"])
def test_lifecycle_tables(rows):
    _run(rows)


def test_no_hold_fires_at_the_first_breach():
    d = decide(None, _signal(0, True), T0, LifecycleParams(hold=timedelta(0)))
    assert (d.reason, d.action) == (Reason.FIRED, Action.SEND_FIRING)


def test_state_keeps_duration_and_peak():
    state = None
    peaks = {0: 12.0, 1: 30.0, 2: 18.0, 3: 25.0}
    for minute, observed in peaks.items():
        signal = _signal(minute, True, observed)
        state = decide(state, signal, signal.at, PARAMS).state
    for minute in (4, 20):
        state = decide(state, _signal(minute, False), T0 + timedelta(minutes=minute), PARAMS).state
    assert state.peak.observed == 30.0 and state.peak_at == T0 + timedelta(minutes=1)
    assert state.lasted(T0 + timedelta(minutes=20)) == 4 * 60  # first breach at 0, normal from minute 4
    assert state.fired_at == T0 + timedelta(minutes=2) and state.last_sent_at == state.fired_at


def test_silences_match_by_label_prefix_or_id_until_they_end():
    until = T0 + timedelta(hours=2)
    by_word, by_id = Silence(until, matcher="投诉"), Silence(until, alert_id=7)
    assert silenced([by_word], "投诉 类别=物流", 3, T0)  # /静默 投诉 2小时 covers the breakdown too
    assert not silenced([by_word], "负面消息占比", 3, T0)
    assert silenced([by_id], "负面消息占比", 7, T0)  # /静默 7 到 …
    assert not silenced([by_id], "负面消息占比", 8, T0)
    assert not silenced([by_word, by_id], "投诉", 7, until)  # over at `until`


def test_settings_become_the_detector_and_lifecycle_parameters():
    from bot.alerting import detector, lifecycle, mentions, rules
    from bot.config import AlertSettings

    alerts = AlertSettings(windows_minutes=[60, 15], min_count=5, hold_minutes=0, resolve_after_minutes=45,
                           oncall_dingtalk_mobiles=["13800000000"], oncall_wecom_userids=["zhangsan"],
                           rules=[{"name": "快", "metric": "30秒应答率", "value": 80, "filters": {"渠道": "淘宝"}}])
    d, life = detector(alerts), lifecycle(alerts)
    assert d.windows_minutes == (15, 60) and d.min_count == 5 and d.max_window == 60
    assert life.hold == timedelta(0) and life.resolve_after == timedelta(minutes=45)
    assert life.reminder == timedelta(hours=2)  # the documented default
    assert mentions(alerts, "dingtalk") == ["13800000000"] and mentions(alerts, "wecom") == ["zhangsan"]
    assert mentions(alerts, "feishu") == []
    (rule,) = rules(alerts)
    assert rule.filters == {"channel": "淘宝"} and rule.comparison == "<"
