"""The alert job: evaluate the detectors and threshold rules, move each alert through its lifecycle,
and queue what must be said — on one replica at a time, exactly once.

Every ``[alerts] check_interval_seconds`` (and right after an import or an event-API batch lands,
:meth:`AlertJob.poke`) a replica runs :meth:`AlertJob.evaluate`:

1. **Lease.** Take the ``alerts`` job lease (:mod:`bot.jobs.lease`); another replica holding it means
   it is evaluating right now, so this one does nothing. A scheduled check that comes less than half an
   interval after the last finished one (on any replica) is skipped, so two replicas do not double the
   work; a poke after an import always runs.
2. **Signals.** :func:`analytics.alerts.evaluate.check` on the rollups (with this process's
   :class:`~analytics.alerts.evaluate.HourCache`) and each ``[[alerts.rules]]`` rule.
3. **Decisions.** The open alerts (``alerts`` rows, pending or firing) and active silences are read
   back, and :func:`analytics.alerts.decide` — the same pure function the backtest replays — says for
   each key what to do. A restart therefore neither forgets a firing alert nor sends it again.
4. **Ids.** A new alert's row is inserted (empty state) so its message can carry ``#N``.
5. **Messages.** The firing / reminder / 已恢复 texts (:mod:`analytics.alerts.message`), with the 24 h
   band chart for firing and reminders, one outbox row per ``[alerts] targets`` robot, @-mentioning the
   on-call people on DingTalk (mobiles) and WeCom (user ids).
6. **Commit.** In one transaction that first re-checks the lease: every alert's new state, the outbox
   rows, and the lease released. A replica that lost its lease (it stalled past it and another took
   over) writes nothing; a crash before the commit leaves the previous states, so the next check
   decides again and nothing is lost or doubled (a new alert's reserved row is picked up by key).

Blocking work (database, numpy, the chart) runs in a thread; the event loop only awaits it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from analytics.alerts import (
    Action,
    AlertState,
    Breach,
    Decision,
    Reason,
    Rule,
    Signal,
    Silence,
    decide,
    silenced,
)
from analytics.alerts.lifecycle import state_from_json, state_to_json
from analytics.alerts.model import RULE_PREFIX
from analytics.store import alerts as store
from analytics.store.alerts import DROPPED, FIRING, PENDING, RESOLVED, AlertRecord
from bot import alerting
from bot.adapters.base import Destination
from bot.config import ConfigError, Settings
from bot.delivery.outbox import row_from
from bot.jobs import lease
from handlers.base import Chart, Reply

log = logging.getLogger(__name__)

LEASE = "alerts"
Clock = Callable[[], datetime]


@dataclass
class Planned:
    """One alert key's decision at this check, with the row it belongs to."""

    key: str
    record: AlertRecord | None
    before: AlertState | None
    decision: Decision
    signal: Signal | None = None


def destinations(settings: Settings) -> list[Destination]:
    """``[alerts] targets`` robots, each carrying the on-call people its platform can @."""
    out = []
    for target in settings.alerts.targets:
        platform, _, name = target.partition(":")
        extra: dict = {}
        people = alerting.mentions(settings.alerts, platform)
        if people and platform == "dingtalk":
            extra["at_mobiles"] = people
        elif people and platform == "wecom":
            extra["mention_userids"] = people
        out.append(Destination(platform, "robot", name, extra))
    return out


