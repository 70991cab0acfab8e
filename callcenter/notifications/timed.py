"""Timed notices, by the server's clock in ``[web] timezone``: appointment
reminders (when: reminder_plan.py) and follow-ups due and missed.

- ``appointment.reminder_day_before`` / ``_hours_before``: to the customer of
  a *booked* appointment still ahead. A cancelled one is not booked, so it
  gets none; a moved one is a new appointment at a new time, so the reminders
  follow it (and not the old time).
- ``followup.due``: to the agent, once the follow-up's time has come, while
  the item still waits in future or pending follow-up with no call placed
  since it was set (callcenter/work/sweeper.py's notion); only on the
  follow-up's own local day (a server started late does not flood).
- ``customer.birthday`` / ``customer.anniversary``: promotional wishes on
  the customer's day (greetings.py), when an admin switched them on.
- ``followup.missed``: a follow-up still pending (reminders.py's "missed") at
  the end of its day: told the next morning, when the customer's quiet hours
  end (09:00 by default), to the agent and to their team's lead(s) (active
  users with role teamlead in the agent's team); only on that next day.

Each notice is made once on any number of servers: a NoticeMark (event,
entity, id, for_at = the visit's or the follow-up's time) is inserted in the
same transaction as the notify rows; a unique-key clash means another server
made it. A reminder deliberately not sent is marked ``skipped:<why>``."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.customers.models import Customer
from callcenter.models import Call, User, utcnow
from callcenter.notifications import appointment_notices, reminder_plan
from callcenter.notifications.appointment_notices import local_date, local_time
from callcenter.notifications.greetings import Greeted, greet
from callcenter.notifications.notice_marks import marked, once
from callcenter.notifications.notify import notify
from callcenter.work.buckets import callable_campaigns, utc
from callcenter.work.models import Appointment, WorkItem

log = logging.getLogger(__name__)
INTERVAL = 60.0
AHEAD = dt.timedelta(days=2)        # the farthest visit whose day-before reminder can be due
DUE, MISSED = "followup.due", "followup.missed"
BATCH = 500
DUE_GRACE = dt.timedelta(minutes=10)


async def remind_appointments(session: AsyncSession, settings, now: dt.datetime) -> dict[str, int]:
    """The reminders of booked visits ahead whose moment has come."""
    rules = reminder_plan.rules_of(settings)
    made = {event: marked(event, "appointment", Appointment.id, Appointment.at).label(label)
            for event, label in ((reminder_plan.DAY_BEFORE, "day_made"),
                                 (reminder_plan.HOURS_BEFORE, "hours_made"))}
    rows = (await session.execute(
        select(Appointment.id, Appointment.at, Appointment.created_at, *made.values())
        .where(Appointment.status == "booked", Appointment.at > now, Appointment.at <= now + AHEAD,
               ~(made[reminder_plan.DAY_BEFORE] & made[reminder_plan.HOURS_BEFORE]))
        .order_by(Appointment.at, Appointment.id))).all()
    todo = []
    for appointment_id, at, booked_at, day_made, hours_made in rows:
        done = {reminder_plan.DAY_BEFORE: day_made, reminder_plan.HOURS_BEFORE: hours_made}
        for event, outcome in reminder_plan.decide(utc(at), utc(booked_at), now, rules).items():
            if not done[event]:
                todo.append((appointment_id, utc(at), event, outcome))
    counts = {"sent": 0, "skipped": 0}
    for appointment_id, at, event, outcome in todo[:BATCH]:
        send = outcome == reminder_plan.SENT

        async def make(appointment_id=appointment_id, event=event):
            appointment = await session.get(Appointment, appointment_id)
            await appointment_notices.tell(session, settings, event, appointment, now)
        if await once(session, event, "appointment", appointment_id, at, outcome, now, make if send else None):
            counts["sent" if send else "skipped"] += 1
            if not send:
                log.info("appointment %s: %s not sent (%s)", appointment_id, event, outcome)
    return counts


def _day_start(zone, day: dt.date, at: dt.time = dt.time()) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.timezone.utc)


def _link(settings, item: WorkItem) -> str:
    return settings.notifications.site_url.rstrip("/") + f"/customers/{item.customer_id}?item={item.id}"


async def team_leads(session: AsyncSession, agent: User) -> list[User]:
    """The active team leads of the agent's team (not the agent themself)."""
    if agent.team_id is None:
        return []
    return list((await session.scalars(select(User).where(
        User.role == "teamlead", User.team_id == agent.team_id, User.active.is_(True), User.id != agent.id)
        .order_by(User.id))).all())


