"""When an appointment's reminders go, as pure functions of the visit's time,
the moment it was booked and the clock (the timed sweep, timed.py, applies
them; tests move the clock).

- The day before: the local day before the visit at ``[notifications]
  reminder_hour`` (default 18:00). Hours before: ``reminder_hours_before``
  hours before the visit (default 3).
- Never in the night: a moment in the customer's quiet hours
  (``[notifications] quiet_from``-``quiet_until``, default 21:00-09:00, the
  calling window's hours) goes at the window's next opening instead, but only
  while that still leaves ``MIN_AHEAD`` before the visit (a 10:00 visit with
  3 h = 07:00 is reminded at 09:00; a 09:30 one is not: the evening before
  told them). A day-before moment pushed into the visit's own day is dropped.
- A reminder due less than ``JUST_BOOKED`` after the booking is not sent: the
  booking's own message just told them (booked at 20:00 for tomorrow 11:30:
  only the hours-before one; booked at 17:00: the 18:00 one is dropped too).
- Only one at a time: once the hours-before moment has come, a day-before
  reminder not sent yet is dropped (a server that was down at 18:00).
- Late: a day-before reminder goes only on its own day inside the window; an
  hours-before one only up to ``LATE`` before the visit. A visit already past
  gets nothing (the sweep only looks at visits ahead).

Each answer is final: the sweep marks it (NoticeMark) and never decides it
again for that visit time; a moved visit has a new time and new reminders."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from callcenter.notifications.quiet_hours import clock_time, is_quiet

DAY_BEFORE = "appointment.reminder_day_before"
HOURS_BEFORE = "appointment.reminder_hours_before"
MIN_AHEAD = dt.timedelta(hours=1)       # a reminder moved out of the night still comes this long before
LATE = dt.timedelta(minutes=30)         # an hours-before reminder later than this before the visit is pointless
JUST_BOOKED = dt.timedelta(hours=2)     # the booking's own message counts as a reminder this long
SENT = "sent"


@dataclass(frozen=True)
class Quiet:
    """The customer's quiet hours [start, end) in ``zone``; start == end: none."""
    start: dt.time
    end: dt.time
    zone: dt.tzinfo

    def covers(self, moment: dt.datetime) -> bool:
        return is_quiet(moment.astimezone(self.zone).time(), self.start, self.end)

    def next_open(self, moment: dt.datetime) -> dt.datetime:
        """``moment``, or when its quiet time ends (quiet_hours.send_at's rule)."""
        if not self.covers(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date() if local.time() < self.end else local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, self.end, tzinfo=self.zone).astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class Rules:
    zone: dt.tzinfo
    hour: dt.time                  # the day-before reminder's local time
    hours_before: dt.timedelta
    quiet: Quiet


def rules_of(settings) -> Rules:
    """The reminders' rules from ``[notifications]`` and ``[web] timezone``."""
    n = settings.notifications
    zone = zoneinfo.ZoneInfo(settings.web.timezone)
    return Rules(zone, clock_time(n.reminder_hour), dt.timedelta(hours=float(n.reminder_hours_before)),
                 Quiet(clock_time(n.quiet_from), clock_time(n.quiet_until), zone))


def hours_before_at(at: dt.datetime, rules: Rules) -> dt.datetime | None:
    """When the hours-before reminder goes; None: only the night was left."""
    moment = rules.quiet.next_open(at - rules.hours_before)
    return moment if moment <= at - MIN_AHEAD else None


def day_before_raw(at: dt.datetime, rules: Rules) -> dt.datetime:
    day = at.astimezone(rules.zone).date() - dt.timedelta(days=1)
    return dt.datetime.combine(day, rules.hour, tzinfo=rules.zone).astimezone(dt.timezone.utc)


def day_before_at(at: dt.datetime, rules: Rules) -> dt.datetime | None:
    """When the day-before reminder goes; None: the quiet hours push it into the visit's day."""
    raw = day_before_raw(at, rules)
    moment = rules.quiet.next_open(raw)
    return moment if moment.astimezone(rules.zone).date() == raw.astimezone(rules.zone).date() else None


def decide(at: dt.datetime, booked_at: dt.datetime, now: dt.datetime, rules: Rules) -> dict[str, str]:
    """The reminders of a visit at ``at`` (still ahead) to settle at ``now``:
    event -> "sent" or "skipped:<why>". Ones not due yet, or waiting for the
    quiet hours to end, are absent."""
    out: dict[str, str] = {}
    hours = hours_before_at(at, rules)
    if hours is None:
        if now >= at - rules.hours_before:
            out[HOURS_BEFORE] = "skipped:night"
    elif now >= hours:
        if hours - booked_at < JUST_BOOKED:
            out[HOURS_BEFORE] = "skipped:just_booked"
        elif now > at - LATE:
            out[HOURS_BEFORE] = "skipped:late"
        elif not rules.quiet.covers(now):
            out[HOURS_BEFORE] = SENT
    day = day_before_at(at, rules)
    if day is None:
        if now >= day_before_raw(at, rules):
            out[DAY_BEFORE] = "skipped:night"
    elif now >= day:
        if day - booked_at < JUST_BOOKED:
            out[DAY_BEFORE] = "skipped:just_booked"
        elif hours is not None and now >= hours:
            out[DAY_BEFORE] = "skipped:superseded"
        elif now.astimezone(rules.zone).date() != day.astimezone(rules.zone).date() or rules.quiet.covers(now):
            out[DAY_BEFORE] = "skipped:late"
        else:
            out[DAY_BEFORE] = SENT
    return out
