"""The ``[audit]`` section of the config file."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AuditSettings:
    retention_days: int = 1095          # 3 years, then the sweeper removes the rows (one row says so)


def check(audit: AuditSettings, _settings=None) -> None:
    """Raise ValueError naming the first wrong key of [audit]."""
    if not isinstance(audit.retention_days, int) or audit.retention_days < 1:
        raise ValueError("[audit] retention_days must be a whole number of days, 1 or more")