async def _tell_followup(session: AsyncSession, settings, event: str, item: WorkItem, people: list[User],
                         now: dt.datetime) -> None:
    agent = await session.get(User, item.agent_id)
    customer = await session.get(Customer, item.customer_id)
    common = {"agent_name": agent.display_name or agent.name,
              "customer_name": customer.name if customer is not None else "",
              "followup_date": local_date(settings, item.followup_at),
              "followup_time": local_time(settings, item.followup_at), "link": _link(settings, item)}
    for person in people:
        context = {**common, "person_name": person.display_name or person.name}
        await notify(session, settings, event, context=context, people=[person], entity="work_item",
                     entity_id=item.id, now=now)


async def followups(session: AsyncSession, settings, now: dt.datetime) -> dict[str, int]:
    """Follow-ups fallen due today (to the agent) and those missed yesterday
    (to the agent and their team lead, from the end of the quiet hours)."""
    rules = reminder_plan.rules_of(settings)
    today = now.astimezone(rules.zone).date()
    start_today = _day_start(rules.zone, today)
    call_since = exists().where(Call.work_item_id == WorkItem.id, Call.disposed_at.is_(None),
                                Call.requested_at >= WorkItem.updated_at)
    # due: on the follow-up's own day (or just before midnight, for a pass that came a moment late)
    found = {DUE: (WorkItem.bucket.in_(("future_followup", "pending_followup")), WorkItem.followup_at <= now,
                   WorkItem.followup_at >= min(start_today, now - DUE_GRACE), ~call_since)}
    if now >= _day_start(rules.zone, today, rules.quiet.end):
        found[MISSED] = (WorkItem.bucket == "pending_followup", WorkItem.followup_at < start_today,
                         WorkItem.followup_at >= _day_start(rules.zone, today - dt.timedelta(days=1)))
    counts = {DUE: 0, MISSED: 0}
    for event, where in found.items():
        fresh = (await session.scalars(select(WorkItem).where(
            *where, WorkItem.agent_id.isnot(None), WorkItem.campaign_id.in_(callable_campaigns(today)),
            ~marked(event, "work_item", WorkItem.id, WorkItem.followup_at))
            .order_by(WorkItem.followup_at, WorkItem.id).limit(BATCH))).all()
        for item in fresh:
            async def make(item=item, event=event):
                agent = await session.get(User, item.agent_id)
                people = [agent] + (await team_leads(session, agent) if event == MISSED else [])
                await _tell_followup(session, settings, event, item, people, now)
            if await once(session, event, "work_item", item.id, utc(item.followup_at), "sent", now, make):
                counts[event] += 1
    return counts


async def sweep(session: AsyncSession, settings, now: dt.datetime, greeted: Greeted | None = None) -> dict:
    """One pass at ``now`` (aware): every timed notice that has come, made
    once. The caller commits."""
    reminded = await remind_appointments(session, settings, now)
    followed = await followups(session, settings, now)
    made = {"reminders": reminded["sent"], "reminders_skipped": reminded["skipped"],
            "followups_due": followed[DUE], "followups_missed": followed[MISSED],
            "greetings": await greet(session, settings, now, greeted)}
    if any(made.values()):
        log.info("timed notices: %s", made)
    return made


class TimedNotices:
    """Runs ``sweep`` every ``INTERVAL`` seconds (``loops.every``) with the
    clock ``clock`` (tests move it); ``wake()`` tells the outbox there is
    something to send."""

    def __init__(self, settings, sessions, wake: Callable[[], None] | None = None,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.settings, self.sessions, self.wake, self.clock = settings, sessions, wake, clock
        self.greeted = Greeted()

    async def tick(self) -> dict:
        async with self.sessions() as session:
            made = await sweep(session, self.settings, self.clock(), self.greeted)
            await session.commit()
        if self.wake is not None and any(made[k] for k in ("reminders", "followups_due", "followups_missed",
                                                           "greetings")):
            self.wake()
        return made
