"""Complaints (tickets): created by an agent from a call or a customer in
their scope, numbered for the customer (tickets.py), owned by whoever must act
at the current level, moved open -> in_progress -> resolved -> closed with a
resolution note, commented, and escalated when their SLA passes
(escalation.py). Every change leaves a ComplaintEvent and an audit row, and
its notifications are queued in the same transaction (notices.py).

Who sees a complaint: an agent those they created or own; a team lead their
team's and those they own; a manager their location's; an admin all. Anyone
who sees one may comment on it and change its status; one outside the
caller's scope is answered as not found."""
from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.complaints import events, notices, tickets
from callcenter.complaints.escalation import ACTIVE, load_chain, owner_from, starting_level
from callcenter.complaints.exceptions import (ComplaintCallNotFound, ComplaintCustomerNotFound,
                                              ComplaintNotFound, InvalidComplaint, InvalidTransition)
from callcenter.complaints.models import (LEVELS, PRIORITIES, STATUSES, Complaint, ComplaintCategory,
                                          ComplaintEvent)
from callcenter.customers.models import Customer
from callcenter.models import Call, User, utcnow
from callcenter.org.models import Store
from callcenter.work.scope import customers_in

# status -> the statuses it may go to; a resolution note is needed to resolve
# or to close an active complaint. Re-opening (resolved -> in_progress) restarts the SLA.
TRANSITIONS = {"open": ("in_progress", "resolved", "closed"), "in_progress": ("resolved", "closed"),
               "resolved": ("closed", "in_progress"), "closed": ()}
TEXT_MAX = 2000


def _utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def visible(scope):
    """Clause on Complaint: the complaints the holder of ``scope`` may see."""
    if scope.sees_all:
        return true()
    if scope.user_id is None:
        return false()
    mine = (Complaint.owner_id == scope.user_id) | (Complaint.created_by_id == scope.user_id)
    if scope.role == "agent":
        return mine
    clause = mine | scope.owned_by(Complaint.created_by_id)
    if scope.role == "manager" and scope.location_id is not None:
        clause = clause | (Complaint.location_id == scope.location_id)
    return clause


