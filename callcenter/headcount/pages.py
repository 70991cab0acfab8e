"""Head-count pages: upload a file (validated at once), its report (counts,
invalid rows by number, planned changes, the CSV), and the commit button."""
from __future__ import annotations

from aiohttp import web

from callcenter import audit
from callcenter.errors import DomainError
from callcenter.headcount import service as headcount
from callcenter.headcount.commit import commit_headcount
from callcenter.org.exceptions import InvalidField
from callcenter.spreadsheets import store as files
from web import csrf
from web.audit_views import viewed
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import csv_file, path_int


async def headcount_page(request: web.Request) -> web.Response:
    """GET: the upload form and recent uploads. POST: validate the file, then
    show its report (nothing is changed until the commit)."""
    scope = await scope_of(request)
    services = request.app[SERVICES]
    actor = principal_of(request).name
    error = None
    if request.method == "POST":
        saved = None
        try:
            reader = await csrf.multipart(request)
            while (part := await reader.next()) is not None:
                if part.name == "file" and part.filename and saved is None:
                    saved = await files.save_part(part, services.settings.uploads_dir,
                                                  files.max_bytes(services.settings))
                else:
                    await part.release()
            if saved is None:
                raise InvalidField("choose a CSV or XLSX head-count file", field="file")
            async with services.sessions() as session:
                upload = await headcount.validate_headcount(session, services.settings, scope, saved,
                                                            actor=actor)
                await session.commit()
            raise web.HTTPSeeOther(f"/admin/headcount/{upload.id}")
        except DomainError as exc:
            if saved is not None:
                files.delete(services.settings.uploads_dir, saved.stored_name)
            error = exc
    async with services.sessions() as session:
        uploads = await headcount.list_uploads(session, scope, actor)
    return render(request, "headcount/index.html", {
        "uploads": uploads, "error": error, "max_mb": services.settings.work.upload_max_mb},
        status=error.status if error else 200)


async def upload_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    async with request.app[SERVICES].sessions() as session:
        upload = await headcount.get_upload(session, scope, path_int(request), principal_of(request).name)
    return render(request, "headcount/upload.html", {
        "upload": upload, "report": upload.report or {}, "error": None,
        "committed_now": request.query.get("committed")})


async def report_csv(request: web.Request) -> web.StreamResponse:
    scope = await scope_of(request)
    async with request.app[SERVICES].sessions() as session:
        upload = await headcount.get_upload(session, scope, path_int(request), principal_of(request).name)
    path = headcount.report_file(request.app[SERVICES].settings, upload)
    await viewed(request, audit.REPORT_EXPORTED, rows=upload.total, report="headcount", upload=upload.id)
    return csv_file(path, f"headcount-{upload.id}-report.csv")


async def commit_action(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    services = request.app[SERVICES]
    upload_id = path_int(request)
    actor = principal_of(request).name
    async with services.sessions() as session:
        try:
            await commit_headcount(session, services.settings, scope, upload_id, actor=actor)
            await session.commit()
        except DomainError as exc:
            await session.rollback()
            upload = await headcount.get_upload(session, scope, upload_id, actor)
            return render(request, "headcount/upload.html", {
                "upload": upload, "report": upload.report or {}, "error": exc,
                "committed_now": None}, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/headcount/{upload_id}?committed=1")


ROUTES = [
    ("GET", "/admin/headcount", headcount_page, at_least("manager"), "Head-count import page"),
    ("POST", "/admin/headcount", headcount_page, at_least("manager"), "Upload and validate a head count (form)"),
    ("GET", "/admin/headcount/{id}", upload_page, at_least("manager"), "A head count's validation report"),
    ("GET", "/admin/headcount/{id}/report.csv", report_csv, at_least("manager"),
     "A head count's report as CSV"),
    ("POST", "/admin/headcount/{id}/commit", commit_action, at_least("manager"),
     "Commit a validated head count, all or nothing (form)"),
]
