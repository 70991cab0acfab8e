"""The ``[monitor]`` section: listen, whisper, barge (callcenter/monitor)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class MonitorSettings:
    # Whether the agent's panel shows "a supervisor is listening", per mode.
    notice_listen: bool = False
    notice_whisper: bool = True
    notice_barge: bool = True
    ring_timeout: float = 30.0        # seconds the supervisor's phone rings before the session is dropped
    check_interval: float = 2.0       # seconds between looks at Asterisk for leaked or orphaned legs


def check(section: MonitorSettings, _settings=None) -> None:
    if section.ring_timeout <= 0 or section.check_interval <= 0:
        raise ValueError("[monitor] ring_timeout and check_interval must be positive")


def notice(section: MonitorSettings, mode: str) -> bool:
    """Is the agent told that a supervisor monitors them in ``mode``?"""
    return bool(getattr(section, f"notice_{mode}"))
