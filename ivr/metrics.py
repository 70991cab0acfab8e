"""Prometheus metrics of the IVR (names under ``callcenter_ivr_``), registered
in the server's registry (``monitoring.metrics.Metrics.registry``) or, in
tests, in one of their own."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IvrMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        self.connections_refused = Counter(
            "callcenter_ivr_connections_refused_total",
            "FastAGI connections closed before a session started, by reason "
            "(peer not allowed, server busy)", ["reason"], registry=r)
        self.sessions = Counter(
            "callcenter_ivr_sessions_total", "IVR sessions by how they ended "
            "(completed, caller_hangup, error)", ["outcome"], registry=r)
        self.sessions_active = Gauge("callcenter_ivr_sessions_active", "IVR sessions under way", registry=r)
        self.errors = Counter(
            "callcenter_ivr_errors_total", "FastAGI faults by kind (header_timeout, "
            "header_too_large, protocol, command_timeout, refused_command, closed, lookup, hook, internal)",
            ["kind"], registry=r)
        self.node_visits = Counter("callcenter_ivr_node_visits_total", "IVR node entries",
                                   ["flow", "node"], registry=r)
        self.node_exits = Counter(
            "callcenter_ivr_node_exits_total", "IVR node exits by the way out (an option's "
            "digits, invalid, no_input, retries_exhausted, known, unknown, open, closed, "
            "timeout, accepted, declined, answered, caller_hangup ...)", ["flow", "node", "exit"], registry=r)
        self.command_seconds = Histogram(
            "callcenter_ivr_command_seconds", "AGI command round trips that wait for no caller "
            "(ANSWER, SET VARIABLE ...)", buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
            registry=r)

    def value(self, name: str, **labels) -> float:
        """A sample's current value (0 when absent): for tests and the bench."""
        got = self.registry.get_sample_value(name, labels or None)
        return got or 0.0
