"""Reminders for one agent (due soon, missed) and a store's appointments."""
from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from callcenter.models import utcnow
from callcenter.org.scope import Scope
from callcenter.work import reminders
from callcenter.work.exceptions import StoreNotFound
from callcenter.work.models import Appointment
from tests import factories as f

MIN = dt.timedelta(minutes=1)
TZ = "Asia/Kolkata"


@pytest.fixture
async def org(sessions):
    async with sessions() as s:
        loc = await f.location(s)
        s1, s2 = await f.store(s, loc, "S1"), await f.store(s, loc, "S2")
        o = {"loc": loc, "s1": s1, "s2": s2,
             "asha": await f.user(s, "asha", store=s1), "bala": await f.user(s, "bala", store=s1),
             "chitra": await f.user(s, "chitra", store=s2),
             "mgr": await f.user(s, "mgr", role="manager", loc=loc),
             "camp": await f.campaign(s, "bday", loc=loc),
             "old": await f.campaign(s, "old", loc=loc, starts_on=dt.date(2020, 1, 1),
                                     expires_on=dt.date(2020, 1, 31))}
        await s.commit()
    return o


async def add(sessions, org, agent, bucket, camp="camp", name=None, **fields):
    async with sessions() as s:
        cust = await f.customer(s, name=name, store=org["s1"])
        row = await f.work_item(s, org[camp], cust, org[agent], bucket=bucket, **fields)
        await s.commit()
    return row


async def test_due_soon_holds_followups_and_retries_within_the_lead_time(sessions, org):
    now = utcnow()
    followup = await add(sessions, org, "asha", "future_followup", name="Meera", followup_at=now + 10 * MIN)
    retry = await add(sessions, org, "asha", "non_contact", next_attempt_at=now + 5 * MIN)
    await add(sessions, org, "asha", "future_followup", followup_at=now + 40 * MIN)   # later
    await add(sessions, org, "asha", "non_contact", next_attempt_at=now - 5 * MIN)     # already due
    await add(sessions, org, "bala", "future_followup", followup_at=now + 5 * MIN)     # not hers
    await add(sessions, org, "asha", "future_followup", camp="old", followup_at=now + 5 * MIN)  # expired campaign
    async with sessions() as s:
        due = await reminders.due_soon(s, org["asha"].id, now, 15, tz=TZ)
    assert [r["item_id"] for r in due] == [retry.id, followup.id]  # soonest first
    assert [r["kind"] for r in due] == ["retry", "followup"]
    local = (now + 10 * MIN).astimezone(zoneinfo.ZoneInfo(TZ))
    assert due[1]["text"] == f"Follow-up due: Meera (at {local:%H:%M})"


async def test_missed_lists_pending_followups_most_overdue_first(sessions, org):
    now = utcnow()
    recent = await add(sessions, org, "asha", "pending_followup", followup_at=now - 10 * MIN)
    oldest = await add(sessions, org, "asha", "pending_followup", followup_at=now - 90 * MIN)
    await add(sessions, org, "bala", "pending_followup", followup_at=now - 90 * MIN)
    async with sessions() as s:
        missed = await reminders.missed(s, org["asha"].id, now)
    assert [r["item_id"] for r in missed] == [oldest.id, recent.id]
    assert {r["kind"] for r in missed} == {"missed"}


async def book(sessions, org, agent, store, at, status="booked"):
    item = await add(sessions, org, agent, "appointment", appointment_at=at)
    async with sessions() as s:
        s.add(Appointment(work_item_id=item.id, customer_id=item.customer_id, agent_id=org[agent].id,
                          store_id=org[store].id, at=at, status=status))
        await s.commit()
    return item


async def test_store_appointments_today_and_tomorrow_for_the_store(sessions, org, settings):
    zone = zoneinfo.ZoneInfo(TZ)
    today = dt.date(2031, 3, 10)

    def local(day, hour):
        return dt.datetime.combine(today + dt.timedelta(days=day), dt.time(hour), zone).astimezone(dt.timezone.utc)
    mine = await book(sessions, org, "asha", "s1", local(0, 11))
    colleague = await book(sessions, org, "bala", "s1", local(1, 0))  # tomorrow, just after midnight
    await book(sessions, org, "bala", "s1", local(2, 10))          # the day after: not shown
    await book(sessions, org, "bala", "s1", local(0, 15), status="cancelled")
    await book(sessions, org, "chitra", "s2", local(0, 12))        # another store
    asha = Scope(role="agent", user_id=org["asha"].id, location_id=org["loc"].id, store_id=org["s1"].id)
    async with sessions() as s:
        got = await reminders.store_appointments(s, asha, org["s1"].id, today, TZ, settings=settings)
    assert [d["label"] for d in got["days"]] == ["Today", "Tomorrow"]
    assert [a["work_item_id"] for a in got["days"][0]["appointments"]] == [mine.id]
    assert [a["work_item_id"] for a in got["days"][1]["appointments"]] == [colleague.id]
    first = got["days"][0]["appointments"][0]
    assert first["time"] == "11:00" and first["mine"] and first["url"]
    assert "x" in first["mobile"]  # masked for an agent
    assert got["days"][1]["appointments"][0]["url"] is None  # a colleague's customer: no link
    chitra = Scope(role="agent", user_id=org["chitra"].id, store_id=org["s2"].id)
    async with sessions() as s:
        with pytest.raises(StoreNotFound):
            await reminders.store_appointments(s, chitra, org["s1"].id, today, TZ)
        mgr = Scope(role="manager", user_id=org["mgr"].id, location_id=org["loc"].id)
        got = await reminders.store_appointments(s, mgr, org["s1"].id, today, TZ, settings=settings)
    assert "x" not in got["days"][0]["appointments"][0]["mobile"]
