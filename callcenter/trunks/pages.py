"""The trunks page (/admin/trunks, admins): every trunk with its live channel
usage (max, kept for inbound, in use, reserved, foreign, queued), a form to
add one and a button to remove one. Changes go through trunks/service.py
(validation, audit); the PBX config sync renders them into Asterisk within
its 2 s poll (poked at once here)."""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.pbx.homes import home_trunk
from callcenter.trunks import service
from callcenter.trunks.exceptions import InvalidChannels, InvalidPort
from callcenter.trunks.http import live_usage, sync_now
from web.auth import principal_of
from web.keys import SERVICES
from web.render import render

FORM_FIELDS = ("name", "host", "port", "channels", "inbound_headroom", "dids", "pilot", "node")


def _whole(values: dict, key: str, label: str, error) -> int:
    raw = values.get(key, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise error(f"the {label} must be a whole number (got {raw!r})" if raw else f"give the {label}")
    return int(raw)


async def _board(request: web.Request, session) -> dict:
    services = request.app[SERVICES]
    rows = await service.list_trunks(session)
    usage = await live_usage(services) if services.accounting is not None else {}
    nodes = services.nodes
    names = [node.name for node in nodes] if nodes is not None else []
    return {"trunks": rows, "usage": usage, "node_names": names}


async def trunks_page(request: web.Request, *, error: DomainError | None = None,
                      values: dict | None = None, removing: str | None = None,
                      undone: str = "removed") -> web.Response:
    """The page; ``error`` of the new-trunk form (``values`` kept) or of removing ``removing``."""
    settings = request.app[SERVICES].settings
    values = values or {"port": "5060", "channels": str(settings.trunks.channels),
                        "inbound_headroom": str(settings.trunks.inbound_headroom)}
    async with request.app[SERVICES].sessions() as session:
        board = await _board(request, session)
    return render(request, "trunks/list.html", {
        **board, "error": None if removing else error, "remove_error": error if removing else None,
        "removing": removing, "values": values, "undone": undone,
        "created": request.query.get("created", ""), "removed": request.query.get("removed", ""),
        "homed": request.query.get("homed", "")},
        status=error.status if error else 200)


async def trunks_get(request: web.Request) -> web.Response:
    return await trunks_page(request)


async def create_trunk_form(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    post = await request.post()
    values = {k: post.get(k, "").strip() if isinstance(post.get(k, ""), str) else "" for k in FORM_FIELDS}
    try:
        port = _whole(values, "port", "port", InvalidPort)
        channels = _whole(values, "channels", "channel count", InvalidChannels)
        headroom = _whole(values, "inbound_headroom", "inbound headroom", InvalidChannels)
        async with services.sessions() as session, session.begin():
            row = await service.add_trunk(session, values["name"], values["host"], port, values["dids"],
                                          channels=channels, inbound_headroom=headroom,
                                          pilot=values["pilot"] or None, actor=principal_of(request).name,
                                          node=values["node"] or services.settings.pbx.node)
            name = row.name
    except DomainError as exc:
        return await trunks_page(request, error=exc, values=values)
    await sync_now(services)
    raise web.HTTPSeeOther("/admin/trunks?created=" + quote(name))


async def remove_trunk_form(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await request.post()  # the CSRF token, checked before the handler
    name = request.match_info["name"]
    try:
        async with services.sessions() as session, session.begin():
            await service.remove_trunk(session, name, actor=principal_of(request).name)
    except DomainError as exc:
        return await trunks_page(request, error=exc, removing=name)
    await sync_now(services)
    raise web.HTTPSeeOther("/admin/trunks?removed=" + quote(name))


async def home_trunk_form(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    post = await request.post()
    name, node = request.match_info["name"], post.get("node", "")
    try:
        async with services.sessions() as session, session.begin():
            await home_trunk(session, name, node if isinstance(node, str) else "", actor=principal_of(request).name)
    except DomainError as exc:
        return await trunks_page(request, error=exc, removing=name, undone="moved")
    await sync_now(services)
    raise web.HTTPSeeOther("/admin/trunks?homed=" + quote(name))


ROUTES = [
    ("GET", "/admin/trunks", trunks_get, ("admin",), "Trunks page: live channel usage, add, remove"),
    ("POST", "/admin/trunks", create_trunk_form, ("admin",), "Add a trunk (form)"),
    ("POST", "/admin/trunks/{name}/remove", remove_trunk_form, ("admin",), "Remove a trunk (form)"),
    ("POST", "/admin/trunks/{name}/home", home_trunk_form, ("admin",), "Move a trunk to a PBX node (form)"),
]
