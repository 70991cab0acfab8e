"""Customer uploads JSON API: upload a file for a campaign (validation
report), read it, download the full report and the rejects file (the rows
left out, in their original cells, CSV or XLSX), commit its valid rows (then
allocate)."""
from __future__ import annotations

import asyncio
import json

from aiohttp import web

from callcenter import audit
from callcenter.campaigns import service as campaigns
from callcenter.campaigns.http import paging
from callcenter.customers import dnd_import
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.exceptions import UploadNotCommittable
from callcenter.spreadsheets.http import receive_file, upload_json
from callcenter.spreadsheets.models import Upload
from callcenter.uploads import rejects, service, worker
from callcenter.work import scope as work_scope
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.requests import csv_file, local_today, path_int

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def upload_customers(request: web.Request) -> web.Response:
    upload = await receive_and_validate(request)
    return web.json_response(upload_json(upload), status=201)


async def receive_and_validate(request: web.Request):
    services = request.app[SERVICES]
    scope = await scope_of(request)
    campaign_id = path_int(request)
    async with services.sessions() as session:   # refuse before storing anything
        await campaigns.get_managed(session, scope, campaign_id, work=work_scope)
    saved = await receive_file(request)
    upload_id = await worker.validate(services, scope, campaign_id, saved,
                                      actor=principal_of(request).name,
                                      today=local_today(services.settings))
    async with services.sessions() as session:
        return await session.get(Upload, upload_id)


async def list_campaign_uploads(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        campaign = await campaigns.get_managed(session, scope, path_int(request), work=work_scope)
        limit, offset = paging(request)
        rows = await service.list_uploads(session, scope, campaign_id=campaign.id, limit=limit, offset=offset)
    return web.json_response({"uploads": [upload_json(u, problems=False) for u in rows]})


async def list_uploads(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    kind = request.query.get("kind") or None
    if kind is not None and kind not in service.KINDS:
        raise UploadNotCommittable(f"kind must be one of {', '.join(service.KINDS)}")
    async with services.sessions() as session:
        limit, offset = paging(request)
        rows = await service.list_uploads(session, scope, kind=kind, limit=limit, offset=offset)
    return web.json_response({"uploads": [upload_json(u, problems=False) for u in rows]})


async def get_upload(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        upload = await service.get_upload(session, scope, path_int(request))
    return web.json_response(upload_json(upload))


async def download_report(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        upload = await service.get_upload(session, scope, path_int(request))
    path = service.report_file(services.settings, upload)
    response = csv_file(path, f"upload-{upload.id}-report.csv")
    await viewed(request, audit.REPORT_EXPORTED, rows=upload.total, report="upload", upload=upload.id,
                 kind=upload.kind)
    return response


async def download_rejects_csv(request: web.Request) -> web.StreamResponse:
    return await download_rejects(request, "csv")


async def download_rejects_xlsx(request: web.Request) -> web.StreamResponse:
    return await download_rejects(request, "xlsx")


async def download_rejects(request: web.Request, fmt: str) -> web.StreamResponse:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    async with services.sessions() as session:
        upload = await service.get_upload(session, scope, path_int(request))
    source = service.rejects_file(services.settings, upload)
    name = f"upload-{upload.id}-rejects.{fmt}"
    if fmt == "csv":
        response = csv_file(source, name)
    else:
        target = files.rejects_path(services.settings.uploads_dir, upload.stored_name, "xlsx")
        path = await asyncio.to_thread(rejects.write_xlsx, source, target)
        response = web.FileResponse(path, headers={
            "Content-Type": XLSX_TYPE, "Content-Disposition": f'attachment; filename="{name}"'})
    await viewed(request, audit.REPORT_EXPORTED, rows=(upload.report or {}).get("rejected", 0),
                 report="upload_rejects", upload=upload.id, kind=upload.kind, format=fmt)
    return response


async def commit_body(request: web.Request) -> dict:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or set(body) - {"allocate", "team_id", "agent_ids", "strict"}:
        raise UploadNotCommittable("the body is a JSON object with allocate, team_id, agent_ids, "
                                   "strict", reason="invalid_request")
    if not isinstance(body.get("strict", False), bool):
        raise UploadNotCommittable("strict must be true or false", reason="invalid_request")
    return body


async def commit_upload(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    body = await commit_body(request)
    upload_id = path_int(request)
    async with services.sessions() as session:
        upload = await service.get_upload(session, scope, upload_id)
    if upload.kind == "dnd":
        result = await dnd_import.commit_upload(services.sessions, scope, upload_id,
                                         actor=principal_of(request).name, settings=services.settings)
        return web.json_response(result)
    agent_ids = body.get("agent_ids")
    if agent_ids is not None and not (isinstance(agent_ids, list)
                                      and all(isinstance(a, int) for a in agent_ids)):
        raise UploadNotCommittable("agent_ids must be a list of ids", reason="invalid_request")
    team_id = body.get("team_id")
    if team_id is not None and not isinstance(team_id, int):
        raise UploadNotCommittable("team_id must be an id", reason="invalid_request")
    result = await worker.commit(
        services, scope, upload_id, actor=principal_of(request).name,
        today=local_today(services.settings), allocate=body.get("allocate") or "none",
        team_id=team_id, agent_ids=agent_ids, strict=body.get("strict", False))
    return web.json_response(result)


ROUTES = [
    ("POST", "/api/v1/campaigns/{id}/uploads", upload_customers, at_least("manager"),
     "Upload customers (CSV or XLSX, multipart field 'file'): the validation report"),
    ("GET", "/api/v1/campaigns/{id}/uploads", list_campaign_uploads, at_least("manager"),
     "A campaign's uploads"),
    ("GET", "/api/v1/uploads", list_uploads, at_least("manager"), "Customer and DND uploads (kind=)"),
    ("GET", "/api/v1/uploads/{id}", get_upload, at_least("manager"),
     "An upload's validation report (counts, first problems)"),
    ("GET", "/api/v1/uploads/{id}/report.csv", download_report, at_least("manager"),
     "The full validation report as CSV (row, status, mobile, reason)"),
    ("GET", "/api/v1/uploads/{id}/rejects.csv", download_rejects_csv, at_least("manager"),
     "The rows left out (invalid, repeated, DND) with their original cells and header, plus "
     "Row and Reason, as CSV: itself a customer file to fix and upload again"),
    ("GET", "/api/v1/uploads/{id}/rejects.xlsx", download_rejects_xlsx, at_least("manager"),
     "The same rejects file as an Excel workbook"),
    ("POST", "/api/v1/uploads/{id}/commit", commit_upload, at_least("manager"),
     "Commit an upload's valid rows (new + update) in one transaction, skipping invalid, "
     "repeated and DND rows; {\"strict\": true} refuses instead when any row is invalid "
     "(409 invalid_rows); then allocate (allocate: none/store/language/round_robin)"),
]
