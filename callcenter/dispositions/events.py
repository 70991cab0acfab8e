"""The business events of a saved disposition (callcenter/event_log.py),
recorded in the disposition's transaction: ``disposition.saved`` always,
``appointment.booked`` when it books one. Shapes: docs/webhooks.md."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import event_log
from callcenter.campaigns.models import Campaign
from callcenter.customers import event_facts
from callcenter.customers.event_facts import iso
from callcenter.org.models import Store
from callcenter.work.models import Appointment, Disposition


async def record(session: AsyncSession, disposition: Disposition, campaign: Campaign,
                 appointment: Appointment | None, actor: str, now: dt.datetime) -> None:
    common = {
        "work_item_id": disposition.work_item_id, "call_id": disposition.call_id,
        "campaign": {"id": campaign.id, "name": campaign.name},
        "agent": await event_facts.agent(session, disposition.agent_id),
        "customer": await event_facts.customer(session, disposition.customer_id),
    }
    event_log.record(session, "disposition.saved", {
        "disposition_id": disposition.id, **common, "outcome": disposition.outcome,
        "reason": disposition.reason, "bucket": disposition.bucket_after, "answers": disposition.answers,
        "followup_at": iso(disposition.followup_at), "appointment_at": iso(disposition.appointment_at),
        "saved_by": actor, "saved_at": iso(now)}, entity_id=disposition.id, now=now)
    if appointment is not None:
        store = await session.get(Store, appointment.store_id) if appointment.store_id else None
        event_log.record(session, "appointment.booked", {
            "appointment_id": appointment.id, "disposition_id": disposition.id, **common,
            "at": iso(appointment.at), "store": {"id": store.id, "code": store.code} if store else None,
            "booked_at": iso(now)}, entity_id=appointment.id, now=now)
