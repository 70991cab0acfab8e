"""The webhooks' part of erasing a customer (callcenter/customers/erasure.py):
the events about them and the deliveries' stored bodies lose the customer's
upload reference and the disposition answers the erasure drops (the
answers are taken again from the disposition row the work's eraser has just
cleaned); the customer's id and the mobile's last four digits stay, as they
do on the masked call rows. Deliveries not sent yet go out scrubbed; a
receiver learns of the erasure itself from ``customer.erased``."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import Event
from callcenter.webhooks.deliveries import body_of
from callcenter.webhooks.models import WebhookDelivery
from callcenter.work.models import Disposition


async def _answers(session: AsyncSession, event: Event) -> dict:
    answers = await session.scalar(select(Disposition.answers).where(
        Disposition.id == event.payload.get("disposition_id")))
    return dict(answers or {})


async def erase_webhooks(session: AsyncSession, customer_id: int, numbers: list[str]) -> dict[str, int]:
    about = Event.payload["customer"]["id"].as_integer() == customer_id
    events = (await session.scalars(select(Event).where(about))).all()
    for event in events:
        payload = dict(event.payload)
        payload["customer"] = {**payload["customer"], "reference": {}}
        if event.kind == "disposition.saved":
            payload["answers"] = await _answers(session, event)
        event.payload = payload
        bodies = (await session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event.id))).all()
        for delivery in bodies:
            delivery.body = body_of(event.id, event.kind, event.at, payload)
    return {"webhook_events_scrubbed": len(events)}


