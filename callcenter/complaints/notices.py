"""What complaints tell whom, through the notification outbox (written in the
caller's transaction, so nothing is sent for a change that was rolled back).

- Staff (owners, previous owners) get a ``log`` message to ``user:<name>``:
  it is logged and shown on their open panel; with ``[notifications]
  staff_sms`` also an SMS to their ``users.mobile`` when they have one.
- The customer gets an SMS to their mobile (the customer's, else the call's
  number) with the ticket number when the complaint is created, and a note
  when it is resolved (``[notifications] customer_sms``)."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import select

from callcenter.complaints.models import Complaint, ComplaintCategory
from callcenter.customers.models import Customer
from callcenter.models import Call, User
from callcenter.notifications import outbox
from callcenter.notifications.providers import E164

LEVEL_LABELS = {"agent": "agent", "teamlead": "team lead", "manager": "manager", "admin": "admin"}


def _local(settings, value) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(zoneinfo.ZoneInfo(settings.web.timezone)).strftime("%d %b %Y %H:%M")


async def _summary(session, settings, complaint: Complaint) -> str:
    category = await session.get(ComplaintCategory, complaint.category_id)
    return (f"{complaint.ticket} · {category.name if category else ''} · priority {complaint.priority}\n"
            f"{complaint.description[:300]}\nDue {_local(settings, complaint.due_at)}")


async def tell_user(session, settings, user_id: int | None, subject: str, body: str,
                    complaint: Complaint, now=None) -> None:
    """A message to a person of the organisation (nothing when ``user_id`` is None)."""
    if user_id is None:
        return
    user = await session.get(User, user_id)
    if user is None or not user.active:
        return
    outbox.enqueue(session, "log", outbox.user_recipient(user.name), subject, body, "complaint", complaint.id,
                   now=now)
    if settings.notifications.staff_sms and user.mobile and E164.fullmatch(user.mobile):
        outbox.enqueue(session, "sms", user.mobile, subject, body[:300], "complaint", complaint.id, now=now)


async def customer_number(session, complaint: Complaint) -> str | None:
    number = None
    if complaint.customer_id is not None:
        number = await session.scalar(select(Customer.mobile).where(Customer.id == complaint.customer_id))
    if number is None and complaint.call_id:
        number = await session.scalar(select(Call.number).where(Call.id == complaint.call_id))
    return number if number and E164.fullmatch(number) else None


async def tell_customer(session, settings, complaint: Complaint, text: str, now=None) -> bool:
    if not settings.notifications.customer_sms:
        return False
    number = await customer_number(session, complaint)
    if number is None:
        return False
    outbox.enqueue(session, "sms", number, "", text, "complaint", complaint.id, now=now)
    return True


async def created(session, settings, complaint: Complaint, sla_hours: float, now=None) -> bool:
    """The customer's SMS with the ticket number; True when one was queued."""
    return await tell_customer(
        session, settings, complaint,
        f"Your complaint is registered. Ticket number {complaint.ticket}. "
        f"We aim to resolve it within {sla_hours:g} hours.", now)


async def resolved(session, settings, complaint: Complaint, now=None) -> bool:
    return await tell_customer(
        session, settings, complaint,
        f"Your complaint {complaint.ticket} has been resolved. Thank you for your patience.", now)


async def escalated(session, settings, complaint: Complaint, step, now=None) -> None:
    """The new owner is told the complaint is theirs; the previous owner that
    it moved on (at admin: the owner is reminded)."""
    summary = await _summary(session, settings, complaint)
    if step.action == "renotified":
        await tell_user(session, settings, step.owner_id, f"Complaint {complaint.ticket} still unresolved",
                        summary, complaint, now)
        return
    label = LEVEL_LABELS[step.to_level]
    await tell_user(session, settings, step.owner_id,
                    f"Complaint {complaint.ticket} escalated to you ({label})", summary, complaint, now)
    if step.previous_owner_id != step.owner_id:
        await tell_user(session, settings, step.previous_owner_id,
                        f"Complaint {complaint.ticket} escalated to the {label}",
                        f"Its SLA passed while it was yours.\n{summary}", complaint, now)


async def changed(session, settings, complaint: Complaint, actor_id: int | None, what: str,
                  now=None) -> None:
    """The owner hears of a comment or status change made by someone else."""
    if complaint.owner_id is not None and complaint.owner_id != actor_id:
        await tell_user(session, settings, complaint.owner_id, f"Complaint {complaint.ticket}: {what}",
                        await _summary(session, settings, complaint), complaint, now)
