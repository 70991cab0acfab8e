"""Campaigns JSON API (thin: the rules are in service.py), with each
campaign's disposition form."""
from __future__ import annotations

import datetime as dt
from functools import partial

from aiohttp import web

from callcenter.campaigns import service
from callcenter.campaigns.exceptions import CampaignInvalid, CampaignNotFound
from callcenter.campaigns.forms import default_form as build_form
from callcenter.campaigns.models import CAMPAIGN_TYPES, SURVEY_TYPES
from callcenter.campaigns.service import WorkReach
from web import requests
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import local_today, path_int

MAX_PAGE = 500


def query_int(request: web.Request, name: str, default: int, low: int = 0, high: int = 10**9) -> int:
    return requests.query_int(request, name, default, error=CampaignInvalid, low=low, high=high)


def paging(request: web.Request) -> tuple[int, int]:
    """(limit, offset) of a list request: limit 1..MAX_PAGE (50 when absent), offset from 0."""
    return query_int(request, "limit", 50, 1, MAX_PAGE), query_int(request, "offset", 0)


async def list_campaigns(request: web.Request, *, work: WorkReach) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    limit, offset = paging(request)
    async with services.sessions() as session:
        rows, total, items = await service.list_campaigns(
            session, scope, work=work, status=request.query.get("status") or None,
            search=request.query.get("q") or None, limit=limit, offset=offset)
    today = local_today(services.settings)
    return web.json_response({"total": total, "limit": limit, "offset": offset, "campaigns": [
        service.campaign_json(c, work_items=items.get(c.id, 0), today=today) for c in rows]})


async def create_campaign(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await requests.json_object(request, CampaignInvalid)
    async with services.sessions() as session:
        campaign = await service.create_campaign(session, scope, body, actor=principal_of(request).name,
                                                 settings=services.settings)
        await session.commit()
        out = service.campaign_json(campaign, with_form=True, today=local_today(services.settings))
    return web.json_response(out, status=201)


async def get_campaign(request: web.Request, *, work: WorkReach) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        campaign = await service.get_campaign(session, scope, path_int(request), work=work)
        out = service.campaign_json(campaign, with_form=True, today=local_today(services.settings))
        out["manageable"] = service.manages(scope, campaign)
    return web.json_response(out)


async def update_campaign(request: web.Request, *, work: WorkReach) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await requests.json_object(request, CampaignInvalid)
    async with services.sessions() as session:
        campaign = await service.update_campaign(session, scope, path_int(request), body,
                                                 actor=principal_of(request).name, work=work)
        await session.commit()
        out = service.campaign_json(campaign, with_form=True, today=local_today(services.settings))
    return web.json_response(out)


async def campaign_types(request: web.Request) -> web.Response:
    return web.json_response({"types": [
        {"type": t, "survey": t in SURVEY_TYPES, "label": t.replace("_", " ").capitalize()}
        for t in CAMPAIGN_TYPES]})


async def default_form(request: web.Request) -> web.Response:
    kind = request.match_info["type"]
    if kind not in CAMPAIGN_TYPES:
        raise web.HTTPNotFound()
    return web.json_response(build_form(kind))


async def campaign_form(request: web.Request, *, work: WorkReach) -> web.Response:
    campaign_id = path_int(request, "id", CampaignNotFound("no such campaign"))
    scope = await scope_of(request)
    async with request.app[SERVICES].sessions() as session:
        campaign = await service.get_campaign(session, scope, campaign_id, work=work)
        return web.json_response({"campaign_id": campaign.id, "form": campaign.form,
                                  "expires_on": campaign.expires_on.isoformat()
                                  if isinstance(campaign.expires_on, dt.date) else None})


ROUTES = [
    ("POST", "/api/v1/campaigns", create_campaign, at_least("manager"),
     "Create a campaign (a manager's is of their location); the form defaults to the type's"),
    ("GET", "/api/v1/campaign-types", campaign_types, at_least("agent"), "The campaign types"),
    ("GET", "/api/v1/campaign-types/{type}/form", default_form, at_least("manager"),
     "The default disposition form of a campaign type"),
]


def routes(*, work: WorkReach) -> list:
    """The routes that show campaigns to those whose work is in them: ``work``
    (callcenter/work/scope.py) says which; declared by the work feature
    (callcenter/work/feature.py), as campaigns may not import the work."""
    return [
        ("GET", "/api/v1/campaigns", partial(list_campaigns, work=work), at_least("agent"),
         "Campaigns the caller may see (status=, q=, limit=, offset=)"),
        ("GET", "/api/v1/campaigns/{id}", partial(get_campaign, work=work), at_least("agent"),
         "A campaign with its disposition form"),
        ("PATCH", "/api/v1/campaigns/{id}", partial(update_campaign, work=work), at_least("manager"),
         "Change a campaign: dates, trunk, calling mode, retries, form, status (active/paused/closed)"),
        ("GET", "/api/v1/campaigns/{id}/form", partial(campaign_form, work=work), at_least("agent"),
         "A campaign's disposition form (data: questions, branches, outcomes)"),
    ]
