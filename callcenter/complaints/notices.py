"""What complaints tell whom, as notification events (callcenter/notifications/
events.py) queued by ``notify`` in the caller's transaction, so nothing is
sent for a change that was rolled back:

- ``complaint.filed`` / ``complaint.resolved`` to the customer: SMS to their
  mobile (else the call's number) and e-mail when they have an address.
  ``[notifications] customer_sms = false`` still means no SMS to customers
  (the e-mail is sent; switch the event's e-mail channel off on the template
  page to send nothing).
- ``complaint.assigned`` to the owner of a new complaint someone else filed,
  ``complaint.escalated`` to the new owner: in-app (their open panel) and
  e-mail when they have an address; with ``[notifications] staff_sms`` also
  an SMS to their ``users.mobile``.
- Notes not in the catalogue (the previous owner of an escalated complaint,
  the admin's reminder, comments and status changes by someone else) stay
  in-app only (``tell_user``)."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from types import SimpleNamespace

from sqlalchemy import select

from callcenter.complaints.models import Complaint, ComplaintCategory
from callcenter.customers.models import Customer
from callcenter.models import Call, User
from callcenter.notifications import outbox
from callcenter.notifications.notify import notify
from callcenter.notifications.providers import E164

LEVEL_LABELS = {"agent": "agent", "teamlead": "team lead", "manager": "manager", "admin": "admin"}


def _local(settings, value) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(zoneinfo.ZoneInfo(settings.web.timezone)).strftime("%d %b %Y %H:%M")


def brand(settings) -> str:
    """The name customers know the business by (empty until one is configured)."""
    return getattr(settings.notifications, "brand", "") or ""


async def _facts(session, settings, complaint: Complaint) -> dict:
    category = await session.get(ComplaintCategory, complaint.category_id)
    return {"ticket": complaint.ticket, "category": category.name if category else "",
            "priority": complaint.priority, "due": _local(settings, complaint.due_at),
            "sla_hours": f"{category.sla_hours:g}" if category else "", "brand": brand(settings)}


async def _summary(session, settings, complaint: Complaint) -> str:
    facts = await _facts(session, settings, complaint)
    return (f"{complaint.ticket} · {facts['category']} · priority {complaint.priority}\n"
            f"{complaint.description[:300]}\nDue {facts['due']}")


async def tell_user(session, settings, user_id: int | None, subject: str, body: str,
                    complaint: Complaint, now=None) -> None:
    """An in-app note to a person of the organisation (nothing when ``user_id`` is None)."""
    if user_id is None:
        return
    user = await session.get(User, user_id)
    if user is None or not user.active:
        return
    outbox.enqueue(session, "log", outbox.user_recipient(user.name), subject, body, "complaint", complaint.id,
                   now=now)
    if settings.notifications.staff_sms and user.mobile and E164.fullmatch(user.mobile):
        outbox.enqueue(session, "sms", user.mobile, subject, body[:300], "complaint", complaint.id, now=now)


async def tell_owner(session, settings, key: str, user_id: int | None, complaint: Complaint, now=None) -> list:
    """The staff event ``key`` to the person ``user_id``: its channels, plus
    an SMS with the in-app text under ``staff_sms`` unless the event has one."""
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        return []
    context = {**await _facts(session, settings, complaint), "person_name": user.display_name or user.name,
               "description": complaint.description[:300], "level": LEVEL_LABELS.get(complaint.level, ""),
               "link": f"/complaints/{complaint.id}"}
    rows = await notify(session, settings, key, context=context, people=[user], entity="complaint",
                        entity_id=complaint.id, now=now)
    note = next((r for r in rows if r.channel == "log"), None)
    if (settings.notifications.staff_sms and note is not None and not any(r.channel == "sms" for r in rows)
            and user.mobile and E164.fullmatch(user.mobile)):
        sms = outbox.enqueue(session, "sms", user.mobile, note.subject, note.body[:300], "complaint",
                             complaint.id, now=now)
        sms.event = key
        rows.append(sms)
    return rows


async def customer_number(session, complaint: Complaint) -> str | None:
    number = None
    if complaint.customer_id is not None:
        number = await session.scalar(select(Customer.mobile).where(Customer.id == complaint.customer_id))
    if number is None and complaint.call_id:
        number = await session.scalar(select(Call.number).where(Call.id == complaint.call_id))
    return number if number and E164.fullmatch(number) else None


async def _customer_view(session, settings, complaint: Complaint):
    """The customer as ``notify`` needs them: their mobile (else the call's
    number; none without ``customer_sms``), e-mail and language."""
    customer = await session.get(Customer, complaint.customer_id) if complaint.customer_id else None
    number = await customer_number(session, complaint) if settings.notifications.customer_sms else None
    if customer is None and number is None:
        return None
    return SimpleNamespace(
        id=customer.id if customer else None, mobile=number, name=customer.name if customer else "",
        email=customer.email if customer else None, language=customer.language if customer else None,
        erased_at=customer.erased_at if customer else None,
        messages_opt_out_at=customer.messages_opt_out_at if customer else None)


async def tell_customer(session, settings, key: str, complaint: Complaint, now=None) -> bool:
    """The customer event ``key``; True when a message was queued."""
    customer = await _customer_view(session, settings, complaint)
    if customer is None:
        return False
    context = {**await _facts(session, settings, complaint), "customer_name": customer.name}
    return bool(await notify(session, settings, key, context=context, customer=customer, entity="complaint",
                             entity_id=complaint.id, now=now))


async def created(session, settings, complaint: Complaint, sla_hours: float = 0, now=None) -> bool:
    """The customer's ticket number; True when a message was queued."""
    return await tell_customer(session, settings, "complaint.filed", complaint, now)


async def assigned(session, settings, complaint: Complaint, creator_id: int | None, now=None) -> None:
    """The owner of a new complaint hears of it, unless they filed it."""
    if complaint.owner_id is not None and complaint.owner_id != creator_id:
        await tell_owner(session, settings, "complaint.assigned", complaint.owner_id, complaint, now)


async def resolved(session, settings, complaint: Complaint, now=None) -> bool:
    return await tell_customer(session, settings, "complaint.resolved", complaint, now)


async def escalated(session, settings, complaint: Complaint, step, now=None) -> None:
    """The new owner is told the complaint is theirs (``complaint.escalated``);
    the previous owner that it moved on (at admin: the owner is reminded)."""
    summary = await _summary(session, settings, complaint)
    if step.action == "renotified":
        await tell_user(session, settings, step.owner_id, f"Complaint {complaint.ticket} still unresolved",
                        summary, complaint, now)
        return
    label = LEVEL_LABELS[step.to_level]
    await tell_owner(session, settings, "complaint.escalated", step.owner_id, complaint, now)
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
