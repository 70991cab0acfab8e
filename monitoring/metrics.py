"""Prometheus metric definitions (names under ``callcenter_``).

One :class:`Metrics` per server, each with its own registry, so tests can run
several servers in one process.  Gauges that mirror live state (trunk channels,
AMI link) are filled by a collector at scrape time.
"""
from __future__ import annotations

from typing import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls_requested = Counter("callcenter_calls_requested_total", "Click-to-call requests accepted", ["mode"], registry=r)
        self.calls_connected = Counter("callcenter_calls_connected_total", "Click-to-calls whose customer answered", ["mode"], registry=r)
        self.calls_failed = Counter("callcenter_calls_failed_total", "Click-to-calls that ended without connecting, by reason", ["reason"], registry=r)
        self.reservations_rejected = Counter("callcenter_trunk_reservations_rejected_total", "Channel reservations refused because the trunk was full", ["trunk"], registry=r)
        self.originate_to_agent_answer = Histogram("callcenter_originate_to_agent_answer_seconds", "From Originate sent to the agent answering", buckets=_LATENCY_BUCKETS, registry=r)
        self.agent_answer_to_customer_answer = Histogram("callcenter_agent_answer_to_customer_answer_seconds", "From the agent answering to the customer answering", buckets=_LATENCY_BUCKETS, registry=r)
        self.request_to_originate = Histogram("callcenter_request_to_originate_seconds", "From the API request to the Originate written to AMI", buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1), registry=r)
        self.ami_reconnects = Counter("callcenter_ami_reconnects_total", "AMI reconnections after the first login", registry=r)
        self.api_requests = Counter("callcenter_api_requests_total", "HTTP API requests", ["route", "method"], registry=r)
        self.api_responses = Counter("callcenter_api_responses_total", "HTTP API responses by status class", ["route", "status"], registry=r)
        self.api_failures = Counter("callcenter_api_failures_total", "HTTP API responses with a 5xx status", ["route"], registry=r)
        self.api_rejected = Counter("callcenter_api_rejected_total", "HTTP API requests refused (401, 403, 409, 422, 429, 503)", ["route", "status"], registry=r)
        self.loop_errors = Counter("callcenter_loop_errors_total", "Errors a background loop survived, by loop and kind (exception or outage id)", ["loop", "kind"], registry=r)
        self.loop_restarts = Counter("callcenter_loop_restarts_total", "Background loops started again after they died", ["loop"], registry=r)
        self.process_restarts = Counter("callcenter_process_restarts_total", "Managed processes (asterisk, redis) started again after they died", ["process"], registry=r)
        self.call_writes_failed = Counter("callcenter_call_writes_failed_total", "Call-row batches whose write failed and was kept for retry", registry=r)
        self.calls_cut = Counter("callcenter_calls_cut_total", "Calls hung up at their maximum age or ring time, by fence (server, pbx) and reason", ["fence", "reason"], registry=r)
        self.api_latency = Histogram("callcenter_api_request_seconds", "HTTP API latency", ["route"], registry=r)
        # set by the ``probes`` loop (callcenter/probes.py), not at scrape time: they need the database
        self.database_up = Gauge("callcenter_database_up", "1 while the database answered the last probe", registry=r)
        self.redis_up = Gauge("callcenter_redis_up", "1 while Redis answered the last probe", registry=r)
        self.dispositions_owed = Gauge("callcenter_dispositions_owed",
                                       "Ended calls placed from a work item still without a disposition", registry=r)
        self.dispositions_owed_oldest = Gauge("callcenter_dispositions_owed_oldest_seconds",
                                              "Age of the oldest of those calls since it ended", registry=r)

    def add_gauges(self, collect: Callable[[], Iterable[GaugeMetricFamily]]) -> None:
        class _Live:
            def collect(self_inner):
                return collect()
        self.registry.register(_Live())


def gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)
