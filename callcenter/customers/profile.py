"""The customer 360: everything about one customer the caller may see, on one
page: profile (mobile masked per role), store, the upload's data, the work
items per campaign with their bucket, every earlier call with its
disposition, talk time and recording, appointments and survey answers.

What is shown follows the hierarchy: the customer must be in the caller's
scope (else 404), and each call, disposition, appointment and survey answer
is shown when it belongs to a work item in scope or was made by someone in
scope; a recording link only for a call in scope (what the recording API
itself allows). Every view is audited ('customer.view')."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import false, or_, select

from callcenter import audit
from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer, DndNumber
from callcenter.customers.privacy import mobile_for, shows_mobile
from callcenter.errors import DomainError
from callcenter.models import Call, User
from callcenter.org.models import Store
from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem

HISTORY_LIMIT = 100


class CustomerNotFound(DomainError):
    """No such customer, or not in the caller's scope (ids do not leak)."""
    error_id = "customer_not_found"
    status = 404


def _utc(value):
    """SQLite hands timestamps back without their offset; they are UTC."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


async def profile(session, scope, settings, role: str, customer_id: int, *,
                  actor: str | None = None, work_item_id: int | None = None) -> dict:
    """The 360 of ``customer_id`` as ``role`` may see it. With ``actor`` the
    view is audited (the caller commits)."""
    customer = (await session.execute(select(Customer).where(
        Customer.id == customer_id, scope.customers()))).scalar_one_or_none()
    if customer is None:
        raise CustomerNotFound("no such customer", customer_id=customer_id)
    store = await session.get(Store, customer.store_id) if customer.store_id else None
    dnd = (await session.execute(select(DndNumber.number).where(
        DndNumber.number == customer.mobile))).first() is not None
    items_in_scope = select(WorkItem.id).where(WorkItem.customer_id == customer.id, scope.work_items())

    items = (await session.execute(
        select(WorkItem, Campaign, User.name, User.display_name)
        .join(Campaign, Campaign.id == WorkItem.campaign_id)
        .outerjoin(User, User.id == WorkItem.agent_id)
        .where(WorkItem.customer_id == customer.id, scope.work_items())
        .order_by(WorkItem.bucket == "closed", Campaign.expires_on.desc(), WorkItem.id))).all()

    calls = (await session.execute(
        select(Call, User.name, User.display_name, scope.calls().label("in_scope"))
        .join(User, User.id == Call.agent_id)
        .where(or_(Call.customer_id == customer.id, Call.number == customer.mobile),
               or_(scope.calls(), Call.work_item_id.in_(items_in_scope)))
        .order_by(Call.requested_at.desc()).limit(HISTORY_LIMIT))).all()

    dispositions = (await session.execute(
        select(Disposition, User.name).join(User, User.id == Disposition.agent_id)
        .where(Disposition.customer_id == customer.id,
               or_(Disposition.work_item_id.in_(items_in_scope), scope.owned_by(Disposition.agent_id)))
        .order_by(Disposition.created_at.desc()).limit(HISTORY_LIMIT))).all()
    by_call = {d.call_id: (d, name) for d, name in dispositions if d.call_id}

    appointments = (await session.execute(
        select(Appointment, Store.code).outerjoin(Store, Store.id == Appointment.store_id)
        .where(Appointment.customer_id == customer.id,
               or_(Appointment.work_item_id.in_(items_in_scope), scope.owned_by(Appointment.agent_id)))
        .order_by(Appointment.at.desc()).limit(HISTORY_LIMIT))).all()

    visible_dispositions = [d.id for d, _ in dispositions]
    answers = (await session.execute(
        select(SurveyAnswer).where(
            SurveyAnswer.customer_id == customer.id,
            or_(SurveyAnswer.disposition_id.in_(visible_dispositions) if visible_dispositions else false(),
                SurveyAnswer.source != "agent"))
        .order_by(SurveyAnswer.created_at.desc(), SurveyAnswer.id).limit(HISTORY_LIMIT * 10))).scalars().all()

    if actor is not None:
        audit.record(session, actor, "customer.view", "customer", customer.id,
                     work_item_id=work_item_id)
    campaign_names = {c.id: c.name for _, c, _, _ in items}
    return {
        "customer": {
            "id": customer.id, "name": customer.name,
            "mobile": mobile_for(settings, role, customer.mobile),
            "mobile_masked": not shows_mobile(settings, role),
            "alternate_mobile": mobile_for(settings, role, customer.alternate_mobile),
            "email": customer.email, "language": customer.language, "city": customer.city,
            "birthday": customer.birthday, "anniversary": customer.anniversary, "dnd": dnd,
        },
        "store": {"id": store.id, "code": store.code, "name": store.name, "city": store.city,
                  "language": store.language} if store else None,
        "data": dict(customer.data or {}),
        "work_items": [{
            "id": item.id, "campaign_id": campaign.id, "campaign": campaign.name,
            "campaign_type": campaign.type, "campaign_status": campaign.status,
            "expires_on": campaign.expires_on, "bucket": item.bucket, "outcome": item.outcome,
            "agent": display or name, "agent_id": item.agent_id, "attempts": item.attempts,
            "next_attempt_at": _utc(item.next_attempt_at), "followup_at": _utc(item.followup_at),
            "appointment_at": _utc(item.appointment_at), "last_call_id": item.last_call_id,
        } for item, campaign, name, display in items],
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


def _call(call, agent: str, in_scope: bool, disposition, settings, role, campaign_names) -> dict:
    return {
        "id": call.id, "agent": agent, "number": mobile_for(settings, role, call.number),
        "state": call.state, "end_reason": call.end_reason, "work_item_id": call.work_item_id,
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
