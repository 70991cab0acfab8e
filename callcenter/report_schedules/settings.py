"""The ``[report_schedules]`` section: how often the schedules are looked at."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReportScheduleSettings:
    # Reports mailed at a set time (callcenter/report_schedules); times are in [web] timezone.
    check_interval: float = 30.0    # seconds between looks at the schedules due
    retry_minutes: float = 15.0     # a failed run (not a failed send: the outbox retries those) is tried again
    max_attempts: int = 5


def check(section: ReportScheduleSettings, _settings=None) -> None:
    if section.check_interval <= 0 or section.retry_minutes <= 0 or section.max_attempts < 1:
        raise ValueError("[report_schedules] check_interval and retry_minutes must be positive, "
                         "max_attempts at least 1")
