"""Dispositions: what an agent (or their team lead / manager) records after a
call, connected or not, or without a call (a note). The campaign's form says
where the work item goes; this module moves it there and keeps the record:
the Disposition row, survey scores, an appointment for the store, the
customer's corrected details (old values in the audit), and the call's
``disposed_at`` (the agent may not place another call from a bucket before).
A booked, moved or called-off visit queues the customer's message in the
outbox (callcenter/notifications/appointment_notices.py).

The caller commits; nothing here commits or talks to the network."""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from callcenter import audit
from callcenter.campaigns.forms import validate_form
from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.dispositions import events, exceptions as exc
from callcenter.dispositions.answers import Result, evaluate
from callcenter.models import Call
from callcenter.notifications import appointment_notices
from callcenter.work.calling import item_in_scope, live_call, pending_call
from callcenter.work.exceptions import WorkItemClosed
from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem

log = logging.getLogger(__name__)

REMARKS_MAX = 1000
# a disposition sent again (a retry after a 503, a double click, a lost reply)
# with the same answers within this time is the one already saved, not a new one
REPEAT_WINDOW = dt.timedelta(minutes=15)
UNREACHABLE = "unreachable"  # the item's outcome when a not-talked call was its last allowed one


@dataclass
class Submitted:
    disposition: Disposition
    item: WorkItem
    appointment: Appointment | None
    enriched: dict  # Customer field -> {"old": ..., "new": ...}
    repeated: bool = False  # the same disposition was saved already: nothing new was written


async def submit(session, scope, work_item_id: int, call_id: str | None, answers: dict,
                 remarks: str, actor: str, settings, now: dt.datetime) -> Submitted:
    """Record a disposition for ``work_item_id`` (and the call ``call_id``, which
    must be this item's and have ended). Without ``call_id`` the item's ended,
    undisposed call, if any, is the one disposed; while a call of the item is
    live, a disposition without a call is refused (CallNotEnded, 409)."""
    item = await item_in_scope(session, scope, work_item_id)
    campaign = await session.get(Campaign, item.campaign_id)
    repeat = await _saved_already(session, item, campaign, call_id, answers, remarks, settings, now)
    if repeat is not None:
        log.info("work item %s: disposition %s sent again by %s; kept once", item.id,
                 repeat.disposition.id, actor)
        return repeat
    if item.bucket == "closed":
        raise WorkItemClosed("this work item is closed", work_item_id=item.id)
    call = await _the_call(session, scope, item, call_id)
    if not isinstance(remarks, str) or len(remarks) > REMARKS_MAX:
        raise exc.AnswersInvalid("the answers do not fit the form",
                                 errors={"remarks": f"must be text of at most {REMARKS_MAX} characters"})
    remarks = remarks.strip()
    result = evaluate(validate_form(campaign.form), answers, now, settings.web.timezone,
                      expires_on=campaign.expires_on)
    if not result.ok:
        raise exc.AnswersInvalid("the answers do not fit the form", errors=result.errors)
    agent_id = (call.agent_id if call else None) or item.agent_id or scope.user_id
    if agent_id is None:
        raise exc.NotAllocated("this work item has no agent yet", work_item_id=item.id)
    if call is not None:
        await _claim(session, call, now)
    before = item.bucket
    bucket = _move(item, campaign, result, call, now)
    disposition = await _record(session, item, call, agent_id, result, remarks, now)
    appointment = None
    if bucket == "appointment":
        appointment = await _book(session, settings, item, agent_id, result.appointment_at, remarks, actor, now)
    elif result.bucket == "closed":
        await _call_off(session, settings, item, actor, now)
    enriched = await _enrich(session, item.customer_id, result.enrichment, actor, disposition.id)
    audit.record(session, actor, "disposition.submit", "work_item", item.id,
                 disposition_id=disposition.id, call_id=call.id if call else None,
                 outcome=result.outcome, reason=result.reason, bucket_before=before,
                 bucket_after=bucket, attempts=item.attempts)
    await events.record(session, disposition, campaign, appointment, actor, now)
    await session.flush()
    log.info("work item %s: %s -> %s (%s) by %s", item.id, before, bucket, result.outcome, actor)
    return Submitted(disposition, item, appointment, enriched)


