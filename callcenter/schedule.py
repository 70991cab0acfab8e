"""Jobs done once a day at a local time: the reports mailed to managers, the
head count pulled from the client's HR system.

A feature lists its :class:`DailyJob` s and calls :meth:`Schedule.tick` from a
loop (``loops.every``). A job's run for a local day is claimed by a row in
``scheduled_runs`` (unique job and day), so a restart, or a second server on
the same database, never does the same day twice. A server that was down at
the set time does the day's run when it comes back, the same day. A run that
fails is tried again ``retry_minutes`` later, up to ``max_attempts`` times; a
run left ``running`` by a process that died is taken over after
``lease_minutes``. Every run stays in the table with its attempts, its last
error and what it reported (``detail``), for the pages that show them."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.models import ScheduledRun
from callcenter.orm import utcnow

log = logging.getLogger(__name__)
_R = ScheduledRun.__table__
ERROR_CHARS = 500


@dataclass(frozen=True)
class DailyJob:
    name: str                                             # unique among all jobs, e.g. "headcount:pull"
    at: dt.time                                           # local time of day (the server's [web] timezone)
    run: Callable[[dt.date], Awaitable[dict | None]]      # the local day's work; returns what to keep


def parse_time(text: str) -> dt.time:
    """``"06:30"`` as a time; ValueError with a sentence otherwise."""
    try:
        hours, minutes = (int(part) for part in str(text).strip().split(":"))
        return dt.time(hours, minutes)
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is no time of day: write it as HH:MM (24 hours), e.g. 06:30") from None


def due_day(now: dt.datetime, at: dt.time, tz: dt.tzinfo) -> dt.date | None:
    """The local day whose run is due at ``now``: today once its time has come."""
    local = now.astimezone(tz)
    return local.date() if local.time().replace(tzinfo=None) >= at else None


class Schedule:
    def __init__(self, sessions: async_sessionmaker, timezone: str, *, retry_minutes: float = 15.0,
                 max_attempts: int = 5, lease_minutes: float = 30.0,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.sessions, self.tz = sessions, zoneinfo.ZoneInfo(timezone)
        self.retry = dt.timedelta(minutes=retry_minutes)
        self.lease = dt.timedelta(minutes=lease_minutes)
        self.max_attempts, self.clock = max_attempts, clock

    async def tick(self, jobs: Iterable[DailyJob]) -> dict[str, str]:
        """Run every job whose day is due and not yet done; returns ``{job: status}``
        for the jobs run now ('done' or 'failed'). One job's failure never stops another."""
        ran = {}
        for job in jobs:
            now = self.clock()
            day = due_day(now, job.at, self.tz)
            if day is None:
                continue
            run_id = await self._claim(job.name, day, now)
            if run_id is None:
                continue
            ran[job.name] = await self._run(job, day, run_id)
        return ran

    async def _run(self, job: DailyJob, day: dt.date, run_id: int) -> str:
        try:
            detail, error = await job.run(day), None
        except asyncio.CancelledError:
            raise
        except Exception as failure:  # noqa: BLE001 - kept on the run's row and tried again later
            log.warning("daily job %s for %s failed: %s", job.name, day, failure, exc_info=True)
            detail, error = None, f"{type(failure).__name__}: {failure}"[:ERROR_CHARS]
        async with self.sessions() as session:
            now = self.clock()
            values = {"status": "done", "finished_at": now, "error": "", "detail": detail or {}}
            if error is not None:
                values = {"status": "failed", "finished_at": now, "error": error,
                          "next_attempt_at": now + self.retry}
            await session.execute(update(_R).where(_R.c.id == run_id).values(**values))
            await session.commit()
        return values["status"]

    async def _claim(self, job: str, day: dt.date, now: dt.datetime) -> int | None:
        async with self.sessions() as session:
            row = await session.scalar(select(ScheduledRun).where(ScheduledRun.job == job,
                                                                  ScheduledRun.day == day))
            if row is None:
                return await self._insert(session, job, day, now)
            retryable = and_(_R.c.status == "failed", _R.c.attempts < self.max_attempts,
                             _R.c.next_attempt_at <= now)
            abandoned = and_(_R.c.status == "running", _R.c.started_at <= now - self.lease)
            result = await session.execute(
                update(_R).where(_R.c.id == row.id, or_(retryable, abandoned))
                .values(status="running", started_at=now, attempts=_R.c.attempts + 1))
            await session.commit()
            return row.id if result.rowcount == 1 else None

    @staticmethod
    async def _insert(session: AsyncSession, job: str, day: dt.date, now: dt.datetime) -> int | None:
        row = ScheduledRun(job=job, day=day, status="running", attempts=1, started_at=now,
                           next_attempt_at=now, error="", detail={})
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:  # another server claimed the day first
            await session.rollback()
            return None
        return row.id


async def runs_of(session: AsyncSession, prefix: str, limit: int = 50) -> list[ScheduledRun]:
    """The latest runs of the jobs whose name starts with ``prefix``, newest first."""
    return list((await session.scalars(
        select(ScheduledRun).where(ScheduledRun.job.startswith(prefix, autoescape=True))
        .order_by(ScheduledRun.day.desc(), ScheduledRun.id.desc()).limit(limit))).all())
