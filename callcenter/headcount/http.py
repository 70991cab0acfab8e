"""JSON API of the head-count import: upload and validate (multipart field
``file``, or the raw CSV/XLSX body with ``?name=headcount.xlsx``), read the
result, download the report CSV, commit all or nothing."""
from __future__ import annotations

from aiohttp import web

from callcenter import audit
from callcenter.headcount import service as headcount
from callcenter.headcount.commit import commit_headcount
from callcenter.org.http import actor_of, int_param, receive_file, scoped
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.models import Upload
from web.audit_views import viewed
from web.auth import at_least
from callcenter.clock import utc_iso
from web.keys import SERVICES
from web.requests import csv_file, path_int


def upload_json(upload: Upload) -> dict:
    report = upload.report or {}
    return {"id": upload.id, "kind": upload.kind, "status": upload.status,
            "file": upload.original_name, "total": upload.total, "valid": upload.valid,
            "invalid": upload.invalid, "duplicate_employee_ids": upload.duplicates_in_file,
            "known_employees": upload.duplicates_existing, "planned": report.get("planned", {}),
            "invalid_rows": report.get("invalid_rows", []), "changes": report.get("changes", []),
            "result": report.get("result"), "created_by": upload.created_by,
            "created_at": utc_iso(upload.created_at), "committed_at": utc_iso(upload.committed_at),
            "report_url": f"/api/v1/headcount/{upload.id}/report.csv"}


async def validate(request: web.Request) -> web.Response:
    saved = await receive_file(request)
    settings = request.app[SERVICES].settings
    try:
        async with scoped(request, write=True) as (session, scope):
            upload = await headcount.validate_headcount(session, settings, scope, saved,
                                                        actor=actor_of(request))
            out = upload_json(upload)
    except BaseException:
        files.delete(settings.uploads_dir, saved.stored_name)
        raise
    return web.json_response(out, status=201)


async def list_uploads(request: web.Request) -> web.Response:
    limit = int_param(request, "limit", 20, minimum=1, maximum=200)
    async with scoped(request) as (session, scope):
        rows = await headcount.list_uploads(session, scope, actor_of(request), limit)
    return web.json_response({"uploads": [upload_json(u) for u in rows]})


async def get_upload(request: web.Request) -> web.Response:
    async with scoped(request) as (session, scope):
        upload = await headcount.get_upload(session, scope, path_int(request), actor_of(request))
        return web.json_response(upload_json(upload))


async def report_csv(request: web.Request) -> web.StreamResponse:
    settings = request.app[SERVICES].settings
    async with scoped(request) as (session, scope):
        upload = await headcount.get_upload(session, scope, path_int(request), actor_of(request))
    path = headcount.report_file(settings, upload)
    await viewed(request, audit.REPORT_EXPORTED, rows=upload.total, report="headcount", upload=upload.id)
    return csv_file(path, f"headcount-{upload.id}-report.csv")


async def commit(request: web.Request) -> web.Response:
    settings = request.app[SERVICES].settings
    async with scoped(request, write=True) as (session, scope):
        result = await commit_headcount(session, settings, scope, path_int(request),
                                        actor=actor_of(request))
    return web.json_response({"status": "committed", **result.as_dict()})


ROUTES = [
    ("POST", "/api/v1/headcount", validate, at_least("manager"),
     "Upload a head count (CSV/XLSX) and validate it: the report, nothing changed yet"),
    ("GET", "/api/v1/headcount", list_uploads, at_least("manager"), "Recent head-count uploads"),
    ("GET", "/api/v1/headcount/{id}", get_upload, at_least("manager"), "A head-count upload and its report"),
    ("GET", "/api/v1/headcount/{id}/report.csv", report_csv, at_least("manager"),
     "The full validation report (row, status, mobile, reason)"),
    ("POST", "/api/v1/headcount/{id}/commit", commit, at_least("manager"),
     "Apply a validated head count, all or nothing; re-allocate leavers' customers"),
]