async def _claim(session, call: Call, now: dt.datetime) -> None:
    """Mark the call disposed, once, even against a concurrent submit."""
    claimed = await session.execute(update(Call).where(Call.id == call.id, Call.disposed_at.is_(None))
                                    .values(disposed_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise exc.AlreadyDisposed("this call already has a disposition", call_id=call.id)
    call.disposed_at = now


def _move(item: WorkItem, campaign: Campaign, result: Result, call: Call | None,
          now: dt.datetime) -> str:
    """Move the item to the bucket the answers lead to; returns that bucket."""
    bucket, outcome = result.bucket, result.outcome
    if bucket == "non_contact":
        # attempts = calls placed from the item (counted as each call's row is
        # written, dialer/service.py): the calls ran out without reaching them
        if item.attempts >= campaign.max_attempts:
            bucket, outcome = "closed", UNREACHABLE
            item.next_attempt_at = None
        else:
            item.next_attempt_at = now + dt.timedelta(minutes=campaign.retry_delay_minutes)
    else:
        item.next_attempt_at = None
    item.bucket, item.outcome = bucket, outcome
    item.followup_at = result.followup_at if bucket == "future_followup" else None
    item.appointment_at = result.appointment_at if bucket == "appointment" else None
    if call is not None:
        item.last_call_id = call.id
    item.updated_at = now
    return bucket


async def _record(session, item: WorkItem, call: Call | None, agent_id: int, result: Result,
                  remarks: str, now: dt.datetime) -> Disposition:
    """The Disposition row and its survey scores (flushed: the ids are known)."""
    disposition = Disposition(
        work_item_id=item.id, call_id=call.id if call else None, agent_id=agent_id,
        campaign_id=item.campaign_id, customer_id=item.customer_id, outcome=result.outcome,
        reason=result.reason, bucket_after=item.bucket, answers=result.answers, remarks=remarks,
        followup_at=result.followup_at, appointment_at=result.appointment_at, created_at=now)
    session.add(disposition)
    await session.flush()
    for key, score in result.scores.items():
        session.add(SurveyAnswer(source="agent", disposition_id=disposition.id,
                                 call_id=call.id if call else None, customer_id=item.customer_id,
                                 agent_id=agent_id, campaign_id=item.campaign_id, question=key,
                                 score=score, created_at=now))
    return disposition


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


async def _saved_already(session, item: WorkItem, campaign: Campaign, call_id, answers, remarks,
                         settings, now: dt.datetime) -> Submitted | None:
    """The disposition already saved for this call (or, without a call, the
    item's latest one of the last minutes) when it holds exactly these answers
    and remarks: a retry gets it back instead of a second one or a 409."""
    query = select(Disposition).where(Disposition.work_item_id == item.id)
    if call_id is not None:
        if not isinstance(call_id, str) or len(call_id) > 32:
            return None
        query = query.where(Disposition.call_id == call_id)
    else:
        query = query.where(Disposition.created_at >= now - REPEAT_WINDOW)
    saved = (await session.execute(query.order_by(Disposition.id.desc()).limit(1))).scalar_one_or_none()
    if saved is None or not isinstance(remarks, str) or remarks.strip() != (saved.remarks or ""):
        return None
    result = evaluate(validate_form(campaign.form), answers, now, settings.web.timezone,
                      expires_on=campaign.expires_on)
    if not result.ok or not _same(result.answers, saved.answers):
        return None
    appointment = None
    if saved.bucket_after == "appointment":
        appointment = (await session.execute(select(Appointment).where(
            Appointment.work_item_id == item.id, Appointment.status == "booked")
            .order_by(Appointment.id.desc()).limit(1))).scalar_one_or_none()
    return Submitted(saved, item, appointment, {}, repeated=True)


async def _the_call(session, scope, item: WorkItem, call_id) -> Call | None:
    if call_id is None:
        live = await live_call(session, item.id)
        if live is not None:
            raise exc.CallNotEnded("a call with this customer is still going on: its disposition "
                                   "form opens when it ends", call_id=live.id)
        return await pending_call(session, item.agent_id, item.id)
    if not isinstance(call_id, str) or len(call_id) > 32:
        raise exc.CallNotFound("no such call")
    call = (await session.execute(select(Call).where(Call.id == call_id, scope.calls()))).scalar_one_or_none()
    if call is None:
        raise exc.CallNotFound("no such call")
    if call.work_item_id != item.id:
        raise exc.CallNotForItem("this call was not placed from this work item",
                                 call_id=call.id, work_item_id=item.id)
    if call.state != "ended":
        raise exc.CallNotEnded("the call has not ended yet", call_id=call.id)
    if call.disposed_at is not None:
        raise exc.AlreadyDisposed("this call already has a disposition", call_id=call.id)
    return call


async def _book(session, settings, item: WorkItem, agent_id: int, at: dt.datetime, remarks: str,
                actor: str, now: dt.datetime) -> Appointment:
    """A new appointment at the customer's store; one booked earlier for this
    item is cancelled (rebooked). The customer hears of it once: booked, or
    moved when the earlier visit was still ahead."""
    store_id = item.store_id
    if store_id is None:
        store_id = (await session.execute(select(Customer.store_id).where(
            Customer.id == item.customer_id))).scalar_one_or_none()
    earlier = (await session.execute(select(Appointment).where(
        Appointment.work_item_id == item.id, Appointment.status == "booked"))).scalars().all()
    for old in earlier:
        old.status = "cancelled"
        audit.record(session, actor, "appointment.cancel", "appointment", old.id,
                     reason="rebooked", at=old.at.isoformat())
    appointment = Appointment(work_item_id=item.id, customer_id=item.customer_id, agent_id=agent_id,
                              store_id=store_id, at=at, remarks=remarks, created_at=now)
    session.add(appointment)
    await session.flush()
    audit.record(session, actor, "appointment.book", "appointment", appointment.id,
                 work_item_id=item.id, store_id=store_id, at=at.isoformat())
    await appointment_notices.booked(session, settings, appointment, earlier, now)
    return appointment


async def _call_off(session, settings, item: WorkItem, actor: str, now: dt.datetime) -> None:
    """The customer said they will not come (the form closed the item): a
    visit of theirs still booked ahead is cancelled, and they are told, so
    no reminder goes out for it. One already past is left as it is."""
    ahead = (await session.execute(select(Appointment).where(
        Appointment.work_item_id == item.id, Appointment.status == "booked",
        Appointment.at > now))).scalars().all()
    for appointment in ahead:
        appointment.status = "cancelled"
        audit.record(session, actor, "appointment.cancel", "appointment", appointment.id,
                     reason="closed", at=appointment.at.isoformat())
        await appointment_notices.cancelled(session, settings, appointment, now)


async def _enrich(session, customer_id: int, enrichment: dict, actor: str, disposition_id: int) -> dict:
    """Apply corrected details to the customer; the audit keeps the old values."""
    if not enrichment:
        return {}
    customer = await session.get(Customer, customer_id)
    changes = {}
    for field, value in enrichment.items():
        old = getattr(customer, field)
        if old != value:
            setattr(customer, field, value)
            changes[field] = {"old": _plain(old), "new": _plain(value)}
    if changes:
        audit.record(session, actor, "customer.enrich", "customer", customer_id,
                     disposition_id=disposition_id, changes=changes)
    return changes


def _plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
