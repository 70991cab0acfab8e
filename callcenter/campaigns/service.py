"""Campaigns: create, change, list, and whether a campaign may be called today.

Who: an admin manages every campaign (one of a location, or of the whole
organisation with no location); a manager creates and manages the campaigns
of their own location; anyone may list and open the campaigns their work is
in (a team lead's team's, an agent's own). A campaign outside what the caller
may see answers not found.

A campaign is callable on ``today`` when it is active (not paused or closed)
and ``starts_on <= today <= expires_on`` (``campaign_callable``); closed is
final.

Whose work is in a campaign is the work feature's knowledge: the functions
that answer "which campaigns may the caller see" take it as ``work``
(callcenter/work/scope.py, handed in by callcenter/work/feature.py, which
declares the routes that need it, and by the features above the work)."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol

from sqlalchemy import false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.campaigns.exceptions import (
    CampaignClosed, CampaignInvalid, CampaignNotFound, CampaignNotManaged)
from callcenter.campaigns.fields import clean_fields
from callcenter.campaigns.forms import default_form
from callcenter.campaigns.models import STATUSES, SURVEY_TYPES, Campaign
from callcenter.models import Trunk
from callcenter.org.scope import Scope
from callcenter.spreadsheets.models import Upload

log = logging.getLogger(__name__)



def not_callable_reason(campaign: Campaign, today: dt.date) -> str | None:
    """Why the campaign's customers may not be called on ``today``, or None."""
    if campaign.status == "closed":
        return "the campaign is closed"
    if campaign.status == "paused":
        return "the campaign is paused"
    if today < campaign.starts_on:
        return f"the campaign starts on {campaign.starts_on.isoformat()}"
    if today > campaign.expires_on:
        return f"the campaign expired on {campaign.expires_on.isoformat()}"
    return None


def campaign_callable(campaign: Campaign, today: dt.date) -> bool:
    """Active, started and not expired on ``today`` (the configured zone's date)."""
    return not_callable_reason(campaign, today) is None


def type_label(campaign: Campaign) -> str:
    if campaign.type == "custom" and campaign.custom_type:
        return campaign.custom_type
    return campaign.type.replace("_", " ").capitalize()


# -- who sees what ----------------------------------------------------------

class WorkReach(Protocol):
    """What the work tells about campaigns (callcenter/work/scope.py)."""

    def campaigns_in(self, scope: Scope):
        """Clause on Campaign: the caller has work in it."""

    async def item_counts(self, session: AsyncSession, scope: Scope,
                          campaign_ids: list[int]) -> dict[int, int]:
        """{campaign id: its work items in the caller's scope}."""


def visible(scope: Scope, work: WorkReach):
    """Clause on Campaign: the campaigns the caller may list and open."""
    if scope.sees_all:
        return true()
    if scope.user_id is None:
        return false()
    has_work = work.campaigns_in(scope)
    if scope.role == "manager" and scope.location_id is not None:
        return (Campaign.location_id == scope.location_id) | has_work
    return has_work


def manages(scope: Scope, campaign: Campaign) -> bool:
    """May the caller change this campaign (and upload customers to it)?"""
    if scope.sees_all:
        return True
    return (scope.role == "manager" and scope.location_id is not None
            and campaign.location_id == scope.location_id)


def can_create(scope: Scope) -> bool:
    return scope.sees_all or (scope.role == "manager" and scope.location_id is not None)


async def get_campaign(session: AsyncSession, scope: Scope, campaign_id: int, *,
                       work: WorkReach) -> Campaign:
    campaign = (await session.scalars(select(Campaign).where(
        Campaign.id == campaign_id, visible(scope, work)))).first()
    if campaign is None:
        raise CampaignNotFound("no such campaign", campaign_id=campaign_id)
    return campaign


async def get_managed(session: AsyncSession, scope: Scope, campaign_id: int, *,
                      work: WorkReach) -> Campaign:
    campaign = await get_campaign(session, scope, campaign_id, work=work)
    if not manages(scope, campaign):
        raise CampaignNotManaged("only the campaign's manager or an admin may change it",
                                 campaign_id=campaign_id)
    return campaign


async def list_campaigns(session: AsyncSession, scope: Scope, *, work: WorkReach,
                         status: str | None = None, search: str | None = None,
                         limit: int = 50, offset: int = 0):
    """(campaigns newest first, total, {campaign id: work items})."""
    query = select(Campaign).where(visible(scope, work))
    if status:
        if status not in STATUSES:
            raise CampaignInvalid(f"status must be one of {', '.join(STATUSES)}", field="status")
        query = query.where(Campaign.status == status)
    if search:
        query = query.where(Campaign.name.ilike(f"%{search.strip()}%"))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list((await session.scalars(query.order_by(Campaign.id.desc())
                                       .limit(limit).offset(offset))).all())
    items = await work.item_counts(session, scope, [c.id for c in rows]) if rows else {}
    return rows, total, items


