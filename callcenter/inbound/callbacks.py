"""Call-backs asked for in the IVR ("press 1 to be called back").

The caller's item in the inbound campaign moves to the future follow-up
bucket, due in :data:`CALLBACK_DUE_MINUTES` (the panel reminds its agent as
it comes due; past it, the sweeper moves it to pending follow-up like any
missed follow-up). Whose buckets: the agent who last spoke with the customer
(in that agent's location's inbound campaign), else nobody yet: unallocated
in the inbound campaign of the queue's location (or of the customer's store's
location), where its manager allocates it. A caller who chose their language
in the IVR is called back in it: an agent who does not speak it (routing's
``CallerLanguage``) is neither given the call-back nor left holding it. A
caller who is not a customer yet becomes one (by their number) so there is
someone to call back; a caller with no usable number is never offered a
call-back (``hooks.callback_offered``)."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callcenter import audit
from callcenter.customers.models import Customer
from callcenter.inbound import items, routing
from callcenter.inbound.service import LiveCall
from callcenter.models import User
from callcenter.org.models import Store

log = logging.getLogger(__name__)
CALLBACK_DUE_MINUTES = 30


async def customer_for(session, mobile: str, language: str | None, reason: str) -> Customer:
    """The customer with this E.164 mobile, made (nameless) when there is none."""
    found = (await session.scalars(select(Customer).where(Customer.mobile == mobile))).first()
    if found is not None:
        return found
    customer = Customer(mobile=mobile, name="", language=language, data={})  # the audit says where from
    try:
        async with session.begin_nested():
            session.add(customer)
    except IntegrityError:  # made by another server a moment ago
        return (await session.scalars(select(Customer).where(Customer.mobile == mobile))).one()
    audit.record(session, items.ACTOR, "customer.create", "customer", customer.id, source=reason,
                 language=language)
    return customer


async def request(sessions, settings, entry: LiveCall, now: dt.datetime | None = None, *,
                  language_chosen: bool = False) -> tuple[int, int | None] | None:
    """Book the call-back; returns (work item id, agent id or None), or None
    when the caller has no number to call back. ``language_chosen``: the
    caller pressed ``entry.language`` in the IVR's menu."""
    if entry.caller is None:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    async with sessions() as session, session.begin():
        if entry.customer_id is not None:
            customer = await session.get(Customer, entry.customer_id)
        else:
            customer = await customer_for(session, entry.caller, entry.language, "inbound call-back")
        caller_language = routing.CallerLanguage(entry.language, language_chosen)
        agent = await routing.last_agent(session, customer.id)
        if agent is not None and not caller_language.suits(agent):
            agent = None  # the queue's location allocates it to someone who speaks the language
        if agent is not None:
            location_id = agent.location_id
        elif entry.queue_location_id is not None:
            location_id = entry.queue_location_id
        else:
            location_id = (await session.scalar(select(Store.location_id).where(Store.id == customer.store_id))
                           if customer.store_id is not None else None)
        campaign = await items.inbound_campaign(session, location_id, settings)
        item = await items.customer_item(session, campaign, customer, agent.id if agent else None,
                                         reason="call-back requested", keep_agent=agent is None)
        if agent is None and item.agent_id is not None and language_chosen:
            holder = await session.get(User, item.agent_id)
            if holder is None or not caller_language.suits(holder):
                items.release(session, item, f"call-back in {entry.language}, which the agent does not speak")
        item.bucket, item.outcome = "future_followup", "callback_requested"
        item.followup_at = now + dt.timedelta(minutes=CALLBACK_DUE_MINUTES)
        item.next_attempt_at, item.appointment_at, item.updated_at = None, None, now
        item.language = item.language or entry.language
        await session.flush()
        audit.record(session, items.ACTOR, "inbound.callback", "work_item", item.id, inbound_call_id=entry.id,
                     customer_id=customer.id, agent_id=item.agent_id, campaign_id=campaign.id,
                     followup_at=item.followup_at.isoformat())
        result = (item.id, item.agent_id)
    entry.customer_id, entry.callback_item_id = customer.id, result[0]
    log.info("inbound call %s: call-back booked as work item %s for %s", entry.id, result[0],
             f"agent {result[1]}" if result[1] else "allocation")
    return result