class AlertJob:
    """One per ``csbot serve`` replica (or ``csbot import`` run); any number per database."""

    def __init__(self, settings: Settings, engine: Engine, *, owner: str, clock: Clock | None = None,
                 chart_dir: Path | None = None, wake: Callable[[], None] | None = None):
        from analytics.alerts.evaluate import HourCache

        a = settings.alerts
        self.settings, self.engine, self.owner = settings, engine, owner
        self.clock = clock or (lambda: datetime.now(settings.tz))
        self.detector, self.lifecycle = alerting.detector(a), alerting.lifecycle(a)
        self.rules: dict[str, Rule] = {f"{RULE_PREFIX}{r.name}": r for r in alerting.rules(a)}
        self._validate_rules()
        self.interval = timedelta(seconds=a.check_interval_seconds)
        self.lease = max(timedelta(seconds=120), 2 * self.interval)
        self.chart_dir = chart_dir or Path(settings.general.data_dir) / "charts"
        self.targets = destinations(settings)
        self.cache = HourCache()
        self.wake = wake
        self._lock = asyncio.Lock()
        self._warned_unbuilt = False

    def _validate_rules(self) -> None:
        """A rule that can never be evaluated (unknown metric, window, filter) stops start-up, in Chinese,
        rather than silently never alerting."""
        from analytics.alerts.rules import validate

        for rule in self.rules.values():
            try:
                validate(rule, self.clock())
            except ValueError as exc:
                raise ConfigError(f"[[alerts.rules]] {exc}") from None

    async def tick(self, *, forced: bool = False) -> str:
        """One evaluation off the event loop; returns what happened (see :meth:`evaluate`). The first
        one after start-up reads the baseline hours first (:meth:`warm`)."""
        async with self._lock:
            if self.cache.empty:
                await asyncio.to_thread(self.warm)
            outcome = await asyncio.to_thread(self.evaluate, self.clock(), forced=forced)
        if outcome.startswith("sent") and self.wake is not None:
            self.wake()
        return outcome

    def warm(self, now: datetime | None = None) -> None:
        """Read the five weeks of hour counts the checks keep (blocking): at start-up, and from the
        scheduler every few hours, so that checks only ever read the last hours incrementally."""
        with self.engine.connect() as conn:
            self.cache.prime(conn, now or self.clock(), self.detector)

    async def refresh(self) -> None:
        """The scheduler's background refresh of the kept hour counts (before they are ``max_age`` old)."""
        await asyncio.to_thread(self.warm)

    def data_changed(self) -> None:
        """New rows landed (an event-API batch). Nothing to drop: every check re-reads the last whole
        hours (where new rows land) and the minutes of its windows, and all hours every ``max_age``, so a
        poke costs what a scheduled check does, not a cold read of five weeks."""

    # ------------------------------------------------------------------ one evaluation (blocking)

    def evaluate(self, now: datetime, *, forced: bool = False) -> str:
        """``busy`` (another replica is evaluating), ``recent`` (a check ran under half an interval ago),
        ``lost`` (the lease ran out meanwhile: nothing written), ``unbuilt`` (no rollups yet),
        ``quiet`` / ``updated`` (states written, nothing to send) or ``sent N`` (N outbox rows queued)."""
        last = lease.acquire(self.engine, LEASE, self.owner, now, self.lease)
        if last is None:
            return "busy"
        if not forced and now - last < self.interval / 2:
            lease.release_now(self.engine, LEASE, self.owner, now)
            return "recent"
        try:
            return self._evaluate(now)
        except BaseException:
            lease.release_now(self.engine, LEASE, self.owner, now)
            raise

    def _signals(self, now: datetime) -> dict[str, Signal] | None:
        from analytics.alerts.evaluate import check
        from analytics.alerts.rules import rule_signal

        with self.engine.connect() as conn:
            signals = check(conn, now, self.detector, self.cache)
            if signals is None:
                return None
            for key, rule in self.rules.items():
                try:
                    signals[key] = rule_signal(conn, rule, now)
                except Exception:  # noqa: BLE001 - one bad rule must not stop the spike alerts
                    log.exception("alert rule %r could not be evaluated", rule.name)
        return signals

    def _evaluate(self, now: datetime) -> str:
        signals = self._signals(now)
        if signals is None:
            if not self._warned_unbuilt:
                log.warning("alerts: the rollups are not built yet (csbot rebuild rollups); nothing evaluated")
                self._warned_unbuilt = True
            lease.release_now(self.engine, LEASE, self.owner, now)
            return "unbuilt"
        open_rows = {r.key: r for r in store.open_alerts(self.engine)}
        silences = [Silence(store.aware(s.until), s.matcher, s.alert_id)
                    for s in store.active_silences(self.engine, now)]
        plans: list[Planned] = []
        for key in sorted(set(signals) | set(open_rows)):
            record = open_rows.get(key)
            before = state_from_json(record.state) if record is not None and record.state else None
            signal = signals.get(key) or Signal(key, now, False)  # a rule removed from the config: it recovers
            lead = before.lead if before is not None else signal.lead
            parts = (*(signal.parts if signal.breaching else ()), *(before.parts if before is not None else ()))
            labels = [lead.series.label() if lead is not None else key, *(b.series.label() for b in parts)]
            muted = silenced(silences, labels, record.id if record is not None else None, now)
            decision = decide(before, signal, now, self.lifecycle, muted)
            if decision.reason is Reason.QUIET and record is None:
                continue
            plans.append(Planned(key, record, before, decision, signal))
        if not plans:
            return self._commit(now, [], [])
        if not self._reserve(now, plans):
            return "lost"
        rows = self._messages(now, plans)
        return self._commit(now, plans, rows)

    def _reserve(self, now: datetime, plans: list[Planned]) -> bool:
        """Insert the rows of new alerts (state empty until the commit) so their messages carry #N."""
        new = [p for p in plans if p.record is None and p.decision.state is not None]
        if not new:
            return True
        stamp = now.astimezone(UTC)
        with Session(self.engine) as session:
            if not lease.hold(session, LEASE, self.owner, now, self.lease):
                session.rollback()
                return False
            for p in new:
                state = p.decision.state
                assert state is not None
                p.record = AlertRecord(key=p.key, open_key=p.key, status=PENDING, label=state.lead.series.label(),
                                       state=None, started_at=state.started_at.astimezone(UTC), updated_at=stamp)
                session.add(p.record)
            session.commit()
            for p in new:
                session.refresh(p.record)
            session.expunge_all()
        return True

    def _messages(self, now: datetime, plans: list[Planned]) -> list:
        from analytics.alerts import message

        rows = []
        if not self.targets:
            return rows
        with self.engine.connect() as conn:
            for p in plans:
                action, state = p.decision.action, p.decision.state or p.before
                if action is Action.NONE or state is None or p.record is None:
                    continue
                current = p.signal.lead if p.signal is not None and p.signal.breaching else None
                reply = self._reply(conn, message, action, state, p.record, now, current)
                dedup = f"alert:{p.record.id}:{action.value}:{state.reminders}"
                for dest in self.targets:
                    if action is Action.SEND_RESOLVED:  # 已恢复 is news, not a page: no @
                        dest = Destination(dest.platform, dest.kind, dest.target)
                    rows.append(row_from(dest, reply, dedup, now.astimezone(UTC)))
        return rows

    def _reply(self, conn, message, action: Action, state: AlertState, record: AlertRecord,  # noqa: ANN001
               now: datetime, current: Breach | None = None) -> Reply:
        tz = self.settings.tz
        rule = self.rules.get(state.key)
        if rule is not None:
            from analytics.alerts.rules import target

            share = target(rule)[2]
            if action is Action.SEND_RESOLVED:
                return Reply(message.rule_resolved_text(state, rule, share, now, tz, alert_id=record.id),
                             title="告警已恢复")
            text = message.rule_firing_text(state, rule, share, tz, alert_id=record.id,
                                            reminder=action is Action.SEND_REMINDER, claimed_by=record.claimed_by,
                                            now=now)
            return Reply(text, title="告警")
        if action is Action.SEND_RESOLVED:
            return Reply(message.resolved_text(state, now, tz, alert_id=record.id), title="告警已恢复")
        tops, examples = message.behind(conn, state, now)
        text = message.firing_text(state, tops, examples, tz, alert_id=record.id,
                                   reminder=action is Action.SEND_REMINDER, claimed_by=record.claimed_by, now=now,
                                   current=current)
        return Reply(text, title="告警", charts=self._chart(conn, state, record, now))

    def _chart(self, conn, state: AlertState, record: AlertRecord, now: datetime) -> list[Chart]:  # noqa: ANN001
        from analytics.alerts.evaluate import band
        from analytics.charts import band_chart

        try:
            found = band(conn, state.lead.series, now, self.detector)
            if found is None:
                return []
            tz = self.settings.tz
            path = self.chart_dir / "alerts" / f"alert-{record.id}-{int(now.timestamp())}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            title = f"{state.lead.series.label()} · 近24小时"
            subtitle = f"每小时{'投诉' if state.key == 'complaints' else '负面消息'}与预期 · 截至 {now.astimezone(tz):%m-%d %H:%M}"
            band_chart([h.astimezone(tz) for h in found.hours], found.observed, found.expected, found.upper,
                       title=title, subtitle=subtitle, path=path, unit="件" if state.key == "complaints" else "条",
                       partial_last=found.partial)
            return [Chart(path, title)]
        except Exception:  # noqa: BLE001 - an alert without its chart still goes out
            log.exception("alert #%s: chart not rendered", record.id)
            return []

    def _commit(self, now: datetime, plans: list[Planned], rows: list) -> str:
        stamp = now.astimezone(UTC)
        with Session(self.engine) as session:
            if not lease.hold(session, LEASE, self.owner, now, self.lease):
                session.rollback()
                log.warning("alerts: lease lost during the evaluation at %s; nothing written", now.isoformat())
                return "lost"
            for p in plans:
                if p.record is not None:
                    session.execute(update(AlertRecord).where(AlertRecord.id == p.record.id)
                                    .values(**_row_values(p, stamp)))
            session.add_all(rows)
            lease.release(session, LEASE, self.owner, now, ran=True)
            session.commit()
        if rows:
            log.info("alerts: %d message(s) queued at %s", len(rows), now.isoformat())
            return f"sent {len(rows)}"
        return "updated" if plans else "quiet"


