"""Business hours: weekday/time windows in a time zone, and holidays. Pure."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")


@dataclass(frozen=True)
class Window:
    """Open on ``days`` (0 = Monday) from ``start`` to ``end`` minutes after
    midnight, end excluded."""
    days: frozenset[int]
    start: int
    end: int


def parse_days(value) -> frozenset[int]:
    """["mon", "tue"], "mon-fri", "sat" or "daily" -> weekday numbers."""
    if value == "daily":
        return frozenset(range(7))
    if isinstance(value, str) and "-" in value:
        first, _, last = value.partition("-")
        if first not in DAYS or last not in DAYS or DAYS.index(first) > DAYS.index(last):
            raise ValueError(f"days {value!r}: write a range like mon-fri")
        return frozenset(range(DAYS.index(first), DAYS.index(last) + 1))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(d, str) and d in DAYS for d in items):
        raise ValueError(f"days {value!r}: use {', '.join(DAYS)}, a range like mon-fri, or daily")
    return frozenset(DAYS.index(d) for d in items)


def parse_time(value) -> int:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise ValueError(f"time {value!r}: write HH:MM (00:00-24:00) in quotes")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def parse_window(raw) -> Window:
    if not isinstance(raw, dict) or set(raw) != {"days", "from", "to"}:
        raise ValueError("a window is {days: ..., from: 'HH:MM', to: 'HH:MM'}")
    start, end = parse_time(raw["from"]), parse_time(raw["to"])
    if end <= start:
        raise ValueError(f"window {raw['from']}-{raw['to']} ends before it starts (split a window across midnight)")
    return Window(parse_days(raw["days"]), start, end)


def parse_holiday(value) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"holiday {value!r}: write YYYY-MM-DD") from None


def is_open(windows, zone: dt.tzinfo, now: dt.datetime, holidays=frozenset()) -> bool:
    """Whether ``now`` (timezone-aware) falls inside a window, in ``zone``."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    local = now.astimezone(zone)
    if local.date() in holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(local.weekday() in w.days and w.start <= minute < w.end for w in windows)
