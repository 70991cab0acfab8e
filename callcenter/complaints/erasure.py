"""The complaints' part of erasing a customer (callcenter/customers/erasure.py):
their complaints keep ticket, category, priority, level and times (the SLA
reports count them) but lose every free text (description, resolution, the
history's notes); an open one is closed, so it neither escalates nor sends
the customer a notice."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.complaints.models import Complaint, ComplaintEvent
from callcenter.orm import utcnow

ERASED_TEXT = "(erased with the customer's data)"


async def erase_complaints(session: AsyncSession, customer_id: int, numbers: list[str]) -> dict[str, int]:
    complaints = (await session.scalars(select(Complaint).where(Complaint.customer_id == customer_id))).all()
    now = utcnow()
    closed = 0
    for complaint in complaints:
        complaint.description = ERASED_TEXT
        complaint.resolution = ""
        if complaint.status not in ("resolved", "closed"):
            complaint.status, complaint.resolved_at = "closed", complaint.resolved_at or now
            closed += 1
    if complaints:
        await session.execute(
            update(ComplaintEvent).where(ComplaintEvent.complaint_id.in_([c.id for c in complaints]))
            .values(note="").execution_options(synchronize_session=False))
    return {"complaints_cleared": len(complaints), "complaints_closed": closed}
