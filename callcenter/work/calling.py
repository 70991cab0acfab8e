"""Calling a customer from a work item: the checks of the work (scope, the
campaign callable today, no disposition owed) and then the click-to-call of
the foundation (``services.dialer.place``) through the campaign's trunk and
calling mode, with the call row linked to the item, customer and campaign;
and the calls of work items still waiting for their disposition.

The DND check is the dialer's (it refuses a DND number on every call, whoever
asks); the agent-busy and channel checks are the dialer's too."""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import select

from callcenter.campaigns.models import Campaign
from callcenter.campaigns.service import not_callable_reason
from callcenter.customers.models import Customer
from callcenter.models import Call, Trunk, User, utcnow
from callcenter.work import exceptions as exc
from callcenter.work.models import WorkItem
from callcenter.work.scope import items_in
from dialer.exceptions import Forbidden

log = logging.getLogger(__name__)


async def item_in_scope(session, scope, work_item_id) -> WorkItem:
    """The work item if the caller's scope holds it, else WorkItemNotFound (404)."""
    if not isinstance(work_item_id, int) or isinstance(work_item_id, bool):
        raise exc.WorkItemNotFound("no such work item")
    item = (await session.execute(select(WorkItem).where(
        WorkItem.id == work_item_id, items_in(scope)))).scalar_one_or_none()
    if item is None:
        raise exc.WorkItemNotFound("no such work item")
    return item


async def pending_call(session, agent_id: int | None, work_item_id: int | None = None,
                       ended_only: bool = True) -> Call | None:
    """The agent's latest call placed from a work item that has no disposition
    yet (optionally: for this item; ``ended_only=False``: live ones too, as the
    database may learn of an end a moment after the agent does)."""
    if agent_id is None:
        return None
    query = select(Call).where(Call.agent_id == agent_id, Call.work_item_id.is_not(None),
                               Call.disposed_at.is_(None))
    if ended_only:
        query = query.where(Call.state == "ended")
    if work_item_id is not None:
        query = query.where(Call.work_item_id == work_item_id)
    return (await session.execute(query.order_by(Call.requested_at.desc()).limit(1))).scalar_one_or_none()


async def live_call(session, work_item_id: int) -> Call | None:
    """A call placed from this item that has not ended yet: its disposition
    (the form opens when it ends) is the only one the item may take meanwhile."""
    return (await session.execute(select(Call).where(
        Call.work_item_id == work_item_id, Call.state != "ended", Call.disposed_at.is_(None))
        .order_by(Call.requested_at.desc()).limit(1))).scalar_one_or_none()


async def owed_disposition(session, user_id: int | None):
    """The call (from a work item) this user still owes a disposition for, or None."""
    return await pending_call(session, user_id, ended_only=False)


def disposition_required(call) -> exc.DispositionRequired:
    return exc.DispositionRequired(
        "submit the disposition of your last call before the next one",
        call_id=call.id, work_item_id=call.work_item_id, call_state=call.state)


async def call_from_item(services, scope, principal, work_item_id: int,
                         now: dt.datetime | None = None):
    """Place the click-to-call for ``work_item_id``, ringing the caller's own
    phone. Returns (call, agent, trunk, item) as placed."""
    now = now or utcnow()
    if principal.user_id is None:
        raise Forbidden("a call from a work item rings the caller's own phone: sign in as a user")
    today = now.astimezone(ZoneInfo(services.settings.web.timezone)).date()
    async with services.sessions() as session:
        item = await item_in_scope(session, scope, work_item_id)
        if item.bucket == "closed":
            raise exc.WorkItemClosed("this work item is closed", work_item_id=item.id)
        campaign = await session.get(Campaign, item.campaign_id)
        reason = not_callable_reason(campaign, today)
        if reason is not None:
            raise exc.CampaignNotCallable(f"not callable: {reason}", campaign_id=campaign.id)
        owed = await owed_disposition(session, principal.user_id)
        if owed is not None:
            raise disposition_required(owed)
        mobile = (await session.execute(select(Customer.mobile).where(
            Customer.id == item.customer_id))).scalar_one()
        caller = (await session.execute(select(User.name).where(
            User.id == principal.user_id))).scalar_one()
        trunk_name = None
        if campaign.trunk_id is not None:
            trunk_name = (await session.execute(select(Trunk.name).where(
                Trunk.id == campaign.trunk_id))).scalar_one()
        link = {"work_item_id": item.id, "customer_id": item.customer_id, "campaign_id": campaign.id}
        mode = None if campaign.calling_mode == "agent" else campaign.calling_mode
    call, agent, trunk = await services.dialer.place(principal, caller, mobile, mode, trunk_name, link=link)
    log.info("work item %s: call %s placed by %s", item.id, call.id, caller)
    return call, agent, trunk, item
