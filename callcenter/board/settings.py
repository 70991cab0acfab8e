"""The board's ``[board]`` section of the config file."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BoardSettings:
    # a call in progress longer than this stands out on the board
    long_call_minutes: int = 10


def check(section: BoardSettings, _settings) -> None:
    if not isinstance(section.long_call_minutes, int) or not 1 <= section.long_call_minutes <= 24 * 60:
        raise ValueError("[board] long_call_minutes must be a whole number of minutes from 1 to 1440")
