"""The webhooks page (/admin/webhooks, admins): each endpoint with its
recent deliveries and their attempts, forms to register one (its secret shown
once, on the answer to the form), rotate the secret, pause or resume, send a
test event, and send a failed delivery again."""
from __future__ import annotations

from aiohttp import web

from callcenter import event_log
from callcenter.errors import DomainError
from callcenter.models import utcnow
from callcenter.org.http import actor_of
from callcenter.webhooks import deliveries, endpoints
from callcenter.webhooks.exceptions import DeliveryNotFound, EndpointNotFound
from web.keys import SERVICES
from web.render import render
from web.requests import path_int

RECENT = 10


async def webhooks_page(request: web.Request, *, error: DomainError | None = None, form: bool = False,
                        values: dict | None = None, secret: dict | None = None, status: int = 200) -> web.Response:
    """The page; ``error`` of the new-endpoint form (``form``, its ``values`` kept) or of a button."""
    async with request.app[SERVICES].sessions() as session:
        rows, counts = await endpoints.all_endpoints(session), await deliveries.counts(session)
        recent = {e.id: await deliveries.recent(session, e.id, RECENT) for e in rows}
        attempts = await deliveries.attempts_of(session, [d.id for ds in recent.values() for d in ds])
    return render(request, "webhooks/list.html", {
        "endpoints": rows, "counts": counts, "recent": recent, "attempts": attempts, "kinds": event_log.KINDS,
        "error": None if form else error, "form_error": error if form else None, "values": values or {"kinds": list(event_log.KINDS)}, "secret": secret,
        "done": request.query.get("done", "")}, status=error.status if error else status)


async def webhooks_get(request: web.Request) -> web.Response:
    return await webhooks_page(request)


async def create_form(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    post = await request.post()
    values = {"url": str(post.get("url", "")), "description": str(post.get("description", "")),
              "kinds": [str(k) for k in post.getall("kinds", [])]}
    try:
        async with services.sessions() as session, session.begin():
            endpoint, secret = await endpoints.create(session, services.settings, actor_of(request),
                                                      url=values["url"], kinds=values["kinds"],
                                                      description=values["description"])
            shown = {"endpoint_id": endpoint.id, "url": endpoint.url, "value": secret}
    except DomainError as exc:
        return await webhooks_page(request, error=exc, form=True, values=values)
    return await webhooks_page(request, secret=shown, status=201)


async def rotate_form(request: web.Request) -> web.Response:
    await request.post()  # the CSRF token, checked before the handler
    endpoint_id = path_int(request, "id", EndpointNotFound("no such webhook endpoint"))
    async with request.app[SERVICES].sessions() as session, session.begin():
        endpoint, secret = await endpoints.rotate(session, actor_of(request), endpoint_id)
        shown = {"endpoint_id": endpoint.id, "url": endpoint.url, "value": secret}
    return await webhooks_page(request, secret=shown)


async def active_form(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    post = await request.post()
    endpoint_id = path_int(request, "id", EndpointNotFound("no such webhook endpoint"))
    active = post.get("active") == "true"
    async with services.sessions() as session, session.begin():
        await endpoints.change(session, services.settings, actor_of(request), endpoint_id, {"active": active})
    raise web.HTTPSeeOther(f"/admin/webhooks?done={'resumed' if active else 'paused'}")


async def ping_form(request: web.Request) -> web.Response:
    await request.post()
    endpoint_id = path_int(request, "id", EndpointNotFound("no such webhook endpoint"))
    async with request.app[SERVICES].sessions() as session, session.begin():
        deliveries.ping(session, await endpoints.get(session, endpoint_id), actor_of(request), utcnow())
    raise web.HTTPSeeOther("/admin/webhooks?done=ping")


async def redeliver_form(request: web.Request) -> web.Response:
    await request.post()
    delivery_id = path_int(request, "id", DeliveryNotFound("no such delivery"))
    try:
        async with request.app[SERVICES].sessions() as session, session.begin():
            await deliveries.redeliver(session, actor_of(request), delivery_id, utcnow())
    except DomainError as exc:
        return await webhooks_page(request, error=exc)
    raise web.HTTPSeeOther("/admin/webhooks?done=redeliver")


ROUTES = [
    ("GET", "/admin/webhooks", webhooks_get, ("admin",), "Webhooks page: endpoints, deliveries, attempts"),
    ("POST", "/admin/webhooks", create_form, ("admin",), "Register a webhook endpoint (form; secret shown once)"),
    ("POST", "/admin/webhooks/{id}/rotate", rotate_form, ("admin",), "A new secret for an endpoint (form)"),
    ("POST", "/admin/webhooks/{id}/active", active_form, ("admin",), "Pause or resume an endpoint (form)"),
    ("POST", "/admin/webhooks/{id}/ping", ping_form, ("admin",), "Send a test event to an endpoint (form)"),
    ("POST", "/admin/webhook-deliveries/{id}/redeliver", redeliver_form, ("admin",),
     "Send a failed delivery again (form)"),
]
