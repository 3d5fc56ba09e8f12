"""The alert lifecycle as one pure decision: given the state, this check's signal and ``now``, what to do.

::

    (none) ──breach──▶ pending ──still breaching after `hold`──▶ firing ──normal for `resolve_after`──▶ resolved
              ▲           │ normal before `hold`: dropped,          │  ▲ breaching again while recovering:
              └───────────┘ nothing was ever sent                   │  └ stays firing, no message (flap)
                                                                    └─ every `reminder` while firing: 提醒

:func:`decide` returns a :class:`Decision` — a :class:`Reason` (why), an :class:`Action` (what to send,
if anything) and the next :class:`AlertState` (``None`` once closed) — like Alertmanager's
``DedupStage.needsUpdate``. It takes ``now`` and whether a silence matches (:func:`silenced`) as
arguments and keeps no clock or store of its own: the scheduled job persists the state between checks
and the backtest keeps it in memory, and both call this same function.

A silenced alert still moves through its states (so its duration and peak stay right) but sends
nothing; when the silence ends while it still fires, it is sent then. An alert that was never sent
resolves without a 已恢复.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from analytics.alerts.model import Breach, LifecycleParams, SeriesKey, Signal


class Status(StrEnum):
    PENDING = "pending"
    FIRING = "firing"


class Reason(StrEnum):
    QUIET = "quiet"  # not breaching and nothing open
    PENDING = "pending"  # first breach: waiting for the hold
    HOLDING = "holding"  # still breaching, hold not over yet
    PENDING_CLEARED = "pending_cleared"  # normal again before the hold: dropped, nothing was sent
    FIRED = "fired"  # hold over: send the alert
    FIRED_SILENCED = "fired_silenced"  # hold over but silenced: firing, not sent
    SILENCE_ENDED = "silence_ended"  # firing and never sent, the silence is over: send it now
    STILL_FIRING = "still_firing"  # nothing new to say
    REMINDER_DUE = "reminder_due"  # firing for another `reminder` since the last message
    RECOVERING = "recovering"  # normal, but not yet for `resolve_after`
    FLAPPED = "flapped"  # breaching again while recovering: stays the same alert, no message
    RESOLVED = "resolved"  # normal for `resolve_after`: send 已恢复
    RESOLVED_QUIET = "resolved_quiet"  # resolved, but it was never sent (silenced throughout): nothing to say


class Action(StrEnum):
    NONE = "none"
    SEND_FIRING = "send_firing"
    SEND_REMINDER = "send_reminder"
    SEND_RESOLVED = "send_resolved"


@dataclass(frozen=True)
class AlertState:
    """An open alert between checks (what the job persists and a restart reads back)."""

    key: str
    status: Status
    started_at: datetime  # first breaching check
    last_breach_at: datetime
    lead: Breach  # the breach that named it when it fired (or first breached)
    peak: Breach  # the strongest breach so far
    peak_at: datetime
    fired_at: datetime | None = None
    normal_since: datetime | None = None
    last_sent_at: datetime | None = None  # None: never sent (pending, or silenced since it fired)
    reminders: int = 0
    parts: tuple[Breach, ...] = ()  # the explanation at the strongest breach

    @property
    def notified(self) -> bool:
        return self.last_sent_at is not None

    def lasted(self, now: datetime) -> float:
        """Seconds from the first breach to the start of the recovery (or to ``now`` while breaching)."""
        end = self.normal_since or now
        return max(0.0, (end - self.started_at).total_seconds())


@dataclass(frozen=True)
class Decision:
    reason: Reason
    action: Action
    state: AlertState | None


def _breached(state: AlertState, signal: Signal, now: datetime) -> AlertState:
    lead = signal.lead
    assert lead is not None
    if lead.severity > state.peak.severity:
        return replace(state, last_breach_at=now, normal_since=None, peak=lead, peak_at=now, parts=signal.parts)
    return replace(state, last_breach_at=now, normal_since=None)


def decide(state: AlertState | None, signal: Signal, now: datetime, params: LifecycleParams,
           silenced: bool = False) -> Decision:
    """The next step for one alert key at one check (see the module docstring for the states)."""
    if state is None:
        if not signal.breaching or signal.lead is None:
            return Decision(Reason.QUIET, Action.NONE, None)
        state = AlertState(signal.key, Status.PENDING, now, now, signal.lead, signal.lead, now, parts=signal.parts)
        if params.hold.total_seconds() > 0:
            return Decision(Reason.PENDING, Action.NONE, state)
        return _fire(state, now, silenced)
    if state.status is Status.PENDING:
        if not signal.breaching:
            return Decision(Reason.PENDING_CLEARED, Action.NONE, None)
        state = _breached(state, signal, now)
        if now - state.started_at < params.hold:
            return Decision(Reason.HOLDING, Action.NONE, state)
        return _fire(replace(state, lead=signal.lead or state.lead), now, silenced)
    # firing
    if signal.breaching:
        flapped = state.normal_since is not None
        state = _breached(state, signal, now)
        if not state.notified:
            if silenced:
                return Decision(Reason.FLAPPED if flapped else Reason.STILL_FIRING, Action.NONE, state)
            return Decision(Reason.SILENCE_ENDED, Action.SEND_FIRING, replace(state, last_sent_at=now))
        if flapped:
            return Decision(Reason.FLAPPED, Action.NONE, state)
        return _maybe_remind(state, now, params, silenced)
    normal_since = state.normal_since or now
    state = replace(state, normal_since=normal_since)
    if now - normal_since < params.resolve_after:
        # also when it fired under a silence that has ended since: it is recovering, nothing to page about
        return Decision(Reason.RECOVERING, Action.NONE, state)
    if state.notified:
        return Decision(Reason.RESOLVED, Action.SEND_RESOLVED, None)
    return Decision(Reason.RESOLVED_QUIET, Action.NONE, None)


def _fire(state: AlertState, now: datetime, silenced: bool) -> Decision:
    state = replace(state, status=Status.FIRING, fired_at=now)
    if silenced:
        return Decision(Reason.FIRED_SILENCED, Action.NONE, state)
    return Decision(Reason.FIRED, Action.SEND_FIRING, replace(state, last_sent_at=now))


def _maybe_remind(state: AlertState, now: datetime, params: LifecycleParams, silenced: bool) -> Decision:
    assert state.last_sent_at is not None
    if silenced or now - state.last_sent_at < params.reminder:
        return Decision(Reason.STILL_FIRING, Action.NONE, state)
    return Decision(Reason.REMINDER_DUE, Action.SEND_REMINDER,
                    replace(state, last_sent_at=now, reminders=state.reminders + 1))


# -- silences -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Silence:
    """``/静默 投诉 2小时`` (``matcher`` = a family word or series label prefix) or ``/静默 N 到 18:00``
    (``alert_id`` = N): no message for matching alerts until ``until``."""

    until: datetime
    matcher: str = ""
    alert_id: int | None = None


def silenced(silences: Iterable[Silence], label: str | Iterable[str], alert_id: int | None, now: datetime) -> bool:
    """Whether any active silence matches an alert with id ``alert_id`` named ``label`` (``投诉 类别=物流``)
    — or by any of several labels: an overall spike is also known by the series that drive it, so
    ``/静默 投诉 类别=物流`` mutes the 投诉 alert that 物流 complaints explain."""
    labels = [label] if isinstance(label, str) else list(label)
    for s in silences:
        if now >= s.until:
            continue
        if s.alert_id is not None and s.alert_id == alert_id:
            return True
        if s.matcher and any(name.startswith(s.matcher) for name in labels):
            return True
    return False


# -- persistence ----------------------------------------------------------------------------------------

def _breach_json(b: Breach) -> dict:
    return {"family": b.series.family, "dim": b.series.dim, "key": b.series.key, "window": b.window_minutes,
            "observed": b.observed, "expected": b.expected, "score": b.score}


def _breach_from(d: dict) -> Breach:
    return Breach(SeriesKey(d["family"], d["dim"], d["key"]), int(d["window"]), float(d["observed"]),
                  float(d["expected"]), float(d["score"]))


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def state_to_json(state: AlertState) -> dict:
    """An open alert's state as plain JSON (what the job stores between checks; UTC ISO times)."""
    return {"key": state.key, "status": state.status.value, "started_at": _time(state.started_at),
            "last_breach_at": _time(state.last_breach_at), "lead": _breach_json(state.lead),
            "peak": _breach_json(state.peak), "peak_at": _time(state.peak_at), "fired_at": _time(state.fired_at),
            "normal_since": _time(state.normal_since), "last_sent_at": _time(state.last_sent_at),
            "reminders": state.reminders, "parts": [_breach_json(b) for b in state.parts]}


def state_from_json(d: dict) -> AlertState:
    """The inverse of :func:`state_to_json`."""
    started, last, peak_at = _parse(d["started_at"]), _parse(d["last_breach_at"]), _parse(d["peak_at"])
    assert started is not None and last is not None and peak_at is not None
    return AlertState(d["key"], Status(d["status"]), started, last, _breach_from(d["lead"]),
                      _breach_from(d["peak"]), peak_at, _parse(d.get("fired_at")), _parse(d.get("normal_since")),
                      _parse(d.get("last_sent_at")), int(d.get("reminders", 0)),
                      tuple(_breach_from(b) for b in d.get("parts", ())))
