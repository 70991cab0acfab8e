"""An event becomes outbox rows: the customer's channels and language, an
event switched off sends nothing, an erased customer gets nothing."""
from __future__ import annotations

from sqlalchemy import select

from callcenter.customers.models import Customer
from callcenter.models import utcnow
from callcenter.notifications.models import Notification, NotificationEventSetting
from callcenter.notifications.notify import notify

CONTEXT = {"customer_name": "Asha", "store_name": "T Nagar", "store_city": "Chennai",
           "appointment_date": "08 Dec 2026", "appointment_time": "11:30", "brand": "Jewels"}


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
