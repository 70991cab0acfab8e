"""The ``call.ended`` event completed as it is handed on: the call writer
records only what it knows (one INSERT on the call path, dialer/call_rows.py);
the agent, customer, campaign or queue are read here, off the call path, and
the completed payload is kept in the event row (what the receivers got)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.customers import event_facts
from callcenter.customers.event_facts import iso
from callcenter.customers.models import Customer
from callcenter.inbound.models import InboundCall
from callcenter.models import Call, User
from callcenter.queues.models import Queue


def is_complete(payload: dict) -> bool:
    return "direction" in payload


async def preload(session: AsyncSession, payloads: list[dict]) -> list:
    """Load the calls, campaigns, customers and agents these events name in
    four queries, so that :func:`complete` finds them in the session (a batch
    of events cost four single-row queries each before). The caller keeps the
    list returned while it completes them: the session holds its objects only
    weakly."""
    call_ids = {str(p.get("call_id", "")) for p in payloads if not is_complete(p)}
    if not call_ids:
        return []
    loaded = list((await session.scalars(select(Call).where(Call.id.in_(call_ids)))).all())
    for model, ids in ((Campaign, {c.campaign_id for c in loaded}), (Customer, {c.customer_id for c in loaded}),
                       (User, {c.agent_id for c in loaded})):
        ids.discard(None)
        if ids:
            loaded.extend((await session.scalars(select(model).where(model.id.in_(ids)))).all())
    return loaded


async def complete(session: AsyncSession, payload: dict) -> dict:
    call = await session.get(Call, str(payload.get("call_id", "")))
    if call is None:
        return payload
    queue = None
    if call.inbound_call_id:
        row = (await session.execute(select(Queue.id, Queue.name).join(InboundCall, InboundCall.queue_id == Queue.id)
                                     .where(InboundCall.id == call.inbound_call_id))).first()
        queue = {"id": row.id, "name": row.name} if row else None
    campaign = await session.get(Campaign, call.campaign_id) if call.campaign_id else None
    customer = await event_facts.customer(session, call.customer_id) or {
        "id": None, "mobile_last4": (call.number or "")[-4:], "reference": {}}
    return {
        "call_id": call.id, "direction": call.direction, "work_item_id": call.work_item_id,
        "campaign": {"id": campaign.id, "name": campaign.name} if campaign else None, "queue": queue,
        "agent": await event_facts.agent(session, call.agent_id), "customer": customer,
        "requested_at": iso(call.requested_at), "answered_at": iso(call.customer_answered_at),
        "ended_at": payload.get("ended_at") or iso(call.ended_at),
        "end_reason": payload.get("end_reason") or call.end_reason,
        "talk_seconds": payload.get("talk_seconds", call.talk_seconds),
        "ring_seconds": payload.get("ring_seconds", call.ring_seconds),
        "hangup_by": payload.get("hangup_by") or call.hangup_by,
    }
