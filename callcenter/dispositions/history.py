"""A customer's history for the 360 (callcenter/customers/profile.py): the
work items per campaign with their bucket, every earlier call with its
disposition, talk time and recording, notes (dispositions without a call),
appointments and survey answers.

Each call, disposition, appointment and survey answer is shown when it
belongs to a work item in scope or was made by someone in scope; a
recording link only for a call in scope (what the recording API itself
allows). The 360 opens a customer the caller reaches through the work."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.customers.privacy import mobile_for
from callcenter.models import Call, User
from callcenter.org.models import Store
from callcenter.org.scope import Scope
from callcenter.work import scope as work_scope
from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem

HISTORY_LIMIT = 100


def _utc(value):
    """SQLite hands timestamps back without their offset; they are UTC."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def customers_in(scope: Scope):
    """Clause on Customer: the customers the caller reaches through the work."""
    return work_scope.customers_in(scope)


async def of_customer(session: AsyncSession, scope: Scope, settings, role: str,
                      customer: Customer) -> dict:
    """{"work_items", "calls", "notes", "appointments", "survey_answers"} of
    ``customer``, as much as ``scope`` may see (mobiles masked per ``role``)."""
    items_in_scope = select(WorkItem.id).where(WorkItem.customer_id == customer.id,
                                               work_scope.items_in(scope))
    items = (await session.execute(
        select(WorkItem, Campaign, User.name, User.display_name)
        .join(Campaign, Campaign.id == WorkItem.campaign_id)
        .outerjoin(User, User.id == WorkItem.agent_id)
        .where(WorkItem.customer_id == customer.id, work_scope.items_in(scope))
        .order_by(WorkItem.bucket == "closed", Campaign.expires_on.desc(), WorkItem.id))).all()
    calls = (await session.execute(
        select(Call, User.name, User.display_name, scope.calls().label("in_scope"))
        .join(User, User.id == Call.agent_id)
        .where(or_(Call.customer_id == customer.id, Call.number == customer.mobile),
               or_(scope.calls(), Call.work_item_id.in_(items_in_scope)))
        .order_by(Call.requested_at.desc()).limit(HISTORY_LIMIT))).all()
    dispositions = await _dispositions(session, scope, customer, items_in_scope)
    appointments = await _appointments(session, scope, customer, items_in_scope)
    answers = await _survey_answers(session, customer, [d.id for d, _ in dispositions])
    by_call = {d.call_id: (d, name) for d, name in dispositions if d.call_id}
    campaign_names = {c.id: c.name for _, c, _, _ in items}
    return {
        "work_items": [_item(item, campaign, display or name) for item, campaign, name, display in items],
        "calls": [_call(call, display or name, in_scope, by_call.get(call.id), settings, role,
                        campaign_names) for call, name, display, in_scope in calls],
        "notes": [_disposition(d, name) for d, name in dispositions if d.call_id is None],
        "appointments": [{
            "id": a.id, "work_item_id": a.work_item_id, "at": _utc(a.at), "status": a.status,
            "store": code, "remarks": a.remarks, "created_at": _utc(a.created_at),
        } for a, code in appointments],
        "survey_answers": [{
            "question": s.question, "score": s.score, "text": s.text, "source": s.source,
            "campaign_id": s.campaign_id, "call_id": s.call_id, "created_at": _utc(s.created_at),
        } for s in answers],
    }


async def _dispositions(session: AsyncSession, scope: Scope, customer: Customer, items_in_scope):
    return (await session.execute(
        select(Disposition, User.name).join(User, User.id == Disposition.agent_id)
        .where(Disposition.customer_id == customer.id,
               or_(Disposition.work_item_id.in_(items_in_scope), scope.owned_by(Disposition.agent_id)))
        .order_by(Disposition.created_at.desc()).limit(HISTORY_LIMIT))).all()


async def _appointments(session: AsyncSession, scope: Scope, customer: Customer, items_in_scope):
    return (await session.execute(
        select(Appointment, Store.code).outerjoin(Store, Store.id == Appointment.store_id)
        .where(Appointment.customer_id == customer.id,
               or_(Appointment.work_item_id.in_(items_in_scope), scope.owned_by(Appointment.agent_id)))
        .order_by(Appointment.at.desc()).limit(HISTORY_LIMIT))).all()


async def _survey_answers(session: AsyncSession, customer: Customer, visible_dispositions: list[int]):
    """The agents' answers of the dispositions shown, and every other source's (the IVR's)."""
    return (await session.execute(
        select(SurveyAnswer).where(
            SurveyAnswer.customer_id == customer.id,
            or_(SurveyAnswer.disposition_id.in_(visible_dispositions) if visible_dispositions else false(),
                SurveyAnswer.source != "agent"))
        .order_by(SurveyAnswer.created_at.desc(), SurveyAnswer.id).limit(HISTORY_LIMIT * 10))).scalars().all()


def _item(item: WorkItem, campaign: Campaign, agent: str | None) -> dict:
    return {
        "id": item.id, "campaign_id": campaign.id, "campaign": campaign.name,
        "campaign_type": campaign.type, "campaign_status": campaign.status,
        "expires_on": campaign.expires_on, "bucket": item.bucket, "outcome": item.outcome,
        "agent": agent, "agent_id": item.agent_id, "attempts": item.attempts,
        "next_attempt_at": _utc(item.next_attempt_at), "followup_at": _utc(item.followup_at),
        "appointment_at": _utc(item.appointment_at), "last_call_id": item.last_call_id,
    }


def _call(call, agent: str, in_scope: bool, disposition, settings, role, campaign_names) -> dict:
    return {
        "id": call.id, "agent": agent, "number": mobile_for(settings, role, call.number),
        "direction": call.direction or "outbound", "state": call.state, "end_reason": call.end_reason,
        "work_item_id": call.work_item_id,
        "campaign": campaign_names.get(call.campaign_id),
        "requested_at": _utc(call.requested_at), "connected_at": _utc(call.customer_answered_at),
        "ended_at": _utc(call.ended_at), "talk_seconds": call.talk_seconds,
        "recording_url": f"/api/v1/calls/{call.id}/recording" if call.recording_id and in_scope else None,
        "disposed_at": _utc(call.disposed_at),
        "disposition": _disposition(*disposition) if disposition else None,
    }


def _disposition(d, agent: str) -> dict:
    return {"id": d.id, "work_item_id": d.work_item_id, "call_id": d.call_id, "agent": agent,
            "outcome": d.outcome, "reason": d.reason, "bucket_after": d.bucket_after,
            "answers": d.answers, "remarks": d.remarks, "followup_at": _utc(d.followup_at),
            "appointment_at": _utc(d.appointment_at), "created_at": _utc(d.created_at)}
