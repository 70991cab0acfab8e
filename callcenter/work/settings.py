"""The ``[work]`` section of the config file: buckets, retries, reminders, uploads."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WorkSettings:
    # Defaults of a new campaign: minutes before a non-contact is retried, and
    # calls placed (attempts, connected or not) after which a customer not
    # reached is closed as unreachable.
    retry_delay_minutes: int = 120
    max_attempts: int = 3
    # The panel reminds an agent this many minutes before a follow-up is due.
    reminder_lead_minutes: int = 15
    # Seconds between sweeps that move overdue follow-ups to pending follow-up.
    sweep_interval: float = 30.0
    # Largest upload accepted (MB).
    upload_max_mb: int = 50