def text_field(value, name: str, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidComplaint(f"{name} must be text", field=name)
    value = value.replace("\r\n", "\n").strip()
    if required and not value:
        raise InvalidComplaint(f"{name} is required", field=name)
    if len(value) > TEXT_MAX:
        raise InvalidComplaint(f"{name}: at most {TEXT_MAX} characters", field=name)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InvalidComplaint(f"{name}: no control characters", field=name)
    return value


async def _category(session, category_id) -> ComplaintCategory:
    if isinstance(category_id, bool) or not isinstance(category_id, int):
        raise InvalidComplaint("category must be a category id", field="category_id")
    row = await session.get(ComplaintCategory, category_id)
    if row is None or not row.active:
        raise InvalidComplaint("no such category", field="category_id")
    return row


async def _subject(session, scope, customer_id, call_id) -> tuple[Call | None, Customer | None]:
    """The call and the customer a complaint is about (at least one), in the caller's scope."""
    if customer_id is None and not call_id:
        raise InvalidComplaint("a complaint is about a customer or a call", field="customer_id")
    call = None
    if call_id:
        if not isinstance(call_id, str):
            raise InvalidComplaint("call_id must be text", field="call_id")
        if len(call_id) > 32:
            raise ComplaintCallNotFound("no such call")
        call = (await session.execute(select(Call).where(Call.id == call_id, scope.calls()))
                ).scalar_one_or_none()
        if call is None:
            raise ComplaintCallNotFound("no such call", call_id=call_id)
        if customer_id is None:
            customer_id = call.customer_id
        elif call.customer_id is not None and call.customer_id != customer_id:
            raise InvalidComplaint("the call was with another customer", field="call_id")
    customer = None
    if customer_id is not None:
        if isinstance(customer_id, bool) or not isinstance(customer_id, int):
            raise InvalidComplaint("customer_id must be a customer id", field="customer_id")
        customer = (await session.execute(select(Customer).where(
            Customer.id == customer_id, customers_in(scope)))).scalar_one_or_none()
        if customer is None and call is None:
            raise ComplaintCustomerNotFound("no such customer", customer_id=customer_id)
    return call, customer


async def _first_owner(session, scope, customer: Customer | None) -> tuple[int | None, str, int | None]:
    """(location, level, owner) of a new complaint: the creator's location (else
    the customer's store's), and the first level from the creator's up that has
    a person in its chain, with that person."""
    creator = await session.get(User, scope.user_id) if scope.user_id is not None else None
    location_id = creator.location_id if creator else None
    if location_id is None and customer is not None and customer.store_id is not None:
        location_id = await session.scalar(select(Store.location_id).where(Store.id == customer.store_id))
    chain = await load_chain(session, scope.user_id, location_id)
    level, owner_id = owner_from(starting_level(creator.role if creator else None), chain)
    return location_id, level, owner_id


async def create(session: AsyncSession, scope, settings, actor: str, *, category_id, description,
                 priority="normal", customer_id=None, call_id=None,
                 now: dt.datetime | None = None) -> Complaint:
    """A new complaint about a customer and/or a call in the caller's scope,
    owned by its creator, due within the category's SLA; the customer's SMS
    with the ticket number is queued. The caller commits."""
    now = now or utcnow()
    category = await _category(session, category_id)
    if priority not in PRIORITIES:
        raise InvalidComplaint(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
    description = text_field(description, "description", required=True)
    call, customer = await _subject(session, scope, customer_id, call_id)
    location_id, level, owner_id = await _first_owner(session, scope, customer)
    complaint_id, ticket = await tickets.insert_with_ticket(session, {
        "customer_id": customer.id if customer else (call.customer_id if call else None),
        "call_id": call.id if call else None, "inbound_call_id": call.inbound_call_id if call else None,
        "category_id": category.id, "priority": priority, "description": description, "status": "open",
        "level": level, "owner_id": owner_id, "created_by_id": scope.user_id, "location_id": location_id,
        "due_at": now + dt.timedelta(hours=category.sla_hours), "escalations": 0, "resolution": "",
        "created_at": now, "updated_at": now,
    }, settings.complaints.ticket_prefix, now.astimezone(zoneinfo.ZoneInfo(settings.web.timezone)).date())
    complaint = await session.get(Complaint, complaint_id)
    session.add(ComplaintEvent(complaint_id=complaint_id, at=now, actor=actor[:60], action="created",
                               to_level=level, note=f"{category.name}, priority {priority}"))
    audit.record(session, actor, "complaint.create", "complaint", complaint_id, ticket=ticket,
                 category=category.code, priority=priority, customer_id=complaint.customer_id,
                 call_id=complaint.call_id, level=level, owner_id=owner_id)
    await events.created(session, complaint, now)
    await notices.created(session, settings, complaint, category.sla_hours, now)
    await notices.assigned(session, settings, complaint, scope.user_id, now)
    await session.flush()
    return complaint


async def get(session: AsyncSession, scope, complaint_id: int) -> Complaint:
    row = (await session.execute(select(Complaint).where(Complaint.id == complaint_id, visible(scope)))
           ).scalar_one_or_none()
    if row is None:
        raise ComplaintNotFound("no such complaint", complaint_id=complaint_id)
    return row


async def change(session: AsyncSession, scope, settings, actor: str, complaint_id: int, *,
                 status=None, comment=None, resolution=None, now: dt.datetime | None = None) -> Complaint:
    """Comment on and/or move a complaint to ``status`` (with ``resolution``
    to resolve or close it); each part leaves an event. The caller commits."""
    now = now or utcnow()
    complaint = await get(session, scope, complaint_id)
    comment = text_field(comment, "comment", required=False)
    resolution = text_field(resolution, "resolution", required=False)
    if status is None and not comment and not resolution:
        raise InvalidComplaint("send a status, a comment or a resolution", field="status")
    events = []
    if comment:
        events.append(ComplaintEvent(complaint_id=complaint.id, at=now, actor=actor[:60], action="commented",
                                     note=comment))
    if status is None and resolution:
        raise InvalidComplaint("a resolution goes with status resolved or closed", field="resolution")
    if status is not None and status != complaint.status:
        if status not in STATUSES:
            raise InvalidComplaint(f"status must be one of {', '.join(STATUSES)}", field="status")
        if status not in TRANSITIONS[complaint.status]:
            raise InvalidTransition(f"a {complaint.status} complaint cannot become {status}",
                                    status=complaint.status)
        if status == "resolved" or (status == "closed" and complaint.status in ACTIVE):
            if not resolution:
                raise InvalidComplaint(f"a resolution note is needed to mark it {status}", field="resolution")
        before = complaint.status
        complaint.status = status
        if status in ("resolved", "closed") and resolution:
            complaint.resolution = resolution
        if status == "resolved":
            complaint.resolved_at = now
        if status == "in_progress" and before == "resolved":  # re-opened: the SLA starts again
            category = await session.get(ComplaintCategory, complaint.category_id)
            complaint.resolved_at = None
            complaint.due_at = now + dt.timedelta(hours=category.sla_hours)
        reopened = before == "resolved" and status == "in_progress"
        events.append(ComplaintEvent(complaint_id=complaint.id, at=now, actor=actor[:60],
                                     action="reopened" if reopened else status,
                                     note=resolution if status in ("resolved", "closed") else ""))
        audit.record(session, actor, "complaint.status", "complaint", complaint.id, ticket=complaint.ticket,
                     changes={"status": [before, status]})
        if status == "resolved" or (status == "closed" and before in ACTIVE):
            await notices.resolved(session, settings, complaint, now)
    elif status is not None and resolution:
        raise InvalidComplaint(f"the complaint is already {status}", field="status")
    if not events:
        return complaint  # the status it already has, nothing else: no change
    if comment:
        audit.record(session, actor, "complaint.comment", "complaint", complaint.id, ticket=complaint.ticket)
    complaint.updated_at = now
    session.add_all(events)
    await notices.changed(session, settings, complaint, scope.user_id,
                          ", ".join(e.action.replace("_", " ") for e in events), now)
    await session.flush()
    return complaint


async def list_complaints(session: AsyncSession, scope, *, status=None, level=None, overdue=None,
                          customer_id=None, owner_id=None, now=None, limit=50, offset=0) -> tuple[list, int]:
    """Rows (Complaint, category name, customer name, owner name, creator name) and the total."""
    now = now or utcnow()
    where = [visible(scope)]
    if status == "active":
        where.append(Complaint.status.in_(ACTIVE))
    elif status is not None:
        if status not in STATUSES:
            raise InvalidComplaint(f"status must be active or one of {', '.join(STATUSES)}", field="status")
        where.append(Complaint.status == status)
    if level is not None:
        if level not in LEVELS:
            raise InvalidComplaint(f"level must be one of {', '.join(LEVELS)}", field="level")
        where.append(Complaint.level == level)
    if overdue is True:
        where += [Complaint.status.in_(ACTIVE), Complaint.due_at <= now]
    elif overdue is False:
        where.append(or_(Complaint.status.notin_(ACTIVE), Complaint.due_at > now))
    if customer_id is not None:
        where.append(Complaint.customer_id == customer_id)
    if owner_id is not None:
        where.append(Complaint.owner_id == owner_id)
    total = await session.scalar(select(func.count()).select_from(Complaint).where(*where))
    owner, creator = User.__table__.alias("owner"), User.__table__.alias("creator")
    rows = (await session.execute(
        select(Complaint, ComplaintCategory.name, Customer.name,
               func.coalesce(func.nullif(owner.c.display_name, ""), owner.c.name),
               func.coalesce(func.nullif(creator.c.display_name, ""), creator.c.name))
        .join(ComplaintCategory, ComplaintCategory.id == Complaint.category_id)
        .outerjoin(Customer, Customer.id == Complaint.customer_id)
        .outerjoin(owner, owner.c.id == Complaint.owner_id)
        .outerjoin(creator, creator.c.id == Complaint.created_by_id)
        .where(*where).order_by(Complaint.status.notin_(ACTIVE), Complaint.due_at, Complaint.id)
        .limit(limit).offset(offset))).all()
    return rows, total or 0


async def events_of(session: AsyncSession, complaint_id: int) -> list[ComplaintEvent]:
    return list((await session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.at, ComplaintEvent.id))).all())


def is_overdue(complaint: Complaint, now: dt.datetime) -> bool:
    return complaint.status in ACTIVE and _utc(complaint.due_at) <= now
