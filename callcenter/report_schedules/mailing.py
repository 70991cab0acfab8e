"""A schedule's mails: who receives the report, each in their own scope, and
the outbox rows, all written in ONE transaction with the day's
``scheduled_runs`` row marked done, so a restart (or a second server) never
mails a day twice, and a failure mails nobody and is tried again later.

Recipients: the users of each chosen role within the owner's part of the
organisation (a team lead gets their team's figures, a manager their
location's, an admin all), with an e-mail address and active; then the
explicit addresses, which get the owner's scope. An address is mailed once."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import ScheduledRun, User
from callcenter.notifications import outbox
from callcenter.notifications.notify import notify
from callcenter.org.scope import Scope
from callcenter.period import local_day
from callcenter.report_schedules.contents import TITLES, Built, build
from callcenter.report_schedules.models import ReportSchedule
from callcenter.reports.exceptions import NotFoundInScope

log = logging.getLogger(__name__)
ENTITY = "report_schedule"
JOB_PREFIX = "report-schedule:"
BODY_CHARS = 3800


class OwnerGone(Exception):
    """The schedule's owner was disabled: nobody's scope to send in."""


@dataclass(frozen=True)
class Recipient:
    address: str
    scope: Scope
    who: str          # a user's login, or "address" for an explicit one


def job_name(schedule_id: int) -> str:
    return f"{JOB_PREFIX}{schedule_id}"


def scope_of_user(user: User) -> Scope:
    return Scope(role=user.role, user_id=user.id, team_id=user.team_id, location_id=user.location_id,
                 store_id=user.store_id)


async def recipients(session: AsyncSession, schedule: ReportSchedule) -> tuple[list[Recipient], list[str]]:
    """(the recipients, the logins of people of the chosen roles who have no e-mail address)."""
    owner = await session.get(User, schedule.owner_id)
    if owner is None or not owner.active:
        raise OwnerGone("the schedule's owner is disabled: change its owner or delete it")
    owner_scope = scope_of_user(owner)
    out: dict[str, Recipient] = {}
    no_address = []
    if schedule.role_list:
        users = (await session.scalars(
            select(User).where(User.role.in_(schedule.role_list), User.active.is_(True), owner_scope.users())
            .order_by(User.name))).all()
        for user in users:
            if not user.email:
                no_address.append(user.name)
                continue
            out.setdefault(user.email.lower(), Recipient(user.email, scope_of_user(user), user.name))
    for address in schedule.email_list:
        out.setdefault(address.lower(), Recipient(address, owner_scope, "address"))
    return list(out.values()), no_address


def report_day(schedule: ReportSchedule, run_day: dt.date) -> dt.date:
    return run_day - dt.timedelta(days=1) if schedule.period == "yesterday" else run_day


def body_of(schedule: ReportSchedule, built: Built, day: dt.date, recipient: Recipient, names) -> str:
    period = "so far today" if schedule.period == "today" else "for the day"
    text = "\n".join([f"{TITLES[schedule.report]} {period} {day:%a %d %b %Y} ({schedule.name}).", "",
                      *built.lines, "", f"Attached: {', '.join(names)}.",
                      f"Figures of {_scope_words(recipient.scope)}; sent by schedule #{schedule.id}."])
    return text[:BODY_CHARS]


def _scope_words(scope: Scope) -> str:
    return {"admin": "the whole organisation", "manager": "your location",
            "teamlead": "your team"}.get(scope.role, "your own work")


async def enqueue_mails(session: AsyncSession, schedule: ReportSchedule, run_day: dt.date, zone: str) -> dict:
    """Compute each recipient's report and add their e-mail (with its files)
    to ``session``; nothing is committed here. Returns what to keep on the run."""
    day = local_day(report_day(schedule, run_day), zone)
    made: dict[Scope, tuple[Built, list] | None] = {}   # recipients of one scope share its report
    mailed, skipped = [], []
    everyone, no_address = await recipients(session, schedule)
    for recipient in everyone:
        if recipient.scope not in made:
            made[recipient.scope] = await _made(session, schedule, recipient.scope, day)
        if made[recipient.scope] is None:
            skipped.append(recipient.who)
            continue
        report, files = made[recipient.scope]
        subject = f"{TITLES[schedule.report]} {day.date.isoformat()} · {schedule.name}"
        outbox.enqueue(session, "email", recipient.address, subject,
                       body_of(schedule, report, day.date, recipient, [f[0] for f in files]),
                       ENTITY, schedule.id, attachments=files)
        mailed.append(recipient.who)
    return {"date": day.date.isoformat(), "mails": len(mailed), "to": mailed[:50], "skipped": skipped[:50],
            "no_address": no_address[:50]}


async def _made(session: AsyncSession, schedule: ReportSchedule, scope: Scope, day) -> tuple | None:
    """The report in ``scope`` and its files (rendered in a thread: an XLSX of
    3,500 executives takes seconds of CPU); None when the campaign is out of reach."""
    try:
        report = await build(session, scope, schedule.report, day, schedule.campaign_id)
    except NotFoundInScope:
        return None
    return report, await asyncio.to_thread(report.files, schedule.formats, day.date)


def created_after_its_time(schedule: ReportSchedule, run_day: dt.date, zone: str) -> bool:
    """A schedule made (say) at 10:00 for 06:00 starts the next day, not at once."""
    created = schedule.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.timezone.utc)
    hours, minutes = (int(p) for p in schedule.send_at.split(":"))
    due = dt.datetime.combine(run_day, dt.time(hours, minutes), zoneinfo.ZoneInfo(zone))
    return created > due


async def tell_owner(session: AsyncSession, settings, schedule: ReportSchedule, detail: dict) -> None:
    """``report.ready`` to the schedule's owner: in-app, and by e-mail only
    when they were not among the recipients (the file is never mailed twice)."""
    owner = await session.get(User, schedule.owner_id)
    if owner is None or not detail["mails"]:
        return
    mailed = owner.name in detail["to"] or (owner.email or "").lower() in {a.lower() for a in schedule.email_list}
    person = SimpleNamespace(name=owner.name, active=owner.active, mobile=owner.mobile,
                             email=None if mailed else owner.email)
    await notify(session, settings, "report.ready", people=[person], entity=ENTITY, entity_id=schedule.id,
                 context={"person_name": owner.display_name or owner.name, "report_name": schedule.name,
                          "period": detail["date"], "link": f"/reports/schedules/{schedule.id}"})


async def run_day(sessions, schedule_id: int, run_day_: dt.date, zone: str, settings=None) -> dict:
    """The schedule's run for a local day: the mails, the owner's notice (with
    ``settings``) and the run row, one transaction."""
    async with sessions() as session:
        schedule = await session.get(ReportSchedule, schedule_id)
        if schedule is None or not schedule.active:
            return {"skipped": "deleted or paused"}
        if created_after_its_time(schedule, run_day_, zone):
            return {"skipped": "created after its time that day"}
        detail = await enqueue_mails(session, schedule, run_day_, zone)
        if settings is not None:
            await tell_owner(session, settings, schedule, detail)
        run = ScheduledRun.__table__
        done = await session.execute(
            update(run).where(run.c.job == job_name(schedule_id), run.c.day == run_day_,
                              run.c.status == "running")
            .values(status="done", error="", detail=detail))
        if done.rowcount != 1:  # another process finished this day meanwhile: its mails stand
            await session.rollback()
            return {"skipped": "done elsewhere"}
        await session.commit()
    log.info("report schedule %s for %s: %d mail(s)", schedule_id, run_day_, detail["mails"])
    return detail
