"""Inbound work: each location has one campaign of type ``inbound_callback``
("Inbound · north"), made on demand, holding one work item per customer who
called in or asked for a call-back. The item is how an inbound call fits the
panel's rules: the agent the call rings holds the item (so the caller's 360
page is theirs to open before they answer), the answered call is linked to
it and owes a disposition like a click-to-call from a bucket, and a call-back
is the same item in the future follow-up bucket.

Nothing here commits; the caller owns the transaction."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callcenter import audit
from callcenter.campaigns.forms import default_form
from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.org.models import Location
from callcenter.work.buckets import local_today
from callcenter.work.models import WorkItem

log = logging.getLogger(__name__)

CAMPAIGN_TYPE = "inbound_callback"
ACTOR = "inbound"
OPEN_YEARS = 10  # the campaign stays callable this long (it is never "done")


def campaign_name(location: Location | None) -> str:
    return f"Inbound · {location.code}" if location is not None else "Inbound · all locations"


async def inbound_campaign(session, location_id: int | None, settings) -> Campaign:
    """The location's open inbound campaign (None: the organisation's), made
    when missing. Two servers making it at once: the second finds the first's."""
    query = select(Campaign).where(Campaign.type == CAMPAIGN_TYPE, Campaign.status == "active",
                                   Campaign.location_id.is_(None) if location_id is None
                                   else Campaign.location_id == location_id).order_by(Campaign.id).limit(1)
    found = (await session.scalars(query)).first()
    if found is not None:
        return found
    location = await session.get(Location, location_id) if location_id is not None else None
    today = local_today(settings.web.timezone)
    name = campaign_name(location)
    if (await session.scalar(select(Campaign.id).where(Campaign.name == name))) is not None:
        name = f"{name} · {today.isoformat()}"  # the first one was paused or closed by a manager
    campaign = Campaign(name=name, type=CAMPAIGN_TYPE, starts_on=today,
                        expires_on=dt.date(today.year + OPEN_YEARS, 12, 31), trunk_id=None,
                        calling_mode="agent", location_id=location_id, form=default_form(CAMPAIGN_TYPE),
                        retry_delay_minutes=settings.work.retry_delay_minutes,
                        max_attempts=settings.work.max_attempts, status="active", created_by=ACTOR)
    try:
        async with session.begin_nested():
            session.add(campaign)
    except IntegrityError:
        found = (await session.scalars(query)).first()
        if found is None:
            raise
        return found
    audit.record(session, ACTOR, "campaign.create", "campaign", campaign.id, name=campaign.name,
                 type=CAMPAIGN_TYPE, location_id=location_id, reason="first inbound call or call-back")
    log.info("inbound campaign %s made for location %s", campaign.name, location_id)
    return campaign


async def customer_item(session, campaign: Campaign, customer: Customer, agent_id: int | None, *,
                        reason: str, keep_agent: bool = False) -> WorkItem:
    """The customer's item in ``campaign``, made when missing, held by
    ``agent_id`` (``keep_agent``: an item someone holds stays theirs). A
    closed item opens again as fresh work: the customer is back."""
    now = dt.datetime.now(dt.timezone.utc)
    item = (await session.scalars(select(WorkItem).where(WorkItem.campaign_id == campaign.id,
                                                         WorkItem.customer_id == customer.id))).first()
    if item is None:
        item = WorkItem(campaign_id=campaign.id, customer_id=customer.id, agent_id=agent_id, bucket="fresh",
                        store_id=customer.store_id, language=customer.language,
                        allocated_at=now if agent_id else None)
        try:
            async with session.begin_nested():
                session.add(item)
        except IntegrityError:  # another server made it a moment ago
            item = (await session.scalars(select(WorkItem).where(
                WorkItem.campaign_id == campaign.id, WorkItem.customer_id == customer.id))).one()
        else:
            audit.record(session, ACTOR, "work_item.create", "work_item", item.id, campaign_id=campaign.id,
                         customer_id=customer.id, agent_id=agent_id, reason=reason)
            return item
    before = (item.agent_id, item.bucket)
    if item.bucket == "closed":
        item.bucket, item.outcome, item.followup_at, item.appointment_at = "fresh", None, None, None
    if agent_id is not None and item.agent_id != agent_id and not (keep_agent and item.agent_id is not None):
        item.agent_id, item.allocated_at = agent_id, now
    if (item.agent_id, item.bucket) != before:
        item.updated_at = now
        audit.record(session, ACTOR, "work_item.assign", "work_item", item.id, agent_before=before[0],
                     agent_after=item.agent_id, bucket_before=before[1], bucket_after=item.bucket, reason=reason)
    return item


def release(session, item: WorkItem, reason: str) -> None:
    """Take the item from its agent: unallocated, for the campaign's manager to allocate."""
    before = item.agent_id
    if before is None:
        return
    item.agent_id, item.allocated_at = None, None
    item.updated_at = dt.datetime.now(dt.timezone.utc)
    audit.record(session, ACTOR, "work_item.assign", "work_item", item.id, agent_before=before, agent_after=None,
                 bucket_before=item.bucket, bucket_after=item.bucket, reason=reason)
    log.info("work item %s taken from agent %s: %s", item.id, before, reason)
