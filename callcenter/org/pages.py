"""Admin pages of the organisation: /admin (index), locations, stores (with
the store-list import), teams. (Users and the head count have their own:
callcenter/users/pages.py, callcenter/headcount/pages.py.) Managers see their
location's stores and manage its teams; every change goes through org/service.py."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from callcenter.errors import DomainError
from callcenter.models import Trunk, User
from callcenter.org import service, store_import
from callcenter.org.exceptions import InvalidField
from callcenter.org.languages import INDIAN
from callcenter.org.models import Location, Store, Team
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.models import Upload
from web import csrf
from web.auth import at_least, principal_of, scope_of
from web.keys import SERVICES
from web.render import render
from web.requests import page_number, path_int, whole_number

PAGE = 50


def form_dict(post) -> dict:
    return {k: v.strip() for k, v in post.items() if k != csrf.FIELD and isinstance(v, str)}


async def _count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def admin_index(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session:
        counts = {"locations": await _count(session, Location), "stores": await _count(session, Store),
                  "teams": await _count(session, Team),
                  "users": await _count(session, User, User.active.is_(True)),
                  "headcounts": await _count(session, Upload, Upload.kind == "headcount"),
                  "trunks": await _count(session, Trunk, Trunk.removed_at.is_(None))}
    return render(request, "org/index.html", {"counts": counts})


async def locations_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    error, values = None, {}
    async with request.app[SERVICES].sessions() as session:
        if request.method == "POST":
            values = form_dict(await request.post())
            try:
                await service.create_location(session, scope, values.get("code"), values.get("name"),
                                              actor=principal_of(request).name)
                await session.commit()
                raise web.HTTPSeeOther("/admin/locations?created=" + values.get("code", ""))
            except DomainError as exc:
                await session.rollback()
                error = exc
        rows = await service.list_locations(session, scope)
        return render(request, "org/locations.html", {
            "locations": rows, "error": error, "values": values,
            "created": request.query.get("created", "")}, status=error.status if error else 200)


async def _store_choices(session, scope) -> dict:
    return {"locations": await service.list_locations(session, scope), "languages": INDIAN}


async def stores_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    error, values, page = None, {"language": "en"}, page_number(request)
    location_id = whole_number(request.query.get("location"))
    q = request.query.get("q", "").strip()[:60]
    async with request.app[SERVICES].sessions() as session:
        if request.method == "POST":
            values = form_dict(await request.post())
            try:
                data = {**values, "location": whole_number(values.get("location"))}
                store = await service.create_store(session, scope, data, actor=principal_of(request).name)
                await session.commit()
                raise web.HTTPSeeOther(f"/admin/stores?q={store.code}&created=1")
            except DomainError as exc:
                await session.rollback()
                error = exc
        rows, total = await service.list_stores(session, scope, location_id=location_id, q=q or None,
                                                limit=PAGE, offset=(page - 1) * PAGE)
        choices = await _store_choices(session, scope)
        return render(request, "org/stores.html", {
            "stores": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE)),
            "q": q, "location_id": location_id, "error": error, "values": values,
            "names": {loc.id: loc.code for loc in choices["locations"]},
            "created": request.query.get("created"), "can_edit": scope.sees_all, **choices},
            status=error.status if error else 200)


async def create_store_action(request: web.Request) -> web.Response:
    """POST of the stores page (its own handler: the app keys route roles by handler)."""
    return await stores_page(request)


async def store_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    store_id = path_int(request)
    error = None
    async with request.app[SERVICES].sessions() as session:
        store = await service.get_store(session, scope, store_id)
        values = {"name": store.name, "city": store.city, "region": store.region,
                  "language": store.language, "location": str(store.location_id or ""),
                  "active": store.active}
        if request.method == "POST":
            values = form_dict(await request.post())
            data = {**values, "location": whole_number(values.get("location")),
                    "active": values.get("active") == "on"}
            try:
                await service.update_store(session, scope, store_id, data, actor=principal_of(request).name)
                await session.commit()
                raise web.HTTPSeeOther(f"/admin/stores/{store_id}?saved=1")
            except DomainError as exc:
                await session.rollback()
                error = exc
                store = await service.get_store(session, scope, store_id)
        executives = await _count(session, User, User.store_id == store.id, User.active.is_(True))
        return render(request, "org/store.html", {
            "store": store, "values": values, "error": error, "executives": executives,
            "saved": request.query.get("saved"), **(await _store_choices(session, scope))},
            status=error.status if error else 200)


async def stores_import_page(request: web.Request) -> web.Response:
    """Upload a store list: every row checked; all imported, or none with the rows named."""
    scope = await scope_of(request)
    settings = request.app[SERVICES].settings
    result = error = None
    dry_run = False
    if request.method == "POST":
        reader = await csrf.multipart(request)
        saved = None
        try:
            while (part := await reader.next()) is not None:
                if part.name == "file" and part.filename:
                    saved = await files.save_part(part, settings.uploads_dir,
                                                  settings.work.upload_max_mb * 1024 * 1024)
                elif part.name == "dry_run":
                    dry_run = (await part.text()) == "on"
                else:
                    await part.release()
            if saved is None:
                raise InvalidField("choose a CSV or XLSX file", field="file")
            rows = store_import.read_store_file(saved.path, name=saved.original_name)
            async with request.app[SERVICES].sessions() as session:
                result = await store_import.import_stores(session, scope, rows, dry_run=dry_run,
                                                          actor=principal_of(request).name)
                await session.commit()
        except DomainError as exc:
            error = exc
        finally:
            if saved is not None:
                files.delete(settings.uploads_dir, saved.stored_name)
    return render(request, "org/stores_import.html", {
        "result": result, "error": error, "dry_run": dry_run,
        "rows": (error.details.get("errors", []) if error else [])[:500]},
        status=error.status if error else 200)


async def teams_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    error, values = None, {}
    async with request.app[SERVICES].sessions() as session:
        if request.method == "POST":
            values = form_dict(await request.post())
            try:
                await service.create_team(session, scope, values.get("name"),
                                          whole_number(values.get("location")),
                                          actor=principal_of(request).name)
                await session.commit()
                raise web.HTTPSeeOther("/admin/teams?created=1")
            except DomainError as exc:
                await session.rollback()
                error = exc
        teams = await service.list_teams(session, scope)
        locations = await service.list_locations(session, scope)
        return render(request, "org/teams.html", {
            "teams": teams, "sizes": await service.team_sizes(session, [t.id for t in teams]),
            "locations": locations, "names": {loc.id: loc.code for loc in locations},
            "error": error, "values": values, "created": request.query.get("created"),
            "can_create": scope.sees_all or scope.role == "manager"},
            status=error.status if error else 200)


async def team_page(request: web.Request) -> web.Response:
    scope = await scope_of(request)
    team_id = path_int(request)
    error = None
    async with request.app[SERVICES].sessions() as session:
        team = await service.get_team(session, scope, team_id)
        values = {"name": team.name, "location": str(team.location_id)}
        if request.method == "POST":
            values = form_dict(await request.post())
            try:
                await service.update_team(session, scope, team_id, name=values.get("name"),
                                          location_ref=whole_number(values.get("location")),
                                          actor=principal_of(request).name)
                await session.commit()
                raise web.HTTPSeeOther(f"/admin/teams/{team_id}?saved=1")
            except DomainError as exc:
                await session.rollback()
                error = exc
                team = await service.get_team(session, scope, team_id)
        return render(request, "org/team.html", {
            "team": team, "values": values, "error": error, "saved": request.query.get("saved"),
            "members": (await service.team_sizes(session, [team.id])).get(team.id, 0),
            "locations": await service.list_locations(session, scope),
            "can_edit": service.manages_location(scope, team.location_id)},
            status=error.status if error else 200)


ROUTES = [
    ("GET", "/admin", admin_index, ("admin",), "Administration page"),
    ("GET", "/admin/locations", locations_page, ("admin",), "Locations page"),
    ("POST", "/admin/locations", locations_page, ("admin",), "Create a location (form)"),
    ("GET", "/admin/stores", stores_page, at_least("manager"), "Stores page"),
    ("POST", "/admin/stores", create_store_action, ("admin",), "Create a store (form)"),
    ("GET", "/admin/stores/import", stores_import_page, ("admin",), "Store-list import page"),
    ("POST", "/admin/stores/import", stores_import_page, ("admin",), "Import a store list (form)"),
    ("GET", "/admin/stores/{id}", store_page, ("admin",), "A store's page"),
    ("POST", "/admin/stores/{id}", store_page, ("admin",), "Change a store (form)"),
    ("GET", "/admin/teams", teams_page, at_least("manager"), "Teams page"),
    ("POST", "/admin/teams", teams_page, at_least("manager"), "Create a team (form)"),
    ("GET", "/admin/teams/{id}", team_page, at_least("manager"), "A team's page"),
    ("POST", "/admin/teams/{id}", team_page, at_least("manager"), "Rename or move a team (form)"),
]
