"""Appointment and follow-up notices, timed by a clock the test moves
(Asia/Kolkata, the default [web] timezone; quiet hours 21:00-09:00, reminder
at 18:00 the day before and 3 h before), with the shipped English texts: booked / moved / cancelled are told
once each, reminders come at their times and once across repeated sweeps, a
cancelled visit gets none and a moved one only at its new time, follow-ups
due go to the agent and missed ones to the agent and their team lead."""
from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import pytest
from sqlalchemy import select

from callcenter.auth.tokens import Principal
from callcenter.customers.models import Customer
from callcenter.dispositions import service as dispositions
from callcenter.notifications import notice_marks, reminder_plan
from callcenter.notifications.feature import check
from callcenter.notifications.models import NoticeMark, Notification
from callcenter.notifications.timed import TimedNotices
from callcenter.org.models import Store
from callcenter.org.scope import load_scope
from callcenter.work.erasure import erase_work
from callcenter.work.models import WorkItem
from callcenter.work.sweeper import sweep as sweep_followups
from tests import factories as f

IST = zoneinfo.ZoneInfo("Asia/Kolkata")
DAY = dt.date(2026, 12, 7)


def ist(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of December 2026 in Kolkata, as UTC."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=IST).astimezone(dt.timezone.utc)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def world(sessions):
    async with sessions() as s, s.begin():
        loc = await f.location(s)
        store = await f.store(s, loc, city="Chennai")
        team = await f.team(s, loc)
        asha = await f.user(s, "asha", store=store, team=team)
        lead = await f.user(s, "lead", role="teamlead", team=team)
        lead.email = "lead@example.com"
        await f.user(s, "other-lead", role="teamlead", team=await f.team(s, loc))
        camp = await f.campaign(s, loc=loc, starts_on=DAY, expires_on=DAY + dt.timedelta(days=20))
        items = {}
        for name in ("meena", "ravi", "kiran"):
            cust = await f.customer(s, name=name.title(), store=store)
            items[name] = (await f.work_item(s, camp, cust, asha)).id
    return {"asha": asha.id, "lead": lead.id, "store": store, **items}


async def submit(sessions, settings, world, item, answers, now):
    async with sessions() as s, s.begin():
        scope = await load_scope(s, Principal("asha", "agent", world["asha"]))
        await dispositions.submit(s, scope, world[item], None, answers, "", "user:asha", settings, now)


WONT_COME = {"talked": "yes", "wished": "yes", "visit": "no"}


def visit(at: str) -> dict:
    return {"talked": "yes", "wished": "yes", "visit": "yes", "appointment_at": at}


async def messages(sessions, since_id: int = 0) -> list[Notification]:
    async with sessions() as s:
        return list((await s.scalars(select(Notification).where(Notification.id > since_id)
                                     .order_by(Notification.id))).all())


async def events_at(sessions, settings, when: dt.datetime) -> list[tuple[str, str]]:
    """Sweep at ``when``; the (event, recipient) of the messages it queued."""
    before = await messages(sessions)
    await TimedNotices(settings, sessions, clock=Clock(when)).tick()
    return [(n.event, n.recipient) for n in await messages(sessions, before[-1].id if before else 0)]


async def test_a_booking_is_told_once_a_move_once_as_changed_and_a_call_off_as_cancelled(
        sessions, settings, world):
    await submit(sessions, settings, world, "meena", visit("2026-12-08T11:30"), ist(7, 10))
    [booked] = await messages(sessions)
    assert booked.event == "appointment.booked" and booked.channel == "sms"
    assert booked.body == (f"Dear Meena, your visit to {world['store'].name}, Chennai is booked for "
                           "08 Dec 2026 at 11:30 AM. - Customer Care")
    await submit(sessions, settings, world, "meena", visit("2026-12-09T16:00"), ist(7, 11))
    moved = await messages(sessions, booked.id)
    assert [(n.event, "09 Dec 2026 at 04:00 PM" in n.body) for n in moved] == [("appointment.changed", True)]
    await submit(sessions, settings, world, "meena", WONT_COME, ist(7, 12))
    assert [n.event for n in await messages(sessions, moved[-1].id)] == ["appointment.cancelled"]


async def test_a_customer_without_a_name_at_a_store_without_a_city_reads_properly(sessions, settings, world):
    async with sessions() as s, s.begin():
        item = await s.get(WorkItem, world["meena"])
        customer = await s.get(Customer, item.customer_id)
        customer.name, customer.email = "", "meena@example.com"
        (await s.get(Store, world["store"].id)).city = ""
    await submit(sessions, settings, world, "meena", visit("2026-12-08T11:30"), ist(7, 10))
    told = {n.channel: n for n in await messages(sessions)}
    store = world["store"].name
    # the e-mail leaves out the missing city; the SMS keeps its fixed text (as registered on DLT)
    assert told["email"].body.splitlines()[0] == "Dear Customer,"
    assert f"Your visit to {store} is booked for 08 Dec 2026 at 11:30 AM." in told["email"].body
    assert told["sms"].body.startswith(f"Dear Customer, your visit to {store},  is booked")


async def test_reminders_come_the_evening_before_and_hours_before_once_each(sessions, settings, world):
    await submit(sessions, settings, world, "meena", visit("2026-12-08T11:30"), ist(7, 10))
    await submit(sessions, settings, world, "ravi", visit("2026-12-08T14:00"), ist(7, 10))
    meena, ravi = [n.recipient for n in await messages(sessions)]
    assert await events_at(sessions, settings, ist(7, 17, 59)) == []
    assert sorted(await events_at(sessions, settings, ist(7, 18))) == sorted([
        ("appointment.reminder_day_before", meena), ("appointment.reminder_day_before", ravi)])
    assert await events_at(sessions, settings, ist(7, 18, 1)) == []
    # 11:30 - 3 h = 08:30 is in the quiet hours: it goes at 09:00, still 2.5 h ahead
    assert await events_at(sessions, settings, ist(8, 8, 30)) == []
    assert await events_at(sessions, settings, ist(8, 9)) == [("appointment.reminder_hours_before", meena)]
    assert await events_at(sessions, settings, ist(8, 10, 59)) == []
    assert await events_at(sessions, settings, ist(8, 11)) == [("appointment.reminder_hours_before", ravi)]
    assert await events_at(sessions, settings, ist(8, 11, 5)) == []
    async with sessions() as s:
        marks = (await s.scalars(select(NoticeMark))).all()
    assert sorted((m.event, m.outcome) for m in marks) == sorted(
        [("appointment.reminder_day_before", "sent"), ("appointment.reminder_hours_before", "sent")] * 2)


async def test_a_cancelled_visit_gets_no_reminder_and_a_moved_one_only_at_its_new_time(sessions, settings, world):
    await submit(sessions, settings, world, "meena", visit("2026-12-08T11:30"), ist(7, 10))
    await submit(sessions, settings, world, "meena", visit("2026-12-09T16:00"), ist(7, 11))     # moved
    await submit(sessions, settings, world, "ravi", visit("2026-12-08T12:00"), ist(7, 10))
    await submit(sessions, settings, world, "ravi", WONT_COME,
                 ist(7, 11))                                                                   # called off
    meena = (await messages(sessions))[0].recipient
    for when in (ist(7, 18), ist(8, 9), ist(8, 10)):
        assert await events_at(sessions, settings, when) == []
    assert await events_at(sessions, settings, ist(8, 18)) == [("appointment.reminder_day_before", meena)]
    assert await events_at(sessions, settings, ist(9, 13)) == [("appointment.reminder_hours_before", meena)]


async def test_erasing_the_customer_cancels_their_visit_without_a_word(sessions, settings, world):
    await submit(sessions, settings, world, "kiran", visit("2026-12-08T13:00"), ist(7, 10))
    async with sessions() as s, s.begin():
        item = await s.get(WorkItem, world["kiran"])
        await erase_work(s, item.customer_id, [])
    assert [n.event for n in await messages(sessions)] == ["appointment.booked"]
    for when in (ist(7, 18), ist(8, 10)):
        assert await events_at(sessions, settings, when) == []


async def test_a_visit_booked_after_the_evening_before_gets_only_the_hours_before_one(sessions, settings, world):
    await submit(sessions, settings, world, "kiran", visit("2026-12-08T13:00"), ist(7, 19, 30))
    kiran = (await messages(sessions))[0].recipient
    for when in (ist(7, 19, 31), ist(7, 20, 30), ist(8, 9)):
        assert await events_at(sessions, settings, when) == []
    assert await events_at(sessions, settings, ist(8, 10)) == [("appointment.reminder_hours_before", kiran)]


def test_a_reminder_never_goes_in_the_night_nor_right_after_the_booking(settings):
    rules = reminder_plan.rules_of(settings)
    # 09:30 visit: 06:30 is quiet and 09:00 is less than an hour ahead: none (the evening before told them)
    assert reminder_plan.hours_before_at(ist(8, 9, 30), rules) is None
    assert reminder_plan.decide(ist(8, 9, 30), ist(6, 10), ist(8, 9), rules) == {
        "appointment.reminder_hours_before": "skipped:night", "appointment.reminder_day_before": "skipped:late"}
    # 10:00 visit: 07:00 is quiet, so 09:00
    assert reminder_plan.hours_before_at(ist(8, 10), rules) == ist(8, 9)
    # booked at 17:00 for tomorrow: the 18:00 reminder would repeat the booking's message
    assert reminder_plan.decide(ist(8, 15), ist(7, 17), ist(7, 18), rules) == {
        "appointment.reminder_day_before": "skipped:just_booked"}
    # a server down at 18:00 that comes back at 22:00 sends nothing in the night
    assert reminder_plan.decide(ist(8, 15), ist(7, 10), ist(7, 22), rules) == {
        "appointment.reminder_day_before": "skipped:late"}


async def test_a_followup_due_tells_the_agent_and_a_missed_one_also_their_team_lead(sessions, settings, world):
    async with sessions() as s, s.begin():
        for name, hour in (("meena", 15), ("ravi", 16)):
            item = await s.get(WorkItem, world[name])
            item.bucket, item.followup_at, item.updated_at = "future_followup", ist(7, hour), ist(7, 9)
    assert await events_at(sessions, settings, ist(7, 14, 59)) == []
    assert await events_at(sessions, settings, ist(7, 15)) == [("followup.due", "user:asha")]
    async with sessions() as s, s.begin():
        await sweep_followups(s, ist(7, 15, 1))      # not called: pending follow-up
    assert await events_at(sessions, settings, ist(7, 15, 2)) == []
    await submit(sessions, settings, world, "ravi", WONT_COME,
                 ist(7, 15, 30))                     # ravi's is done before it falls due
    assert await events_at(sessions, settings, ist(7, 16)) == []
    assert await events_at(sessions, settings, ist(8, 8, 59)) == []
    assert sorted(await events_at(sessions, settings, ist(8, 9))) == [
        ("followup.missed", "lead@example.com"), ("followup.missed", "user:asha"), ("followup.missed", "user:lead")]
    assert await events_at(sessions, settings, ist(8, 9, 1)) == []
    missed = [n for n in await messages(sessions) if n.event == "followup.missed"]
    assert all("Asha's follow-up call with Meena, due on 07 Dec 2026 at 03:00 PM" in n.body
               .replace("follow-up with", "follow-up call with") for n in missed)
    assert [n.body.splitlines()[0] for n in missed if n.channel == "email"] == ["Dear Lead,"]


async def test_a_notice_another_server_made_is_not_made_again(sessions):
    made = []

    async def make():
        made.append(1)
    async with sessions() as s:
        assert await notice_marks.once(s, "followup.due", "work_item", 7, ist(7, 15), "sent", ist(7, 15), make)
        await s.commit()
    async with sessions() as s:     # the other server: its savepoint is undone, the rest of its pass goes on
        assert not await notice_marks.once(s, "followup.due", "work_item", 7, ist(7, 15), "sent", ist(7, 15), make)
        assert await notice_marks.once(s, "followup.due", "work_item", 8, ist(7, 15), "sent", ist(7, 15), make)
        await s.commit()
        assert len((await s.scalars(select(NoticeMark))).all()) == 2
    assert made == [1, 1]


def test_reminder_settings_are_checked(settings):
    check(settings.notifications)
    for key, value in (("reminder_hour", "25:00"), ("reminder_hour", "six"), ("reminder_hours_before", 0),
                       ("reminder_hours_before", 24)):
        wrong = dataclasses.replace(settings.notifications, **{key: value})
        with pytest.raises(ValueError, match=key):
            check(wrong)
