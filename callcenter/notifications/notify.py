"""An event becomes outbox rows (callcenter/notifications/outbox.py), in the
caller's transaction: for the customer, or for each person named; on the
event's channels (the catalogue's, or as an admin set them); in the
customer's language (a person's first language) where a template has it,
else English; nothing when the event is switched off. A customer without a
name is addressed as shipped/ NAMELESS says ("Dear Customer"); in an e-mail
an empty value takes the comma before it (render.fill ``tidy``). A customer's SMS
queued in the quiet hours (quiet_hours.py) waits for the morning."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import utcnow
from callcenter.notifications import outbox
from callcenter.notifications.events import CUSTOMER, event as event_of
from callcenter.notifications.models import Notification, NotificationEventSetting
from callcenter.notifications.optout import may_send
from callcenter.notifications.outbox import EMAIL
from callcenter.notifications.providers import E164
from callcenter.notifications.quiet_hours import sms_deferral
from callcenter.notifications.render import fill
from callcenter.notifications.shipped import NAMELESS
from callcenter.notifications.templates import text_for

log = logging.getLogger(__name__)


async def channels_of(session: AsyncSession, key: str) -> tuple[bool, tuple[str, ...]]:
    """(switched on, channels) of the event ``key``."""
    row = await session.get(NotificationEventSetting, key)
    if row is None:
        return event_of(key).on_by_default, event_of(key).channels
    return bool(row.enabled), tuple(row.channels or ())


def _customer_address(customer, channel: str) -> str | None:
    if channel == "sms":
        return customer.mobile if customer.mobile and E164.fullmatch(customer.mobile) else None
    if channel == "email":
        return customer.email if customer.email and EMAIL.fullmatch(customer.email) else None
    return None


def first_language(user) -> str | None:
    """A person's first language (``users.languages``: "hi,en" -> "hi"), None without one."""
    first = (getattr(user, "languages", "") or "").split(",")[0].strip().lower()
    return first or None


def _person_address(settings, user, channel: str) -> str | None:
    if channel == "log":
        return outbox.user_recipient(user.name)
    if channel == "email":
        return user.email if getattr(user, "email", None) and EMAIL.fullmatch(user.email) else None
    if channel == "sms" and settings.notifications.staff_sms:
        return user.mobile if user.mobile and E164.fullmatch(user.mobile) else None
    return None


async def notify(session: AsyncSession, settings, key: str, *, context: dict, customer=None,
                 people: Sequence = (), entity: str = "", entity_id=None,
                 now: dt.datetime | None = None) -> list[Notification]:
    """Queue the event ``key``'s messages (no commit); the rows queued.

    ``customer``: the Customer a customer event is for; ``people``: the Users
    a staff event is for (inactive ones are skipped); ``context``: the
    placeholders' values ({brand} is [notifications] brand unless given)."""
    event = event_of(key)
    context = {**context, "brand": context.get("brand") or settings.notifications.brand}
    now = now or utcnow()
    enabled, channels = await channels_of(session, key)
    if not enabled:
        return []
    rows = []
    if event.audience == CUSTOMER:
        if customer is None or not may_send(customer, event.kind):
            return []   # erased, or opted out of promotional messages
        language = (customer.language or "").strip().lower() or None
        targets = [(channel, _customer_address(customer, channel), language) for channel in channels]
    else:
        targets = [(channel, _person_address(settings, user, channel), first_language(user))
                   for user in people if user is not None and user.active for channel in channels]
    held = sms_deferral(settings)
    for channel, address, language in targets:
        if address is None:
            continue
        text = await text_for(session, key, channel, language)
        if text is None:
            log.warning("event %s has no %s template: nothing sent on it", key, channel)
            continue
        values = context
        if event.audience == CUSTOMER and "customer_name" in context and not str(context["customer_name"]).strip():
            values = {**context, "customer_name": NAMELESS.get(text.language, NAMELESS["en"])}
        tidy = channel != "sms"     # an SMS's fixed text stays as registered on DLT
        row = outbox.enqueue(session, channel, address, fill(text.subject, values, one_line=True, tidy=tidy),
                             fill(text.body, values, tidy=tidy), entity, entity_id, now=now)
        row.event, row.language = key, text.language
        row.next_attempt_at = held(row, row.next_attempt_at)   # a customer's SMS waits out the quiet hours
        row.customer_id = customer.id if event.audience == CUSTOMER else None
        rows.append(row)
    return rows
