"""The ``[webhooks]`` section of the config file."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WebhookSettings:
    interval: float = 2.0               # seconds between passes (hand events on, send what is due)
    batch: int = 200                    # events handed on per pass
    max_attempts: int = 8               # then the delivery is failed (an admin may redeliver it)
    backoff_seconds: float = 30.0       # after the n-th failed attempt: 30 s, 60 s, 120 s... up to the cap
    backoff_max_seconds: float = 3600.0
    timeout: float = 10.0               # one POST, connection to last byte of the answer
    max_in_flight: int = 20             # POSTs under way at once, all endpoints together
    per_endpoint: int = 2               # POSTs under way at once to one endpoint
    allow_http_private: bool = False    # http:// (no TLS), only to loopback or private IP addresses


def check(w: WebhookSettings, _settings=None) -> None:
    """Raise ValueError naming the wrong key of [webhooks]."""
    settings = w
    if settings.interval <= 0 or settings.timeout <= 0:
        raise ValueError("[webhooks] interval and timeout must be positive")
    if min(settings.batch, settings.max_attempts, settings.max_in_flight, settings.per_endpoint) < 1:
        raise ValueError("[webhooks] batch, max_attempts, max_in_flight and per_endpoint must be at least 1")
    if settings.per_endpoint > settings.max_in_flight:
        raise ValueError("[webhooks] per_endpoint cannot exceed max_in_flight")