async def campaign_uploads(session: AsyncSession, scope: Scope, campaign: Campaign, *,
                           limit: int = 20) -> list[Upload]:
    """The campaign's customer uploads, newest first: seen by those who manage
    it (an admin, its location's manager; as callcenter/uploads/service.py)."""
    if not (scope.sees_all or (scope.user_id is not None and manages(scope, campaign))):
        return []
    return list((await session.scalars(select(Upload).where(Upload.campaign_id == campaign.id)
                                       .order_by(Upload.id.desc()).limit(limit))).all())


async def trunk_choices(session: AsyncSession) -> list[Trunk]:
    return list((await session.scalars(select(Trunk).where(Trunk.removed_at.is_(None))
                                       .order_by(Trunk.name))).all())


# -- changes (the fields are checked by fields.py) -------------------------

async def create_campaign(session: AsyncSession, scope: Scope, fields: dict, *, actor: str,
                          settings) -> Campaign:
    """A new campaign; a manager's is of their location. The form defaults to
    the brief's questionnaire for the type (survey types add their questions)."""
    if not can_create(scope):
        raise CampaignNotManaged("only managers and admins create campaigns")
    for name in ("name", "type", "starts_on", "expires_on"):
        if fields.get(name) in (None, ""):
            raise CampaignInvalid(f"{name} is required", field=name)
    fields = dict(fields)
    if not scope.sees_all:
        fields.setdefault("location_id", scope.location_id)
    values = await clean_fields(session, scope, fields, None)
    if values.get("status") == "closed":
        raise CampaignInvalid("a new campaign is active or paused", field="status")
    if "form" not in values:
        values["form"] = default_form(values["type"])
    values.setdefault("retry_delay_minutes", settings.work.retry_delay_minutes)
    values.setdefault("max_attempts", settings.work.max_attempts)
    campaign = Campaign(created_by=actor[:60], **values)
    session.add(campaign)
    await session.flush()
    audit.record(session, actor, "campaign.create", "campaign", campaign.id, name=campaign.name,
                 type=campaign.type, location_id=campaign.location_id,
                 starts_on=campaign.starts_on.isoformat(), expires_on=campaign.expires_on.isoformat())
    log.info("campaign %s created by %s", campaign.name, actor)
    return campaign


async def update_campaign(session: AsyncSession, scope: Scope, campaign_id: int, fields: dict, *,
                          actor: str, work: WorkReach) -> Campaign:
    campaign = await get_managed(session, scope, campaign_id, work=work)
    if campaign.status == "closed":
        raise CampaignClosed("a closed campaign stays closed and cannot be changed",
                             campaign_id=campaign_id)
    values = await clean_fields(session, scope, fields, campaign)
    changed = {}
    for name, value in values.items():
        if getattr(campaign, name) != value:
            old = getattr(campaign, name)
            changed[name] = ("(changed)" if name == "form"
                             else [_plain(old), _plain(value)])
            setattr(campaign, name, value)
    if changed:
        await session.flush()
        audit.record(session, actor, "campaign.update", "campaign", campaign.id, changed=changed)
    return campaign


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def is_survey(campaign: Campaign) -> bool:
    return campaign.type in SURVEY_TYPES


def campaign_json(campaign: Campaign, *, with_form: bool = False, work_items: int | None = None,
                  today: dt.date | None = None) -> dict:
    out = {"id": campaign.id, "name": campaign.name, "type": campaign.type,
           "custom_type": campaign.custom_type, "type_label": type_label(campaign),
           "starts_on": campaign.starts_on.isoformat(), "expires_on": campaign.expires_on.isoformat(),
           "trunk_id": campaign.trunk_id, "calling_mode": campaign.calling_mode,
           "location_id": campaign.location_id, "retry_delay_minutes": campaign.retry_delay_minutes,
           "max_attempts": campaign.max_attempts, "status": campaign.status,
           "created_by": campaign.created_by}
    if today is not None:
        out["callable"] = campaign_callable(campaign, today)
        out["not_callable_reason"] = not_callable_reason(campaign, today)
    if work_items is not None:
        out["work_items"] = work_items
    if with_form:
        out["form"] = campaign.form
    return out


__all__ = ["campaign_callable", "not_callable_reason", "visible", "manages", "get_campaign",
           "get_managed", "list_campaigns", "campaign_uploads", "create_campaign", "update_campaign",
           "campaign_json", "trunk_choices"]
