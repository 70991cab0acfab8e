"""A customer's messages (their 360's history) and sending one again.

What staff see follows the 360: the customer must be in the caller's scope
(callcenter/work/scope.py ``customers_in``, else 404); SMS numbers are
masked per role as on the 360 (callcenter/customers/privacy.py); every
message to the customer is listed newest first with its event, text, state,
attempts and, for a failed one, the last error, ``LIMIT`` a page (older ones:
``?before=<id>`` of the last one shown).

A re-send is a NEW outbox row with the same channel, recipient, text, event
and customer, naming the message it repeats (``resent_from_id``: the first
message, also when a re-send is re-sent), audited ``notification.resend`` on
the customer; a customer's SMS re-sent in the quiet hours waits for their
end, like its first sending (quiet_hours.py). Any role that may open the customer may re-send (agents
included: "I did not get the SMS" is a service request, and the message is
one the customer was already sent). Refused (409) while the message or a
re-send of it is still waiting to go, or within ``RESEND_GAP`` of the last
re-send: a double click never sends twice."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.customers.exceptions import CustomerNotFound
from callcenter.customers.models import Customer
from callcenter.customers.privacy import mobile_for
from callcenter.models import utcnow
from callcenter.notifications import outbox
from callcenter.notifications.events import EVENTS, PROMOTIONAL
from callcenter.notifications.exceptions import NotificationNotFound, ResendRefused
from callcenter.notifications.models import Notification
from callcenter.notifications.quiet_hours import sms_deferral
from callcenter.work.scope import customers_in

log = logging.getLogger(__name__)
RESEND_GAP = dt.timedelta(seconds=60)
WAITING = ("pending", "sending")
LIMIT = 100


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.timezone.utc) if value is not None and value.tzinfo is None else value


async def customer_in_scope(session: AsyncSession, scope, customer_id: int) -> Customer:
    customer = (await session.execute(select(Customer).where(
        Customer.id == customer_id, customers_in(scope)))).scalar_one_or_none()
    if customer is None:
        raise CustomerNotFound("no such customer", customer_id=customer_id)
    return customer


def recipient_for(settings, role: str, row: Notification) -> str:
    """The address as the 360 shows it: an SMS number masked for roles that
    do not see numbers; an e-mail address as the 360 shows the customer's."""
    return mobile_for(settings, role, row.recipient) if row.channel == "sms" else row.recipient


async def messages_of(session: AsyncSession, scope, settings, role: str, customer_id: int,
                      limit: int = LIMIT, before: int | None = None) -> tuple[list[dict], bool]:
    """The customer's messages, newest first, ``limit`` of them older than
    the message ``before`` (a page further down), and whether there are
    older ones (404 outside the caller's scope)."""
    await customer_in_scope(session, scope, customer_id)
    older = [Notification.id < before] if before is not None else []
    rows = (await session.scalars(select(Notification).where(Notification.customer_id == customer_id, *older)
                                  .order_by(Notification.id.desc()).limit(limit + 1))).all()
    more, rows = len(rows) > limit, rows[:limit]
    attempts = await outbox.attempts_of(session, [r.id for r in rows])
    return [message_view(settings, role, r, attempts[r.id]) for r in rows], more


def message_view(settings, role: str, row: Notification, attempts=()) -> dict:
    event = EVENTS.get(row.event)
    failures = [a for a in attempts if not a.ok]
    return {
        "id": row.id, "channel": row.channel, "recipient": recipient_for(settings, role, row),
        "event": row.event, "title": event.title.split(" (to ")[0] if event else (row.subject or "Message"),
        "subject": row.subject, "body": row.body, "language": row.language,
        "status": row.status, "attempts": row.attempts,
        "last_error": failures[-1].error if failures and row.status != "sent" else "",
        "created_at": _aware(row.created_at), "sent_at": _aware(row.sent_at),
        "resent_from_id": row.resent_from_id,
    }


async def resend(session: AsyncSession, scope, actor: str, notification_id: int,
                 now: dt.datetime | None = None, settings=None) -> Notification:
    """Queue the message ``notification_id`` again (the caller commits);
    ``settings`` (the whole config): a customer's SMS waits out the quiet hours."""
    now = now or utcnow()
    row = await session.get(Notification, notification_id, with_for_update=True)
    if row is None or row.customer_id is None:
        raise NotificationNotFound("no such message to a customer", notification_id=notification_id)
    customer = await customer_in_scope(session, scope, row.customer_id)   # 404 outside the scope
    if customer.erased_at is not None:
        raise ResendRefused("the customer was erased: their messages are not sent again", reason="erased")
    event = EVENTS.get(row.event)
    if event is not None and event.kind == PROMOTIONAL and customer.messages_opt_out_at is not None:
        raise ResendRefused("the customer asked for no promotional messages", reason="opted_out")
    first = row.resent_from_id or row.id
    if first != row.id:   # the first message's row lock serialises re-sends of one message (PostgreSQL)
        await session.get(Notification, first, with_for_update=True)
    family = or_(Notification.id == first, Notification.resent_from_id == first)
    waiting = await session.scalar(select(func.count()).select_from(Notification).where(
        family, Notification.status.in_(WAITING)))
    if waiting:
        raise ResendRefused("this message is still waiting to be sent", reason="pending")
    last = _aware(await session.scalar(select(func.max(Notification.created_at)).where(
        Notification.resent_from_id == first)))
    if last is not None and now - last < RESEND_GAP:
        raise ResendRefused("it was sent again less than a minute ago", reason="too_soon")
    again = outbox.enqueue(session, row.channel, row.recipient, row.subject, row.body, row.entity,
                           row.entity_id or None, now=now)
    again.event, again.customer_id, again.language, again.resent_from_id = (
        row.event, row.customer_id, row.language, first)
    if settings is not None:
        again.next_attempt_at = sms_deferral(settings)(again, now)
    await session.flush()
    audit.record(session, actor, "notification.resend", "customer", customer.id, notification_id=row.id,
                 resent_as=again.id, channel=row.channel, event=row.event)
    log.info("message %s to customer %s re-sent as %s by %s", row.id, customer.id, again.id, actor)
    return again
