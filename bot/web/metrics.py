"""Prometheus metrics of ``csbot serve``, on a registry owned by one app (tests never collide).

Counted where they happen, through hooks the app wires in :func:`bot.web.app.create_app`:
the bot's command hook (:meth:`ServerMetrics.observe_command`), the outbox's outcome hook
(:meth:`ServerMetrics.observe_delivery`), APScheduler's job listeners (:meth:`ServerMetrics.on_job_event`)
and the HTTP middleware (callbacks by platform and status). Read from the database at scrape time, cached
for ``cache_seconds`` so a scrape every few seconds costs two small grouped queries:
the outbox depth and oldest pending row per platform, the open alerts by status. Every metric is listed
in ``docs/observability.md``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_WORK_BUCKETS = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
#: Open alert statuses always exported (0 when none), so a dashboard's series never disappear.
ALERT_STATUSES = ("pending", "firing")
CACHE_SECONDS = 5.0


class ServerMetrics:
    """Counters and histograms; one instance (and registry) per app so tests never collide."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter("csbot_http_requests_total", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.request_seconds = Histogram("csbot_http_request_seconds", "Time to answer an HTTP request",
                                         ["route"], buckets=_ACK_BUCKETS, registry=r)
        self.callbacks = Counter("csbot_callbacks_total", "Chat platform callbacks by outcome",
                                 ["platform", "outcome"], registry=r)
        self.callback_requests = Counter("csbot_callback_requests_total",
                                         "Chat platform callback requests by platform and HTTP status",
                                         ["platform", "status"], registry=r)
        self.commands_seconds = Histogram("csbot_command_seconds", "Time from dispatch to reply ready",
                                          ["platform"], buckets=_WORK_BUCKETS, registry=r)
        self.commands = Counter("csbot_commands_total", "Chat commands by command name and outcome",
                                ["command", "outcome"], registry=r)
        self.answer_seconds = Histogram("csbot_answer_seconds", "Time to answer a command (parse, access, run)",
                                        ["command"], buckets=_WORK_BUCKETS, registry=r)
        self.replies = Counter("csbot_replies_total", "Replies by delivery path and outcome",
                               ["platform", "path", "outcome"], registry=r)
        self.deliveries = Counter("csbot_deliveries_total", "Outbox deliveries by platform and outcome",
                                  ["platform", "outcome"], registry=r)
        self.inflight = Gauge("csbot_dispatch_inflight", "Messages being handled off the request path",
                              registry=r)
        self.events = Counter("csbot_events_records_total", "Event API records by kind and outcome",
                              ["kind", "outcome"], registry=r)
        self.job_runs = Counter("csbot_scheduler_job_runs_total", "Scheduler job runs by job id and outcome",
                                ["job_id", "outcome"], registry=r)
        self.job_misfires = Counter("csbot_scheduler_job_misfires_total",
                                    "Scheduler runs missed by more than the misfire grace", ["job_id"], registry=r)
        self.state: StateCollector | None = None

    # ---------------------------------------------------------------- hooks

    def observe_command(self, command: str, outcome: str, seconds: float) -> None:
        """The bot answered: ``command`` is the spec name (``unknown`` when none matched)."""
        self.commands.labels(command or "unknown", outcome).inc()
        self.answer_seconds.labels(command or "unknown").observe(seconds)

    def observe_delivery(self, platform: str, outcome: str) -> None:
        """The outbox finished one row: ``sent``, ``deferred``, ``failed``, ``muted``, ``duplicate`` …"""
        self.deliveries.labels(platform, outcome).inc()

    def on_job_event(self, event: Any) -> None:
        """APScheduler listener for EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED. The label is
        ``job_id``, not ``job``: Prometheus's own target label ``job`` would rename a ``job`` label away."""
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED

        job = str(event.job_id)
        if event.code == EVENT_JOB_MISSED:
            self.job_misfires.labels(job).inc()
        elif event.code == EVENT_JOB_ERROR:
            self.job_runs.labels(job, "error").inc()
        else:
            retval = getattr(event, "retval", None)
            self.job_runs.labels(job, retval if retval in ("ok", "failed") else "ok").inc()

    def watch(self, engine: Engine | None, leader: Callable[[], tuple[str, bool]] | None,
              cache_seconds: float = CACHE_SECONDS) -> None:
        """Export the database gauges (outbox, alerts) and this replica's leader state."""
        if self.state is None:
            self.state = StateCollector(engine, leader, cache_seconds)
            self.registry.register(self.state)


