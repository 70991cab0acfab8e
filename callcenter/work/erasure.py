"""The work's part of erasing a customer (callcenter/customers/erasure.py):
their open work items are closed (outcome "erased": no bucket lists them,
allocation skips closed items and a closed item cannot be called), booked
appointments are cancelled (no reminder goes out), and the free text typed
about them (disposition and appointment remarks, survey answers' text) is
cleared. Outcomes, reasons, scores and times stay: the reports count them."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem


async def erase_work(session: AsyncSession, customer_id: int, numbers: list[str]) -> dict[str, int]:
    closed = await session.execute(
        update(WorkItem).where(WorkItem.customer_id == customer_id, WorkItem.bucket != "closed")
        .values(bucket="closed", outcome="erased", followup_at=None, next_attempt_at=None,
                appointment_at=None)
        .execution_options(synchronize_session=False))
    remarks = await session.execute(
        update(Disposition).where(Disposition.customer_id == customer_id, Disposition.remarks != "")
        .values(remarks="").execution_options(synchronize_session=False))
    cancelled = await session.execute(
        update(Appointment).where(Appointment.customer_id == customer_id, Appointment.status == "booked")
        .values(status="cancelled").execution_options(synchronize_session=False))
    await session.execute(
        update(Appointment).where(Appointment.customer_id == customer_id)
        .values(remarks="").execution_options(synchronize_session=False))
    await session.execute(
        update(SurveyAnswer).where(SurveyAnswer.customer_id == customer_id, SurveyAnswer.text.is_not(None))
        .values(text=None).execution_options(synchronize_session=False))
    return {"work_items_closed": closed.rowcount, "remarks_cleared": remarks.rowcount,
            "appointments_cancelled": cancelled.rowcount}
