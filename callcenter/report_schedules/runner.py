"""The daily run: every ``[report_schedules] check_interval`` seconds the
active schedules become one :class:`~callcenter.schedule.DailyJob` each
(``report-schedule:<id>`` at its local time), so one schedule failing never
stops another and each one's runs stay in ``scheduled_runs``; "send now"
mails a schedule at once (to test it), outside its daily runs."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.orm import utcnow
from callcenter.period import today
from callcenter.report_schedules.mailing import enqueue_mails, job_name, run_day
from callcenter.report_schedules.models import ReportSchedule
from callcenter.schedule import DailyJob, Schedule, parse_time


class Mailer:
    def __init__(self, sessions, zone: str, *, clock: Callable[[], dt.datetime] = utcnow,
                 wake: Callable[[], None] | None = None, settings=None, **schedule_options) -> None:
        self.sessions, self.zone, self.wake = sessions, zone, wake
        self.settings = settings   # with them the owner hears each run's report is ready (report.ready)
        self.schedule = Schedule(sessions, zone, clock=clock, **schedule_options)

    async def jobs(self) -> list[DailyJob]:
        async with self.sessions() as session:
            rows = (await session.execute(select(ReportSchedule.id, ReportSchedule.send_at)
                                          .where(ReportSchedule.active.is_(True)))).all()
        return [DailyJob(job_name(sid), parse_time(at),
                         functools.partial(self._run, sid)) for sid, at in rows]

    async def _run(self, schedule_id: int, day: dt.date) -> dict:
        return await run_day(self.sessions, schedule_id, day, self.zone, self.settings)

    async def tick(self) -> dict[str, str]:
        """One pass over the schedules ({job: 'done' | 'failed'} for those run now)."""
        ran = await self.schedule.tick(await self.jobs())
        if ran and self.wake is not None:
            self.wake()
        return ran


async def send_now(session: AsyncSession, schedule: ReportSchedule, zone: str, *, actor: str) -> dict:
    """The schedule's mails for today's run (its period counted from today),
    added to ``session`` with an audit row; the caller commits."""
    detail = await enqueue_mails(session, schedule, today(zone), zone)
    audit.record(session, actor, "report_schedule.send_now", "report_schedule", schedule.id,
                 mails=detail["mails"], date=detail["date"])
    return detail
