"""Who a report covers: the filters that narrow the caller's scope (checked,
404 outside it), the agents in scope, and how grouped queries select them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns import service as campaigns
from callcenter.campaigns.models import Campaign
from callcenter.models import User
from callcenter.org.models import Location, Store, Team
from callcenter.org.scope import Scope
from callcenter.reports import exceptions
from callcenter.work import scope as work_scope

MAX_PAGE = 5000
WIDE = 300  # agents: above this, day figures are read by time, not per agent


@dataclass(frozen=True)
class Filters:
    """Narrowing inside the caller's scope (never widening it)."""
    team_id: int | None = None
    location_id: int | None = None
    store_id: int | None = None
    campaign_id: int | None = None


@dataclass
class Agent:
    id: int
    name: str
    display_name: str
    employee_id: str | None
    team_id: int | None
    store_id: int | None


async def check_filters(session: AsyncSession, scope: Scope, filters: Filters) -> None:
    """404 for a team, location, store or campaign the caller may not look at."""
    if filters.team_id is not None:
        team = await session.scalar(select(Team.id).where(Team.id == filters.team_id, scope.teams()))
        if team is None:
            raise exceptions.TeamNotFound("no such team", team_id=filters.team_id)
    if filters.location_id is not None:
        location = await session.get(Location, filters.location_id)
        if location is None or not (scope.sees_all or location.id == scope.location_id):
            raise exceptions.LocationNotFound("no such location", location_id=filters.location_id)
    if filters.store_id is not None:
        store = await session.get(Store, filters.store_id)
        if store is None or not (scope.sees_all or store.location_id == scope.location_id):
            raise exceptions.StoreNotFound("no such store", store_id=filters.store_id)
    if filters.campaign_id is not None:
        await visible_campaign(session, scope, filters.campaign_id)


def campaigns_visible(scope: Scope):
    """Clause on Campaign: the campaigns the caller may report on, by the one
    rule of ``GET /api/v1/campaigns/{id}`` (callcenter/campaigns/service.py:
    an admin all; a manager their location's; anyone those they have work in)."""
    return campaigns.visible(scope, work_scope)


async def visible_campaign(session: AsyncSession, scope: Scope, campaign_id: int) -> Campaign:
    """The campaign if the caller may open it (:func:`campaigns_visible`), else CampaignNotFound."""
    campaign = (await session.execute(select(Campaign).where(
        Campaign.id == campaign_id, campaigns_visible(scope)))).scalar_one_or_none()
    if campaign is None:
        raise exceptions.CampaignNotFound("no such campaign", campaign_id=campaign_id)
    return campaign


def agents_clause(scope: Scope, filters: Filters, since: dt.datetime | None = None):
    """The active agents in scope, narrowed by the filters; with ``since``, also
    the agents deactivated since then (last changed after it), so a past day's
    report still shows an executive who has left since."""
    active = User.active.is_(True)
    if since is not None:
        active = active | (User.updated_at >= since)
    clause = scope.users() & (User.role == "agent") & active
    if filters.team_id is not None:
        clause &= User.team_id == filters.team_id
    if filters.location_id is not None:
        clause &= User.location_id == filters.location_id
    if filters.store_id is not None:
        clause &= User.store_id == filters.store_id
    return clause


async def agents(session: AsyncSession, scope: Scope, filters: Filters, *,
                 limit: int | None = None, offset: int = 0, since: dt.datetime | None = None) -> list[Agent]:
    query = (select(User.id, User.name, User.display_name, User.employee_id, User.team_id, User.store_id)
             .where(agents_clause(scope, filters, since)).order_by(User.name, User.id).offset(offset))
    if limit is not None:
        query = query.limit(min(limit, MAX_PAGE))
    return [Agent(*row) for row in (await session.execute(query)).all()]


async def count_agents(session: AsyncSession, scope: Scope, filters: Filters,
                       since: dt.datetime | None = None) -> int:
    return (await session.execute(select(func.count()).select_from(User)
                                  .where(agents_clause(scope, filters, since)))).scalar_one()


@dataclass(frozen=True)
class Members:
    """Which agents a grouped query covers: a page of ids, or (``everyone``)
    the whole scope as a subquery, so exporting every agent stays one grouped
    query per figure. For many agents, the day's figures read the day's range
    of the time index (``requested_at`` / ``created_at``) rather than each
    agent's whole history: ``agent_id + 0`` keeps SQLite off the agent index."""
    ids: tuple
    everyone: object = None

    @property
    def wide(self) -> bool:
        return self.everyone is not None or len(self.ids) > WIDE

    def of(self, column):
        return column.in_(self.everyone if self.everyone is not None else self.ids)

    def on_day(self, column):
        return (column + 0 if self.wide else column).in_(
            self.everyone if self.everyone is not None else self.ids)


def members(page: list[Agent], scope: Scope | None = None, filters: Filters | None = None,
            since: dt.datetime | None = None) -> Members:
    everyone = None
    if scope is not None and len(page) > WIDE:
        everyone = select(User.id).where(agents_clause(scope, filters or Filters(), since)).scalar_subquery()
    return Members(ids=tuple(a.id for a in page), everyone=everyone)
