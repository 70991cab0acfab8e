"""Birthday and anniversary wishes (``customer.birthday``,
``customer.anniversary``): promotional messages, off until an admin switches
them on, never to a customer who opted out (``optout.may_send``).

On a customer's day (``customers.birthday`` / ``anniversary``, month and day
in ``[web] timezone``; 29 February is wished on 28 February in other years)
from ``[notifications] greeting_hour`` until the quiet hours begin (a wish
queued later would wait for the next morning, the wrong day). Each wish is
made once (a NoticeMark for that day's greeting time), and a day whose
wishes are all made is not scanned again (``Greeted``)."""
from __future__ import annotations

import calendar
import datetime as dt
import logging
import zoneinfo

from sqlalchemy import extract, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.customers.models import Customer
from callcenter.notifications.notice_marks import marked, once
from callcenter.notifications.notify import channels_of, notify
from callcenter.notifications.quiet_hours import clock_time
from callcenter.org.models import Store

log = logging.getLogger(__name__)
DAYS = {"customer.birthday": Customer.birthday, "customer.anniversary": Customer.anniversary}
BATCH = 500


class Greeted:
    """The days whose wishes are all made, by event (this server's memory:
    another server's pass is stopped by the marks)."""

    def __init__(self) -> None:
        self.days: dict[str, dt.date] = {}


def window(settings, now: dt.datetime) -> tuple[dt.date, dt.datetime, dt.datetime] | None:
    """(today, from, until) in UTC when wishes may go now, else None."""
    zone = zoneinfo.ZoneInfo(settings.web.timezone)
    local = now.astimezone(zone)
    start = dt.datetime.combine(local.date(), clock_time(settings.notifications.greeting_hour), zone)
    quiet = clock_time(settings.notifications.quiet_from)
    end = dt.datetime.combine(local.date(), quiet, zone) if quiet > start.timetz().replace(tzinfo=None) \
        else dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), zone)
    if not start <= local < end:
        return None
    return local.date(), start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def _on(column, today: dt.date):
    """Rows whose date ``column`` falls on ``today``'s month and day."""
    same = (extract("month", column) == today.month) & (extract("day", column) == today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        return or_(same, (extract("month", column) == 2) & (extract("day", column) == 29))
    return same


async def greet(session: AsyncSession, settings, now: dt.datetime, greeted: Greeted | None = None) -> int:
    """Queue the wishes due at ``now`` (aware); how many. The caller commits."""
    span = window(settings, now)
    if span is None:
        return 0
    today, moment, _until = span
    made = 0
    for event, column in DAYS.items():
        if greeted is not None and greeted.days.get(event) == today:
            continue
        if not (await channels_of(session, event))[0]:
            continue   # switched off (the default): no scan
        customers = (await session.execute(
            select(Customer, Store.name).outerjoin(Store, Store.id == Customer.store_id)
            .where(_on(column, today), Customer.erased_at.is_(None), Customer.messages_opt_out_at.is_(None),
                   ~marked(event, "customer", Customer.id, moment))
            .order_by(Customer.id).limit(BATCH))).all()
        done = 0
        for customer, store_name in customers:
            async def make(customer=customer, store_name=store_name, event=event):
                await notify(session, settings, event, customer=customer, entity="customer", entity_id=customer.id,
                             context={"customer_name": customer.name or "", "store_name": store_name or ""},
                             now=now)
            if await once(session, event, "customer", customer.id, moment, "sent", now, make):
                done += 1
        made += done
        if greeted is not None and len(customers) < BATCH and done == len(customers):
            greeted.days[event] = today   # all made (a failed one is tried again next pass)
    if made:
        log.info("greetings: %d wishes queued", made)
    return made
