"""Days in the configured time zone, for the reports and the day's lists
(inbound calls): a calendar date as the UTC range the database stores times
in, the ``?date``/``?to`` parameters (at most MAX_DAYS days), and the SQL that
puts a stored UTC time into its local hour."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from sqlalchemy import Integer, cast, func

from callcenter.errors import DomainError
from callcenter.typed_input import FIRST_DAY, LAST_DAY, iso_date

UTC = dt.timezone.utc
SLOT_SECONDS = 900  # every real UTC offset is a multiple of 15 minutes
MAX_DAYS = 92       # the longest range of days (?date to ?to) a report covers


class InvalidDate(DomainError):
    """A ``?date`` that is not YYYY-MM-DD in the years the server takes."""
    error_id = "invalid_date"
    status = 422


class ReportInvalid(DomainError):
    """A parameter of a report over days is wrong (``?to``; the NPS report's
    ``?by``); ``field`` names it."""
    error_id = "invalid_report"
    status = 422


@dataclass(frozen=True)
class Day:
    date: dt.date
    zone: str
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime    # UTC, exclusive

    @property
    def steady_offset(self) -> bool:
        """True unless the zone changes its offset during this day (DST)."""
        return self.start_offset == _offset(self.zone, self.end - dt.timedelta(seconds=1))

    @property
    def start_offset(self) -> int:
        return _offset(self.zone, self.start)

    def contains(self, moment: dt.datetime) -> bool:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return self.start <= moment < self.end


def _offset(zone: str, moment: dt.datetime) -> int:
    return int(moment.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset().total_seconds())


def local_day(date: dt.date, zone: str) -> Day:
    """The UTC range of ``date`` in ``zone`` (00:00 local to the next 00:00 local)."""
    tz = zoneinfo.ZoneInfo(zone)
    start = dt.datetime.combine(date, dt.time(), tz).astimezone(UTC)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), tz).astimezone(UTC)
    return Day(date=date, zone=zone, start=start, end=end)


def today(zone: str, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(UTC)
    return now.astimezone(zoneinfo.ZoneInfo(zone)).date()


def parse_date(raw: str | None, zone: str) -> dt.date:
    """``YYYY-MM-DD`` from a query string (ASCII digits, a year from 1970 to
    2999); today (local) when absent."""
    if raw is None or raw.strip() == "":
        return today(zone)
    day = iso_date(raw)
    if day is None:
        raise InvalidDate(f"date must be YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}", value=raw[:40])
    return day


def days_of(query, zone: str) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """``?date=`` (default today) and optional ``?to=`` (inclusive) of a query
    string, in ``zone``: (first, last, UTC start, UTC end)."""
    first = parse_date(query.get("date"), zone)
    last = parse_date(query.get("to"), zone) if query.get("to") else first
    check_range(first, last)
    return first, last, local_day(first, zone).start, local_day(last, zone).end


def check_range(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise ReportInvalid("to must not be before date", field="to")
    if (last - first).days >= MAX_DAYS:
        raise ReportInvalid(f"at most {MAX_DAYS} days at a time", field="to")


def hour_key(column, day: Day, dialect: str):
    """SQL for the group key that :func:`local_hour` turns into a local hour (0-23).

    On SQLite (times stored as UTC text) the key is the local hour itself when
    the zone keeps one offset all day (always, for Asia/Kolkata), else a
    15-minute slot counted from the day's start."""
    if dialect == "sqlite":
        if day.steady_offset:
            return cast(func.strftime("%H", column, f"{day.start_offset:+d} seconds"), Integer)
        start = int(day.start.timestamp())
        return (cast(func.strftime("%s", column), Integer) - start) / SLOT_SECONDS
    return func.extract("hour", func.timezone(day.zone, column))


def local_hour(key, day: Day, dialect: str) -> int:
    key = int(key)
    if dialect == "sqlite" and not day.steady_offset:
        moment = day.start + dt.timedelta(seconds=key * SLOT_SECONDS)
        return moment.astimezone(zoneinfo.ZoneInfo(day.zone)).hour
    return key
