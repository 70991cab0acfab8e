"""The business events of complaints (callcenter/event_log.py), recorded in
the change's transaction: ``complaint.created`` when one is filed,
``complaint.escalated`` when the SLA loop moves one up a level. Shapes:
docs/webhooks.md."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import event_log
from callcenter.complaints.models import Complaint, ComplaintCategory
from callcenter.customers import event_facts
from callcenter.customers.event_facts import iso


async def _common(session: AsyncSession, complaint: Complaint) -> dict:
    category = await session.get(ComplaintCategory, complaint.category_id)
    return {
        "complaint_id": complaint.id, "number": complaint.ticket,
        "category": {"code": category.code, "name": category.name} if category else None,
        "priority": complaint.priority, "status": complaint.status, "level": complaint.level,
        "call_id": complaint.call_id, "customer": await event_facts.customer(session, complaint.customer_id),
        "owner": await event_facts.agent(session, complaint.owner_id), "due_at": iso(complaint.due_at),
    }


async def created(session: AsyncSession, complaint: Complaint, now: dt.datetime) -> None:
    payload = {**await _common(session, complaint),
               "created_by": await event_facts.agent(session, complaint.created_by_id), "created_at": iso(now)}
    event_log.record(session, "complaint.created", payload, entity_id=complaint.id, now=now)


async def escalated(session: AsyncSession, complaint: Complaint, from_level: str, now: dt.datetime) -> None:
    payload = {**await _common(session, complaint), "from_level": from_level,
               "escalations": complaint.escalations, "escalated_at": iso(now)}
    event_log.record(session, "complaint.escalated", payload, entity_id=complaint.id, now=now)
