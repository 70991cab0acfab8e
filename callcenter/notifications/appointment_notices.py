"""What the customer hears of their store visit, through ``notify``
(notify.py), in the caller's transaction: booked, moved (a rebooking of the
same work item while the earlier visit was still ahead: one "changed"
message, not "cancelled" + "booked"), cancelled. The reminders before the
visit are the timed sweep's (timed.py); they use the same placeholders.

Times are written in the server's ``[web] timezone`` ("08 Dec 2026",
"11:30 AM"). An erased customer gets nothing (notify's rule), and erasure
itself cancels appointments without a word (callcenter/work/erasure.py)."""
from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.customers.models import Customer
from callcenter.notifications.notify import notify
from callcenter.org.models import Store
from callcenter.work.buckets import utc
from callcenter.work.models import Appointment

log = logging.getLogger(__name__)
BOOKED, CHANGED, CANCELLED = "appointment.booked", "appointment.changed", "appointment.cancelled"


def local_date(settings, moment: dt.datetime) -> str:
    return f"{utc(moment).astimezone(zoneinfo.ZoneInfo(settings.web.timezone)):%d %b %Y}"


def local_time(settings, moment: dt.datetime) -> str:
    return f"{utc(moment).astimezone(zoneinfo.ZoneInfo(settings.web.timezone)):%I:%M %p}"


async def context_of(session: AsyncSession, settings, appointment: Appointment,
                     customer: Customer) -> dict:
    """The appointment events' placeholders (events.py ``_APPOINTMENT``)."""
    store = await session.get(Store, appointment.store_id) if appointment.store_id is not None else None
    return {"customer_name": customer.name or "", "store_name": store.name if store else "",
            "store_city": store.city if store else "", "appointment_date": local_date(settings, appointment.at),
            "appointment_time": local_time(settings, appointment.at),
            "brand": settings.notifications.brand}


async def tell(session: AsyncSession, settings, key: str, appointment: Appointment,
               now: dt.datetime | None = None) -> list:
    """Queue the appointment event ``key`` for the appointment's customer."""
    customer = await session.get(Customer, appointment.customer_id)
    if customer is None:
        return []
    context = await context_of(session, settings, appointment, customer)
    rows = await notify(session, settings, key, context=context, customer=customer, entity="appointment",
                        entity_id=appointment.id, now=now)
    log.info("appointment %s: %s queued on %d channel(s)", appointment.id, key, len(rows))
    return rows


async def booked(session: AsyncSession, settings, appointment: Appointment, replaced: Sequence[Appointment],
                 now: dt.datetime) -> list:
    """A new appointment: "changed" when it replaces one still ahead (the
    visit moved), nothing when that one was at the same time and store,
    else "booked" (an earlier visit already past is no move)."""
    ahead = [old for old in replaced if utc(old.at) > utc(now)]
    if any(utc(old.at) == utc(appointment.at) and old.store_id == appointment.store_id for old in ahead):
        return []
    return await tell(session, settings, CHANGED if ahead else BOOKED, appointment, now)


async def cancelled(session: AsyncSession, settings, appointment: Appointment, now: dt.datetime) -> list:
    """A visit called off (not a move): "cancelled"."""
    return await tell(session, settings, CANCELLED, appointment, now)
