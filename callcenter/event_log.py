"""What happened, for the client's own systems: a row per business event
(call ended, disposition saved, appointment booked, complaint created or
escalated, customer erased), written by :func:`record` in the caller's
transaction, so an event exists if and only if the change it reports was
committed. Consumers (the webhooks feature) take the rows not yet handed on
(``handed_at`` empty, the ix_event_pending index finds them) and mark them;
no cursor over ids, which a second server's later commit of a lower id would
slip past.

The payload is what a receiver gets: plain JSON, ids and ISO 8601 times, a
customer's mobile only as the last four digits (the receiver's CRM knows the
customer by ``customer_id`` or its own reference)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import Event
from callcenter.orm import utcnow

KINDS = ("call.ended", "disposition.saved", "appointment.booked", "complaint.created",
         "complaint.escalated", "customer.erased")


def record(session: AsyncSession, kind: str, payload: dict, *, entity_id: object = "",
           now: dt.datetime | None = None) -> Event:
    """Add the event to ``session`` (no flush, no commit)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    row = Event(kind=kind, entity_id=str(entity_id)[:64], payload=payload, at=now or utcnow())
    session.add(row)
    return row
