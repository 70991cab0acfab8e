"""Moments as the API and the pages write them: ISO 8601 in UTC."""
from __future__ import annotations

import datetime as dt


def utc_iso(value: float | dt.datetime | None = None) -> str | None:
    """A Unix time or a datetime (naive = UTC, as the database returns it) as
    ISO 8601 with its ``+00:00`` offset; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()
