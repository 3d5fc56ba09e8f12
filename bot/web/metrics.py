"""Prometheus metrics of the HTTP server and dispatcher, on a registry owned by one app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_WORK_BUCKETS = (0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


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
        self.commands_seconds = Histogram("csbot_command_seconds", "Time from dispatch to reply ready",
                                          ["platform"], buckets=_WORK_BUCKETS, registry=r)
        self.replies = Counter("csbot_replies_total", "Replies by delivery path and outcome",
                               ["platform", "path", "outcome"], registry=r)
        self.inflight = Gauge("csbot_dispatch_inflight", "Messages being handled off the request path",
                              registry=r)
        self.events = Counter("csbot_events_records_total", "Event API records by kind and outcome",
                              ["kind", "outcome"], registry=r)
