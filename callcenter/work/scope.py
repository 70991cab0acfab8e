"""What a caller reaches through the work: the work items, customers and
campaigns their place in the hierarchy (callcenter/org/scope.py) lets them
see. They follow the work items, so they live here, with them: a feature
below the work is handed this module where it needs them (campaigns as
``work=``, by callcenter/work/feature.py; the customer 360 through
callcenter/dispositions/history.py)."""
from __future__ import annotations

from sqlalchemy import exists, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer
from callcenter.models import Call
from callcenter.org.scope import Scope
from callcenter.work.models import WorkItem


def items_in(scope: Scope):
    """Clause on WorkItem: allocated to someone in scope; a manager also sees
    the unallocated items of their location's campaigns."""
    clause = scope.owned_by(WorkItem.agent_id)
    if scope.role == "manager" and scope.location_id is not None:
        own_campaigns = select(Campaign.id).where(Campaign.location_id == scope.location_id)
        clause = clause | (WorkItem.agent_id.is_(None) & WorkItem.campaign_id.in_(own_campaigns))
    return clause


def customers_in(scope: Scope):
    """Clause on Customer: has a work item in scope, or a call by someone in scope."""
    if scope.sees_all:
        return true()
    if scope.user_id is None:
        return false()
    return (exists().where(WorkItem.customer_id == Customer.id, items_in(scope))
            | exists().where(Call.customer_id == Customer.id, scope.calls()))


def campaigns_in(scope: Scope):
    """Clause on Campaign: has a work item in scope."""
    return exists().where(WorkItem.campaign_id == Campaign.id, items_in(scope))


async def item_counts(session: AsyncSession, scope: Scope, campaign_ids: list[int]) -> dict[int, int]:
    """{campaign id: its work items in scope} of these campaigns (none: left out)."""
    counted = await session.execute(
        select(WorkItem.campaign_id, func.count()).where(
            WorkItem.campaign_id.in_(campaign_ids), items_in(scope))
        .group_by(WorkItem.campaign_id))
    return dict(counted.all())