class StateCollector(Collector):
    """Gauges read at scrape time: outbox depth and oldest pending age, open alerts, leader identity.

    ``collect`` blocks on the database at most once per ``cache_seconds``: the ``/metrics`` handler
    renders in a thread. A database that does not answer leaves the last values out, never the scrape.
    """

    def __init__(self, engine: Engine | None, leader: Callable[[], tuple[str, bool]] | None,
                 cache_seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.engine, self.leader, self.cache_seconds, self.clock = engine, leader, cache_seconds, clock
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._outbox: list[tuple[str, int, float]] = []
        self._alerts: dict[str, int] = {}
        self._ok = False

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # collected lazily: registering must not query the database

    def _refresh(self) -> None:
        with self._lock:
            if self.engine is None or self.clock() - self._read_at < self.cache_seconds:
                return
            self._read_at = self.clock()
            try:
                self._outbox, self._alerts = read_state(self.engine, datetime.now(UTC))
                self._ok = True
            except Exception as exc:  # noqa: BLE001 - a scrape during an outage still shows the rest
                log.warning("metrics: database gauges not read (%s)", type(exc).__name__)
                self._ok = False

    def collect(self) -> Iterable[GaugeMetricFamily]:
        self._refresh()
        if self.engine is not None:
            up = GaugeMetricFamily("csbot_database_up", "1 when the last read of the database gauges succeeded")
            up.add_metric([], 1.0 if self._ok else 0.0)
            yield up
        if self._ok:
            depth = GaugeMetricFamily("csbot_outbox_pending", "Outbox rows waiting to be sent", labels=["platform"])
            age = GaugeMetricFamily("csbot_outbox_oldest_pending_seconds",
                                    "Age of the oldest pending outbox row", labels=["platform"])
            for platform, count, oldest in self._outbox:
                depth.add_metric([platform], count)
                age.add_metric([platform], oldest)
            yield depth
            yield age
            alerts = GaugeMetricFamily("csbot_alerts_open", "Open alerts by status", labels=["status"])
            for status in sorted(set(ALERT_STATUSES) | set(self._alerts)):
                alerts.add_metric([status], self._alerts.get(status, 0))
            yield alerts
        if self.leader is not None:
            replica, leading = self.leader()
            gauge = GaugeMetricFamily("csbot_leader", "1 on the replica that runs the timed jobs, else 0",
                                      labels=["replica"])
            gauge.add_metric([replica], 1.0 if leading else 0.0)
            yield gauge


def read_state(engine: Engine, now: datetime) -> tuple[list[tuple[str, int, float]], dict[str, int]]:
    """(platform, pending rows, age in seconds of the oldest) per platform; open alerts per status."""
    with engine.connect() as conn:
        outbox = []
        for platform, count, oldest in conn.execute(text(
                "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending' GROUP BY platform")):
            if isinstance(oldest, str):  # SQLite hands back text
                oldest = datetime.fromisoformat(oldest)
            oldest = oldest if oldest is None or oldest.tzinfo else oldest.replace(tzinfo=UTC)
            outbox.append((platform, int(count), max(0.0, (now - oldest).total_seconds()) if oldest else 0.0))
        alerts = {status: int(count) for status, count in conn.execute(text(
            "SELECT status, COUNT(*) FROM alerts WHERE open_key IS NOT NULL GROUP BY status"))}
    return outbox, alerts
