"""Customer pages of this feature: the DND list (search, add one number,
import a file, remove for admins) and, collected here, the upload pages of
callcenter/uploads/pages.py. (The customer 360 page lives in profile_pages.)"""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from callcenter.customers import dnd, dnd_import
from callcenter.errors import DomainError
from callcenter.uploads import pages as uploads_pages
from callcenter.uploads import service as uploads
from callcenter.uploads.http import receive_file
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import page_number

PAGE = 50


async def _dnd_context(request: web.Request, scope) -> dict:
    services = request.app[SERVICES]
    page = page_number(request)
    q = request.query.get("q", "").strip()[:20]
    async with services.sessions() as session:
        try:
            rows, total = await dnd.list_numbers(session, search=q or None, limit=PAGE,
                                                 offset=(page - 1) * PAGE)
            search_error = None
        except DomainError as exc:
            rows, total, search_error = [], 0, exc.message
        recent = await uploads.list_uploads(session, scope, kind="dnd", limit=10)
    return {"numbers": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE)),
            "q": q, "search_error": search_error, "recent": recent,
            "can_remove": scope.sees_all, "max_mb": services.settings.work.upload_max_mb,
            "added": request.query.get("added"), "removed": request.query.get("removed"),
            "already": request.query.get("already")}


async def dnd_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    return render(request, "dnd/index.html", {**await _dnd_context(request, scope), "error": None})


async def _error_page(request: web.Request, scope, error: DomainError) -> web.Response:
    return render(request, "dnd/index.html", {**await _dnd_context(request, scope), "error": error},
                  status=error.status)


async def add_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    post = await request.post()
    try:
        async with services.sessions() as session:
            number, added = await dnd.add_number(session, post.get("number", ""),
                                                 actor=principal_of(request).name,
                                                 region=services.settings.calls.default_region)
            await session.commit()
    except DomainError as exc:
        return await _error_page(request, scope, exc)
    raise web.HTTPSeeOther(f"/dnd?{'added' if added else 'already'}={quote(number)}")


async def remove_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    post = await request.post()
    try:
        async with services.sessions() as session:
            number = await dnd.remove_number(session, post.get("number", ""),
                                             actor=principal_of(request).name,
                                             region=services.settings.calls.default_region)
            await session.commit()
    except DomainError as exc:
        return await _error_page(request, scope, exc)
    raise web.HTTPSeeOther(f"/dnd?removed={quote(number)}")


async def import_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    scope = await scope_of(request)
    try:
        dnd_import.may_import(scope)
        saved = await receive_file(request)
        async with services.sessions() as session:
            upload = await dnd_import.validate_dnd_upload(session, scope, saved,
                                                          actor=principal_of(request).name,
                                                          settings=services.settings)
            await session.commit()
    except DomainError as exc:
        return await _error_page(request, scope, exc)
    raise web.HTTPSeeOther(f"/uploads/{upload.id}")


ROUTES = [
    *uploads_pages.ROUTES,
    ("GET", "/dnd", dnd_page, at_least("manager"), "DND list page"),
    ("POST", "/dnd/add", add_page, at_least("manager"), "Add a number to the DND list (form)"),
    ("POST", "/dnd/import", import_page, at_least("manager"), "Import a DND file (form): its report"),
    ("POST", "/dnd/remove", remove_page, at_least("admin"), "Take a number off the DND list (form)"),
]
