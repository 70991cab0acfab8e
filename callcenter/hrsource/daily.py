"""The daily pull: a loop (every minute) asks callcenter/schedule.py to run
the ``headcount:pull`` job at the admin's time, once per local day across
restarts and servers; a failed pull (HR system down, 401...) is tried again
by the schedule (every 15 minutes, 5 times a day) and the loop goes on."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import async_sessionmaker

from callcenter.hrsource.fetch import SYSTEM_ACTOR, Fetcher
from callcenter.hrsource.models import HrSource
from callcenter.hrsource.source import SOURCE_ID
from callcenter.orm import utcnow
from callcenter.schedule import DailyJob, Schedule, parse_time

log = logging.getLogger(__name__)
JOB = "headcount:pull"
TICK_SECONDS = 60.0


class DailyPull:
    def __init__(self, sessions: async_sessionmaker, settings, *,
                 clock: Callable[[], dt.datetime] = utcnow, **schedule_options) -> None:
        self.sessions = sessions
        self.fetcher = Fetcher(sessions, settings)
        self.schedule = Schedule(sessions, settings.web.timezone, clock=clock, **schedule_options)

    async def job(self) -> DailyJob | None:
        async with self.sessions() as session:
            source = await session.get(HrSource, SOURCE_ID)
        if source is None or not source.enabled or not source.daily_at:
            return None
        return DailyJob(JOB, parse_time(source.daily_at), self.run)

    async def run(self, day: dt.date) -> dict:
        fetch = await self.fetcher.fetch(trigger="scheduled", actor=SYSTEM_ACTOR)
        return {"fetch_id": fetch.id, "status": fetch.status, "upload_id": fetch.upload_id}

    async def tick(self) -> dict[str, str]:
        """One look at the clock: ``{job: 'done' | 'failed'}`` when the pull ran now."""
        job = await self.job()
        return {} if job is None else await self.schedule.tick([job])
