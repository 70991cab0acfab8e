"""The work's part of erasing a customer (callcenter/customers/erasure.py):
their open work items are closed (outcome "erased": no bucket lists them,
allocation skips closed items and a closed item cannot be called), booked
appointments are cancelled (no reminder goes out), and the free text typed
about them (disposition and appointment remarks, survey answers' text) is
cleared, and so are the answers that may carry personal data (text, phone
and date questions, any that enriches the customer, any the form no longer
names). Outcomes, reasons, choices, scores and times stay: the reports count them."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem


async def erase_work(session: AsyncSession, customer_id: int, numbers: list[str]) -> dict[str, int]:
    closed = await session.execute(
        update(WorkItem).where(WorkItem.customer_id == customer_id, WorkItem.bucket != "closed")
        .values(bucket="closed", outcome="erased", followup_at=None, next_attempt_at=None,
                appointment_at=None)
        .execution_options(synchronize_session=False))
    remarks = await _dispositions(session, customer_id)
    cancelled = await session.execute(
        update(Appointment).where(Appointment.customer_id == customer_id, Appointment.status == "booked")
        .values(status="cancelled").execution_options(synchronize_session=False))
    await session.execute(
        update(Appointment).where(Appointment.customer_id == customer_id)
        .values(remarks="").execution_options(synchronize_session=False))
    await session.execute(
        update(SurveyAnswer).where(SurveyAnswer.customer_id == customer_id, SurveyAnswer.text.is_not(None))
        .values(text=None).execution_options(synchronize_session=False))
    return {"work_items_closed": closed.rowcount, "remarks_cleared": remarks,
            "appointments_cancelled": cancelled.rowcount}


KEPT_KINDS = ("choice", "rating", "nps", "language", "datetime")


def _kept_keys(form: dict | None) -> set[str]:
    return {q.get("key") for q in (form or {}).get("questions", [])
            if isinstance(q, dict) and q.get("kind") in KEPT_KINDS and not q.get("enriches")}


async def _dispositions(session: AsyncSession, customer_id: int) -> int:
    """Remarks and personal answers cleared; how many dispositions had remarks."""
    rows = (await session.execute(select(Disposition, Campaign.form)
                                  .join(Campaign, Campaign.id == Disposition.campaign_id)
                                  .where(Disposition.customer_id == customer_id))).all()
    cleared = 0
    for disposition, form in rows:
        cleared += disposition.remarks != ""
        disposition.remarks = ""
        kept = _kept_keys(form)
        disposition.answers = {k: v for k, v in (disposition.answers or {}).items() if k in kept}
    return cleared
