"""An event becomes outbox rows: the customer's channels and language (else
English), a person's first language, an admin's text before the shipped one,
an event switched off sends nothing, an erased customer gets nothing, a
customer's SMS waits out the night."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import select

from callcenter.customers.models import Customer
from callcenter.models import User, utcnow
from callcenter.notifications import outbox
from callcenter.notifications.models import Notification, NotificationEventSetting, NotificationTemplate
from callcenter.notifications.notify import notify

CONTEXT = {"customer_name": "Asha", "store_name": "T Nagar", "store_city": "Chennai",
           "appointment_date": "08 Dec 2026", "appointment_time": "11:30", "brand": "Jewels"}
IST = zoneinfo.ZoneInfo("Asia/Kolkata")
DAY = dt.datetime(2026, 12, 7, 11, 0, tzinfo=IST).astimezone(dt.timezone.utc)   # inside the calling window


async def test_a_booked_appointment_tells_the_customer_by_sms_and_email(settings, sessions):
    async with sessions() as s:
        asha = Customer(mobile="+919876543210", name="Asha", email="asha@example.com", language="en")
        s.add(asha)
        await s.flush()
        rows = await notify(s, settings, "appointment.booked", context=CONTEXT, customer=asha,
                            entity="appointment", entity_id=7)
        await s.commit()
    assert sorted((r.channel, r.recipient) for r in rows) == [("email", "asha@example.com"),
                                                              ("sms", "+919876543210")]
    async with sessions() as s:
        stored = (await s.scalars(select(Notification).order_by(Notification.id))).all()
    assert {(n.event, n.customer_id, n.language) for n in stored} == {("appointment.booked", asha.id, "en")}
    sms = next(n for n in stored if n.channel == "sms")
    assert "T Nagar, Chennai" in sms.body and "08 Dec 2026 at 11:30" in sms.body and "{" not in sms.body


async def test_an_event_switched_off_or_an_erased_customer_gets_nothing(settings, sessions):
    async with sessions() as s:
        ravi = Customer(mobile="+919876543211", name="Ravi")
        s.add(ravi)
        s.add(NotificationEventSetting(event="appointment.booked", enabled=False, channels=["sms"]))
        await s.flush()
        assert await notify(s, settings, "appointment.booked", context=CONTEXT, customer=ravi) == []
        await s.delete(await s.get(NotificationEventSetting, "appointment.booked"))
        await s.flush()
        ravi.erased_at = utcnow()
        assert await notify(s, settings, "appointment.booked", context=CONTEXT, customer=ravi) == []
        ravi.erased_at = None
        assert [r.channel for r in await notify(s, settings, "appointment.booked", context=CONTEXT,
                                                customer=ravi)] == ["sms"]   # no email address: SMS only


async def test_a_hindi_speaking_customer_gets_hindi_and_a_tamil_one_english(settings, sessions):
    async with sessions() as s:
        meera = Customer(mobile="+919876543212", name="Meera", email="meera@example.com", language="hi")
        selvi = Customer(mobile="+919876543213", name="Selvi", email="selvi@example.com", language="ta")
        s.add_all([meera, selvi])
        await s.flush()
        hindi = await notify(s, settings, "appointment.booked", context=CONTEXT, customer=meera, now=DAY)
        english = await notify(s, settings, "complaint.filed", customer=selvi, now=DAY, context={
            "customer_name": "Selvi", "ticket": "TK-261207-0001", "category": "Repair", "priority": "normal",
            "due": "09 Dec 2026 18:00", "sla_hours": 48})
    by_channel = {r.channel: r for r in hindi}
    assert {r.language for r in hindi} == {"hi"} and set(by_channel) == {"sms", "email"}
    assert "T Nagar, Chennai में आपकी विज़िट 08 Dec 2026 को 11:30 बजे तय है" in by_channel["sms"].body
    assert by_channel["email"].subject == "T Nagar में आपकी विज़िट: 08 Dec 2026"
    assert by_channel["email"].body.startswith("प्रिय Asha जी,")
    assert by_channel["sms"].body.endswith("- Jewels")
    # no Tamil text: English, signed with [notifications] brand when the caller gives none
    assert {r.language for r in english} == {"en"}
    sms = next(r for r in english if r.channel == "sms")
    assert sms.body == ("Dear Selvi, your complaint is registered. Ticket number TK-261207-0001. "
                        f"We aim to resolve it within 48 hours. - {settings.notifications.brand}")


async def test_an_admin_s_text_wins_and_a_value_cannot_break_the_subject(settings, sessions):
    async with sessions() as s:
        asha = Customer(mobile="+919876543214", name="Asha", email="asha@example.com", language="hi")
        s.add(asha)
        s.add(NotificationTemplate(event="appointment.booked", channel="sms", language="hi",
                                   body="{customer_name} जी, {appointment_date} को मिलते हैं।"))
        await s.flush()
        rows = await notify(s, settings, "appointment.booked", customer=asha, now=DAY, context={
            **CONTEXT, "customer_name": "{brand}", "store_name": "T Nagar\r\nBcc: all@example.com"})
    by_channel = {r.channel: r for r in rows}
    assert by_channel["sms"].body == "{brand} जी, 08 Dec 2026 को मिलते हैं।"      # the value stays literal
    assert by_channel["email"].subject == "T Nagar Bcc: all@example.com में आपकी विज़िट: 08 Dec 2026"


async def test_people_hear_in_their_first_language_else_english(settings, sessions):
    async with sessions() as s:
        people = [User(name="ravi", role="agent", languages="hi,en", email="ravi@example.com"),
                  User(name="lata", role="teamlead", languages="ta,hi"),
                  User(name="john", role="agent")]
        s.add_all(people)
        await s.flush()
        rows = await notify(s, settings, "followup.missed", people=people, now=DAY, context={
            "person_name": "Ravi", "agent_name": "Ravi", "customer_name": "Asha",
            "followup_date": "07 Dec 2026", "followup_time": "16:00", "link": "/followups/3"})
    got = {(r.recipient, r.channel): (r.language, r.subject) for r in rows}
    assert got == {
        ("user:ravi", "log"): ("hi", "फ़ॉलो-अप छूट गया: Asha (Ravi)"),
        ("ravi@example.com", "email"): ("hi", "फ़ॉलो-अप छूट गया: Asha (Ravi)"),
        ("user:lata", "log"): ("en", "Follow-up missed: Asha (Ravi)"),      # no Tamil text
        ("user:john", "log"): ("en", "Follow-up missed: Asha (Ravi)")}
    assert all(r.next_attempt_at == DAY for r in rows)


async def test_a_customer_sms_queued_at_night_waits_for_the_morning(settings, sessions):
    night = dt.datetime(2026, 12, 7, 22, 30, tzinfo=IST).astimezone(dt.timezone.utc)
    morning = dt.datetime(2026, 12, 8, 9, 0, tzinfo=IST)
    async with sessions() as s:
        asha = Customer(mobile="+919876543215", name="Asha", email="asha@example.com", language="en")
        s.add(asha)
        await s.flush()
        rows = {r.channel: r for r in await notify(s, settings, "appointment.booked", context=CONTEXT,
                                                   customer=asha, now=night)}
        await s.commit()
        assert rows["sms"].next_attempt_at == morning and rows["email"].next_attempt_at == night
        assert await outbox.due(s, night + dt.timedelta(minutes=1), 10) == [rows["email"].id]
        assert set(await outbox.due(s, morning, 10)) == {rows["email"].id, rows["sms"].id}
    settings.notifications.quiet_from = settings.notifications.quiet_until = "00:00"   # none
    async with sessions() as s:
        rows = await notify(s, settings, "appointment.booked", context=CONTEXT, customer=asha, now=night)
    assert {r.next_attempt_at for r in rows} == {night}
