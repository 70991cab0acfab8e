"""Upload pages: send a campaign's customer file (from the campaign page),
the list of uploads, an upload's report (counts, first problems, the CSV,
the rejects files, the commit button saying what it commits and skips, with
a box to tick when rows are skipped, and the allocation choice)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from callcenter import audit
from callcenter.campaigns import service as campaigns
from callcenter.campaigns.models import SURVEY_TYPES, Campaign
from callcenter.customers import dnd_import
from callcenter.errors import DomainError
from callcenter.org.models import Team
from callcenter.spreadsheets.exceptions import UploadNotCommittable
from callcenter.uploads import commit as committing
from callcenter.uploads import service, worker
from callcenter.uploads.http import receive_and_validate
from callcenter.work import scope as work_scope
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import local_today, page_number, path_int, whole_number

PAGE = 50
ALLOCATION_LABELS = {"store": "Store-wise: each customer to an executive of their store",
                     "language": "Language-wise: to call-centre agents who speak the customer's language",
                     "round_robin": "Round-robin over a team", "none": "Do not allocate now"}


async def upload_file(request: web.Request) -> web.Response:
    try:
        upload = await receive_and_validate(request)
    except DomainError as exc:
        services = request.app[SERVICES]
        scope = await scope_of(request)
        async with services.sessions() as session:
            campaign = await campaigns.get_campaign(session, scope, path_int(request), work=work_scope)
        return render(request, "uploads/failed.html", {"error": exc, "campaign": campaign},
                      status=exc.status)
    raise web.HTTPSeeOther(f"/uploads/{upload.id}")


async def list_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    page = page_number(request)
    kind = request.query.get("kind") if request.query.get("kind") in service.KINDS else None
    async with services.sessions() as session:
        rows = await service.list_uploads(session, scope, kind=kind, limit=PAGE, offset=(page - 1) * PAGE)
        total = await service.count_uploads(session, scope, kind=kind)
        ids = {u.campaign_id for u in rows if u.campaign_id}
        names = dict((await session.execute(select(Campaign.id, Campaign.name)
                                            .where(Campaign.id.in_(ids)))).all()) if ids else {}
    return render(request, "uploads/list.html", {
        "uploads": rows, "campaign_names": names, "kind": kind or "", "page": page,
        "pages": max(1, -(-total // PAGE)), "total": total})


async def _report_context(session, scope, upload, settings) -> dict:
    campaign = None
    teams = []
    if upload.campaign_id is not None:
        campaign = await session.get(Campaign, upload.campaign_id)
        query = select(Team).order_by(Team.name)
        if not scope.sees_all:
            query = query.where(Team.location_id == scope.location_id)
        teams = list((await session.scalars(query)).all())
    default = "language" if campaign is not None and campaign.type in SURVEY_TYPES else "store"
    return {"upload": upload, "report": upload.report or {}, "campaign": campaign, "teams": teams,
            "allocations": ALLOCATION_LABELS, "default_allocation": default,
            "report_url": f"/api/v1/uploads/{upload.id}/report.csv",
            **committing.rejects_urls(upload.id),
            "callable_reason": campaigns.not_callable_reason(campaign, local_today(settings))
            if campaign is not None else None}


async def upload_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        upload = await service.get_upload(session, scope, path_int(request))
        context = await _report_context(session, scope, upload, services.settings)
    shown = len(context["report"].get("invalid_rows", [])) + len(context["report"].get("skipped_rows", []))
    if shown:
        await viewed(request, audit.CUSTOMERS_VIEWED, rows=shown, list="upload rows", upload=upload.id)
    return render(request, "uploads/report.html", {
        **context, "error": None, "committed_now": bool(request.query.get("committed"))})


async def commit_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    upload_id = path_int(request)
    post = await request.post()
    try:
        async with services.sessions() as session:
            upload = await service.get_upload(session, scope, upload_id)
        if upload.kind == "dnd":
            await dnd_import.commit_upload(services.sessions, scope, upload_id,
                                           actor=principal_of(request).name, settings=services.settings)
        else:
            if (upload.report or {}).get("rejected") and not post.get("confirm_skip"):
                raise UploadNotCommittable("tick the box to confirm the rows left out are skipped "
                                           "(nothing was committed)", reason="not_confirmed")
            how = post.get("allocate", "none")
            team = post.get("team_id", "")
            await worker.commit(
                services, scope, upload_id, actor=principal_of(request).name,
                today=local_today(services.settings), allocate=how,
                team_id=whole_number(team, max_digits=9))
    except DomainError as exc:
        async with services.sessions() as session:
            upload = await service.get_upload(session, scope, upload_id)
            context = await _report_context(session, scope, upload, services.settings)
        return render(request, "uploads/report.html", {**context, "error": exc, "committed_now": False},
                      status=exc.status)
    raise web.HTTPSeeOther(f"/uploads/{upload_id}?committed=1")


ROUTES = [
    ("POST", "/campaigns/{id}/uploads", upload_file, at_least("manager"),
     "Upload a campaign's customer file (form): its report"),
    ("GET", "/uploads", list_page, at_least("manager"), "Uploads page"),
    ("GET", "/uploads/{id}", upload_page, at_least("manager"), "An upload's report page"),
    ("POST", "/uploads/{id}/commit", commit_page, at_least("manager"), "Commit an upload (form)"),
]
