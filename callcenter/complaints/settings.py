"""The ``[complaints]`` section of the config file."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class ComplaintSettings:
    ticket_prefix: str = "TK"
    escalation_interval: float = 60.0


def check(complaints: ComplaintSettings, _settings=None) -> None:
    """Raise ValueError naming the first wrong key of [complaints]."""
    if not re.fullmatch(r"[A-Z]{1,6}", complaints.ticket_prefix):
        raise ValueError("[complaints] ticket_prefix must be 1-6 capital letters")
    if complaints.escalation_interval <= 0:
        raise ValueError("[complaints] escalation_interval must be positive")
