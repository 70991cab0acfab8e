"""Call quality as the web phone measures it (WebRTC ``getStats`` every few
seconds): the E-model's R factor (ITU-T G.107, in the simplified form VoIP
monitors use) turned into a MOS estimate from 1 (bad) to 4.5 (best), kept
on the call row as running averages and per agent in the metrics."""
from __future__ import annotations

import math
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from callcenter.webphone.exceptions import InvalidQualityReport
from monitoring.metrics import gauge

LIMITS = {"jitter_ms": 10_000.0, "loss_pct": 100.0, "rtt_ms": 60_000.0}


@dataclass(frozen=True)
class Report:
    jitter_ms: float
    loss_pct: float
    rtt_ms: float

    @property
    def mos(self) -> float:
        return mos(self.jitter_ms, self.loss_pct, self.rtt_ms)


def parse(body: dict) -> Report:
    """A page's report; each figure a finite number within reason."""
    values = {}
    for key, limit in LIMITS.items():
        value = body.get(key, 0.0)
        if value is None:
            value = 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0 <= value <= limit:
            raise InvalidQualityReport(f"{key} must be a number from 0 to {limit:g}", field=key)
        values[key] = float(value)
    return Report(**values)


def mos(jitter_ms: float, loss_pct: float, rtt_ms: float) -> float:
    """MOS estimate (1-4.5) from jitter, packet loss and round-trip time."""
    latency = rtt_ms / 2 + 2 * jitter_ms + 10.0  # one-way delay with the jitter buffer
    r = 93.2 - (latency / 40 if latency < 160 else (latency - 120) / 10)
    r -= 2.5 * loss_pct
    r = max(0.0, min(100.0, r))
    return round(max(1.0, min(4.5, 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r))), 2)


def label(score: float) -> str:
    """How a supervisor reads a MOS."""
    return "good" if score >= 4.0 else "fair" if score >= 3.6 else "poor" if score >= 3.1 else "bad"


def running(previous: float | None, samples: int, value: float) -> float:
    """The average after one more sample."""
    return value if previous is None or samples <= 0 else (previous * samples + value) / (samples + 1)


class QualityMetrics:
    def __init__(self, registry, registrations, agent_mos: dict[str, float]) -> None:
        self.reports = Counter("callcenter_webphone_quality_reports_total",
                               "Call-quality reports received from web phones", registry=registry)
        self.report_mos = Histogram("callcenter_webphone_report_mos",
                                    "MOS estimate of each web phone quality report (every few seconds of a call)",
                                    buckets=(1.5, 2.0, 2.5, 3.0, 3.3, 3.6, 3.9, 4.1, 4.3, 4.5), registry=registry)

        class _Live:
            def collect(inner):
                online = gauge("callcenter_webphones_registered", "Web phones with a live registration now")
                online.add_metric([], len(registrations.online))
                per_agent = gauge("callcenter_webphone_agent_mos",
                                  "MOS estimate of each agent's latest web phone call", ["agent"])
                for agent, score in sorted(agent_mos.items()):
                    per_agent.add_metric([agent], score)
                return [online, per_agent]

        registry.register(_Live())
