"""No SMS to a customer in the night: ``[notifications] quiet_from`` to
``quiet_until`` (HH:MM, in ``[web] timezone``) is the quiet time, by default
21:00-09:00 (TRAI's window for commercial communication is 09:00-21:00).
A customer's SMS queued inside it waits for the window's next opening (its
``next_attempt_at``); e-mail and in-app messages go at once. Equal times:
no quiet hours."""
from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from callcenter.notifications.events import CUSTOMER, EVENTS

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def clock_time(text: str) -> dt.time:
    """'21:00' -> time(21, 0); ValueError for anything else."""
    match = _HHMM.fullmatch(text or "")
    if match is None:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00-23:59)")
    return dt.time(int(match[1]), int(match[2]))


def check_quiet_hours(n) -> None:
    """Raise ValueError naming a wrong quiet_from/quiet_until of [notifications]."""
    for key in ("quiet_from", "quiet_until"):
        try:
            clock_time(getattr(n, key))
        except ValueError as exc:
            raise ValueError(f"[notifications] {key}: {exc}") from None


def is_quiet(local: dt.time, start: dt.time, end: dt.time) -> bool:
    """Whether the local time of day ``local`` is in the quiet time [start, end)."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end        # across midnight


def send_at(now: dt.datetime, zone: str, quiet_from: str, quiet_until: str) -> dt.datetime:
    """When a customer's SMS queued at ``now`` may go: ``now`` outside the
    quiet time, else the next ``quiet_until`` in ``zone`` (as UTC). A naive
    ``now`` is UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    start, end = clock_time(quiet_from), clock_time(quiet_until)
    tz = zoneinfo.ZoneInfo(zone)
    local = now.astimezone(tz)
    if not is_quiet(local.time(), start, end):
        return now
    day = local.date() if local.time() < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=tz).astimezone(dt.timezone.utc)


def sms_deferral(settings):
    """``defer(row, at)``: when an outbox row due ``at`` may go. The one rule
    for a first sending (notify.py), a retry (the dispatcher) and a re-send
    (history.py): a customer's SMS (the row of a customer event) due inside
    the quiet hours waits for their end; anything else goes at ``at``."""
    n = settings.notifications

    def defer(row, at: dt.datetime) -> dt.datetime:
        event = EVENTS.get(row.event)
        if row.channel != "sms" or event is None or event.audience != CUSTOMER:
            return at
        return send_at(at, settings.web.timezone, n.quiet_from, n.quiet_until)
    return defer
