"""Campaign pages: the list, a new campaign, a campaign (details, its edit
form with the disposition form as JSON, its uploads and the upload form)."""
from __future__ import annotations

import json
from functools import partial

from aiohttp import web
from sqlalchemy import select

from callcenter.campaigns import service
from callcenter.campaigns.forms import default_form
from callcenter.campaigns.models import CALLING_MODES, CAMPAIGN_TYPES, STATUSES
from callcenter.campaigns.service import WorkReach
from callcenter.errors import DomainError
from callcenter.org.models import Location
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import local_today, page_number, path_int

PAGE = 50
TEXT_FIELDS = ("name", "type", "custom_type", "starts_on", "expires_on", "trunk_id", "calling_mode",
               "retry_delay_minutes", "max_attempts", "status")


async def _choices(session, scope) -> dict:
    locations = []
    if scope.sees_all:
        locations = list((await session.scalars(select(Location).order_by(Location.name))).all())
    return {"types": CAMPAIGN_TYPES, "modes": CALLING_MODES, "statuses": STATUSES,
            "trunks": await service.trunk_choices(session), "locations": locations,
            "label": lambda t: t.replace("_", " ").capitalize()}


def _fields(post, scope, *, creating: bool) -> dict:
    """The service's fields from a posted form (text as typed; the service checks it)."""
    fields = {name: post.get(name, "").strip() for name in TEXT_FIELDS if name in post}
    if scope.sees_all and "location_id" in post:
        fields["location_id"] = post.get("location_id") or None
    if fields.get("custom_type", None) == "" and fields.get("type") != "custom":
        fields.pop("custom_type")
    if post.get("reset_form"):
        fields["form"] = default_form(fields.get("type") or post.get("current_type", "birthday"))
    elif post.get("form", "").strip():
        try:
            fields["form"] = json.loads(post["form"])
        except json.JSONDecodeError as exc:
            raise FormJsonInvalid(f"the disposition form is not valid JSON: {exc}") from None
    if creating and "status" in fields and not fields["status"]:
        fields.pop("status")
    return fields


class FormJsonInvalid(DomainError):
    error_id = "invalid_form_json"
    status = 422


async def list_page(request: web.Request, *, work: WorkReach) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    page = page_number(request)
    status = request.query.get("status") or None
    status = status if status in STATUSES else None
    search = request.query.get("q", "").strip()[:80]
    async with services.sessions() as session:
        rows, total, items = await service.list_campaigns(
            session, scope, work=work, status=status, search=search or None, limit=PAGE,
            offset=(page - 1) * PAGE)
    return render(request, "campaigns/list.html", {
        "campaigns": rows, "total": total, "items": items, "page": page,
        "pages": max(1, -(-total // PAGE)), "status": status or "", "q": search,
        "statuses": STATUSES, "today": local_today(services.settings),
        "callable": service.campaign_callable, "type_label": service.type_label,
        "can_create": service.can_create(scope)})


async def new_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    if not service.can_create(scope):
        raise web.HTTPForbidden(reason="Only managers and admins create campaigns")
    today = local_today(services.settings)
    values = {"type": "birthday", "starts_on": today.isoformat(), "calling_mode": "agent",
              "retry_delay_minutes": services.settings.work.retry_delay_minutes,
              "max_attempts": services.settings.work.max_attempts, "status": "active",
              "location_id": scope.location_id}
    error = None
    async with services.sessions() as session:
        if request.method == "POST":
            post = await request.post()
            values.update({k: v for k, v in post.items() if k != "_csrf"})
            try:
                fields = _fields(post, scope, creating=True)
                campaign = await service.create_campaign(session, scope, fields,
                                                         actor=principal_of(request).name,
                                                         settings=services.settings)
                await session.commit()
                raise web.HTTPSeeOther(f"/campaigns/{campaign.id}?created=1")
            except DomainError as exc:
                await session.rollback()
                error = exc
        return render(request, "campaigns/new.html", {
            "values": values, "error": error, "creating": True, **(await _choices(session, scope))},
            status=error.status if error else 200)


async def campaign_page(request: web.Request, *, work: WorkReach) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    campaign_id = path_int(request)
    error = notice = None
    async with services.sessions() as session:
        campaign = await service.get_campaign(session, scope, campaign_id, work=work)
        manageable = service.manages(scope, campaign)
        posted = {}
        if request.method == "POST":
            if not manageable:
                raise web.HTTPForbidden(reason="Only the campaign's manager or an admin may change it")
            post = await request.post()
            posted = {k: v for k, v in post.items() if k != "_csrf"}
            try:
                fields = _fields(post, scope, creating=False)
                await service.update_campaign(session, scope, campaign_id, fields,
                                              actor=principal_of(request).name, work=work)
                await session.commit()
                raise web.HTTPSeeOther(f"/campaigns/{campaign_id}?saved="
                                       + ("form" if post.get("reset_form") else "1"))
            except DomainError as exc:
                await session.rollback()
                error = exc
                campaign = await service.get_campaign(session, scope, campaign_id, work=work)
        if request.query.get("saved"):
            notice = ("The disposition form is back to the default."
                      if request.query["saved"] == "form" else "Saved.")
        elif request.query.get("created"):
            notice = "Campaign created. Upload its customers below."
        history = await service.campaign_uploads(session, scope, campaign, limit=20)
        values = {name: getattr(campaign, name) for name in TEXT_FIELDS}
        values["location_id"] = campaign.location_id
        values.update(posted)
        form_text = posted.get("form") or json.dumps(campaign.form, indent=2, ensure_ascii=False)
        today = local_today(services.settings)
        return render(request, "campaigns/campaign.html", {
            "campaign": campaign, "manageable": manageable, "values": values, "form_text": form_text,
            "error": error, "notice": notice, "uploads": history, "creating": False,
            "reason": service.not_callable_reason(campaign, today),
            "type_label": service.type_label(campaign),
            "max_mb": services.settings.work.upload_max_mb,
            **(await _choices(session, scope))}, status=error.status if error else 200)


ROUTES = [
    ("GET", "/campaigns/new", new_page, at_least("manager"), "New campaign page"),
    ("POST", "/campaigns/new", new_page, at_least("manager"), "Create a campaign (form)"),
]


def routes(*, work: WorkReach) -> list:
    """The pages that show campaigns to those whose work is in them: ``work``
    (callcenter/work/scope.py) says which; declared by the work feature
    (callcenter/work/feature.py), as campaigns may not import the work."""
    return [
        ("GET", "/campaigns", partial(list_page, work=work), at_least("agent"), "Campaigns page"),
        ("GET", "/campaigns/{id}", partial(campaign_page, work=work), at_least("agent"),
         "A campaign's page"),
        ("POST", "/campaigns/{id}", partial(campaign_page, work=work), at_least("manager"),
         "Change a campaign (form)"),
    ]
