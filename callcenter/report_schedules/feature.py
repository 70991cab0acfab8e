"""Reports mailed to managers at a set time, through the notification outbox."""
from pathlib import Path

from callcenter.feature import Feature, Section
from callcenter.report_schedules import http, models, pages
from callcenter.report_schedules.runner import Mailer
from callcenter.report_schedules.settings import ReportScheduleSettings, check


async def start(settings, sessions, loops, dispatcher) -> Mailer:
    section = settings.report_schedules
    mailer = Mailer(sessions, settings.web.timezone, wake=dispatcher.wake, settings=settings,
                    retry_minutes=section.retry_minutes,
                    max_attempts=section.max_attempts)
    loops.every("report_schedules", section.check_interval, mailer.tick, first=True, once=True)
    return mailer


FEATURE = Feature(
    name="report_schedules",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    settings=Section("report_schedules", ReportScheduleSettings, check),
    start=start,
    templates=Path(__file__).parent / "templates",
    summary="Reports mailed to managers at a set time",
)
