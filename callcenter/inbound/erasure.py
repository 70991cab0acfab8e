"""The inbound calls' part of erasing a customer (callcenter/customers/erasure.py):
the caller's number of their inbound calls (linked to them or from their
numbers) is masked to its last four digits; the rows stay for the reports."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.inbound.models import InboundCall


async def erase_inbound(session: AsyncSession, customer_id: int, numbers: list[str]) -> dict[str, int]:
    theirs = InboundCall.customer_id == customer_id
    if numbers:
        theirs = or_(theirs, InboundCall.caller.in_(numbers))
    calls = (await session.scalars(select(InboundCall).where(theirs))).all()
    for call in calls:
        call.caller = "xxxxxx" + call.caller[-4:] if call.caller else None
    return {"inbound_calls_masked": len(calls)}
