"""TURN for web phones outside the office network (placeholder until the TURN work lands)."""
from __future__ import annotations


def ice_servers(settings, username: str, now: float | None = None) -> list[dict]:
    return []
