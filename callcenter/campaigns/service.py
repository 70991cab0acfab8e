"""Campaigns: create, change, list, and whether a campaign may be called today.

Who: an admin manages every campaign (one of a location, or of the whole
organisation with no location); a manager creates and manages the campaigns
of their own location; anyone may list and open the campaigns their work is
in (a team lead's team's, an agent's own). A campaign outside what the caller
may see answers not found.

A campaign is callable on ``today`` when it is active (not paused or closed)
and ``starts_on <= today <= expires_on`` (``campaign_callable``); closed is
final."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.campaigns.exceptions import (
    CampaignClosed, CampaignInvalid, CampaignNameTaken, CampaignNotFound, CampaignNotManaged)
from callcenter.campaigns.models import CALLING_MODES, CAMPAIGN_TYPES, SURVEY_TYPES, Campaign
from callcenter.models import Trunk
from callcenter.org.models import Location
from callcenter.org.scope import Scope
from callcenter.work.models import WorkItem

log = logging.getLogger(__name__)

STATUSES = ("active", "paused", "closed")
FIELDS = ("name", "type", "custom_type", "starts_on", "expires_on", "trunk_id", "calling_mode",
          "location_id", "form", "retry_delay_minutes", "max_attempts", "status")
MAX_RETRY_DELAY = 60 * 24 * 30
MAX_ATTEMPTS = 20


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

def visible(scope: Scope):
    """Clause on Campaign: the campaigns the caller may list and open."""
    if scope.sees_all:
        return true()
    if scope.user_id is None:
        return false()
    has_work = exists().where(WorkItem.campaign_id == Campaign.id, scope.work_items())
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


async def get_campaign(session: AsyncSession, scope: Scope, campaign_id: int) -> Campaign:
    campaign = (await session.scalars(select(Campaign).where(
        Campaign.id == campaign_id, visible(scope)))).first()
    if campaign is None:
        raise CampaignNotFound("no such campaign", campaign_id=campaign_id)
    return campaign


async def get_managed(session: AsyncSession, scope: Scope, campaign_id: int) -> Campaign:
    campaign = await get_campaign(session, scope, campaign_id)
    if not manages(scope, campaign):
        raise CampaignNotManaged("only the campaign's manager or an admin may change it",
                                 campaign_id=campaign_id)
    return campaign


async def list_campaigns(session: AsyncSession, scope: Scope, *, status: str | None = None,
                         search: str | None = None, limit: int = 50, offset: int = 0):
    """(campaigns newest first, total, {campaign id: work items})."""
    query = select(Campaign).where(visible(scope))
    if status:
        if status not in STATUSES:
            raise CampaignInvalid(f"status must be one of {', '.join(STATUSES)}", field="status")
        query = query.where(Campaign.status == status)
    if search:
        query = query.where(Campaign.name.ilike(f"%{search.strip()}%"))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list((await session.scalars(query.order_by(Campaign.id.desc())
                                       .limit(limit).offset(offset))).all())
    items = {}
    if rows:
        counted = await session.execute(
            select(WorkItem.campaign_id, func.count()).where(
                WorkItem.campaign_id.in_([c.id for c in rows]), scope.work_items())
            .group_by(WorkItem.campaign_id))
        items = dict(counted.all())
    return rows, total, items


async def trunk_choices(session: AsyncSession) -> list[Trunk]:
    return list((await session.scalars(select(Trunk).where(Trunk.removed_at.is_(None))
                                       .order_by(Trunk.name))).all())


# -- changes ---------------------------------------------------------------

def _date(value, name: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise CampaignInvalid(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def _int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (
            isinstance(value, str) and not (value.isascii() and value.strip().isdigit())):
        raise CampaignInvalid(f"{name} must be a whole number", field=name)
    try:
        number = int(value)
    except ValueError:
        raise CampaignInvalid(f"{name} must be a whole number", field=name) from None
    if not low <= number <= high:
        raise CampaignInvalid(f"{name} must be between {low} and {high}", field=name)
    return number


def _text(value, name: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CampaignInvalid(f"{name} must be a non-empty text", field=name)
    value = " ".join(value.split())
    if len(value) > longest:
        raise CampaignInvalid(f"{name} must be at most {longest} characters", field=name)
    return value


async def _clean(session: AsyncSession, scope: Scope, fields: dict, current: Campaign | None) -> dict:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise CampaignInvalid(f"unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    out: dict = {}
    if "name" in fields:
        out["name"] = _text(fields["name"], "name", 80)
        taken = await session.scalar(select(Campaign.id).where(Campaign.name == out["name"]))
        if taken is not None and (current is None or taken != current.id):
            raise CampaignNameTaken(f"a campaign named {out['name']!r} exists", field="name")
    if "type" in fields:
        if fields["type"] not in CAMPAIGN_TYPES:
            raise CampaignInvalid(f"type must be one of {', '.join(CAMPAIGN_TYPES)}", field="type")
        out["type"] = fields["type"]
    if "custom_type" in fields:
        value = fields["custom_type"]
        out["custom_type"] = _text(value, "custom_type", 60) if value not in (None, "") else None
    kind = out.get("type", current.type if current else None)
    custom = out.get("custom_type", current.custom_type if current else None)
    if kind == "custom" and not custom:
        raise CampaignInvalid("a custom campaign needs its name in custom_type", field="custom_type")
    if kind != "custom":
        out["custom_type"] = None
    for name in ("starts_on", "expires_on"):
        if name in fields:
            out[name] = _date(fields[name], name)
    starts = out.get("starts_on", current.starts_on if current else None)
    expires = out.get("expires_on", current.expires_on if current else None)
    if starts and expires and expires < starts:
        raise CampaignInvalid("expires_on must not be before starts_on", field="expires_on")
    if "trunk_id" in fields and fields["trunk_id"] not in (None, ""):
        trunk_id = _int(fields["trunk_id"], "trunk_id", 1, 2**31)
        trunk = await session.get(Trunk, trunk_id)
        if trunk is None or trunk.removed_at is not None:
            raise CampaignInvalid("no such trunk", field="trunk_id")
        out["trunk_id"] = trunk_id
    elif "trunk_id" in fields:
        out["trunk_id"] = None
    if "calling_mode" in fields:
        if fields["calling_mode"] not in CALLING_MODES:
            raise CampaignInvalid(f"calling_mode must be one of {', '.join(CALLING_MODES)}",
                                  field="calling_mode")
        out["calling_mode"] = fields["calling_mode"]
    if "retry_delay_minutes" in fields:
        out["retry_delay_minutes"] = _int(fields["retry_delay_minutes"], "retry_delay_minutes",
                                          1, MAX_RETRY_DELAY)
    if "max_attempts" in fields:
        out["max_attempts"] = _int(fields["max_attempts"], "max_attempts", 1, MAX_ATTEMPTS)
    if "status" in fields:
        if fields["status"] not in STATUSES:
            raise CampaignInvalid(f"status must be one of {', '.join(STATUSES)}", field="status")
        out["status"] = fields["status"]
    if "location_id" in fields:
        out["location_id"] = await _location(session, scope, fields["location_id"])
    if "form" in fields:
        from callcenter.work.forms import validate_form
        out["form"] = validate_form(fields["form"])
    return out


async def _location(session: AsyncSession, scope: Scope, value) -> int | None:
    if value in (None, ""):
        if not scope.sees_all:
            raise CampaignNotManaged("only an admin may make a campaign of the whole organisation")
        return None
    location_id = _int(value, "location_id", 1, 2**31)
    if not scope.sees_all and location_id != scope.location_id:
        raise CampaignNotManaged("a manager makes campaigns of their own location only")
    if await session.get(Location, location_id) is None:
        raise CampaignInvalid("no such location", field="location_id")
    return location_id


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
    values = await _clean(session, scope, fields, None)
    if values.get("status") == "closed":
        raise CampaignInvalid("a new campaign is active or paused", field="status")
    if "form" not in values:
        from callcenter.work.forms import default_form
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
                          actor: str) -> Campaign:
    campaign = await get_managed(session, scope, campaign_id)
    if campaign.status == "closed":
        raise CampaignClosed("a closed campaign stays closed and cannot be changed",
                             campaign_id=campaign_id)
    values = await _clean(session, scope, fields, campaign)
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
           "get_managed", "list_campaigns", "create_campaign", "update_campaign", "campaign_json",
           "trunk_choices"]