def _row_values(p: Planned, stamp: datetime) -> dict:
    state, reason = p.decision.state, p.decision.reason
    values: dict = {"updated_at": stamp}
    if state is None:  # closed at this check
        last = p.before
        dropped = reason is Reason.PENDING_CLEARED or p.before is None  # never fired (or a reserved row never used)
        values.update(open_key=None, status=DROPPED if dropped else RESOLVED)
        if last is not None:
            values.update(resolved_at=stamp, peak_observed=last.peak.observed)
        return values
    values.update(state=state_to_json(state), status=FIRING if state.status.value == "firing" else PENDING,
                  label=state.lead.series.label(), peak_observed=state.peak.observed)
    if state.fired_at is not None:
        values["fired_at"] = state.fired_at.astimezone(UTC)
    if state.notified:
        values["notified"] = True
    return values


#: Import kinds whose rows the detectors count.
ALERT_KINDS = ("complaints", "conversations", "messages")


def check_after_import(settings: Settings, engine: Engine, kind: str, now: datetime | None = None) -> str | None:
    """``csbot import``: new rows landed, check the alerts now (blocking). The messages go to the outbox,
    which ``csbot serve`` delivers; None when alerts are off, have no targets, or ``kind`` is not counted."""
    from bot.delivery.outbox import replica_id

    a = settings.alerts
    if not (a.enabled and a.targets) or kind not in ALERT_KINDS:
        return None
    job = AlertJob(settings, engine, owner=replica_id())
    return job.evaluate(now or job.clock(), forced=True)


def catch_up(settings: Settings, engine: Engine, start: datetime, end: datetime) -> list[AlertRecord]:
    """Run the alert job minute by minute over [start, end) (blocking), as ``csbot serve`` would have:
    ``csbot demo`` does it over its planted spike so ``/告警`` shows it. Returns the alerts it opened.
    Messages go to ``[alerts] targets`` only if any are configured (the demo has none)."""
    from bot.delivery.outbox import replica_id

    job = AlertJob(settings, engine, owner=replica_id())
    job.warm(start)
    now = start
    while now < end:
        job.evaluate(now, forced=True)
        now += timedelta(minutes=1)
    with Session(engine) as session:
        rows = list(session.exec(select(AlertRecord).where(AlertRecord.started_at >= start.astimezone(UTC),
                                                           AlertRecord.status != DROPPED)).all())
        session.expunge_all()
    return rows
