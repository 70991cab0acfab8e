"""JSON API of the webhooks (admins): endpoints (the secret only in the
answer that creates or rotates it), their deliveries with every attempt, a
test ping, a failed delivery sent again. Thin handlers: the rules are in
endpoints.py and deliveries.py."""
from __future__ import annotations

from aiohttp import web

from callcenter.customers.http import jsonable
from callcenter.models import utcnow
from callcenter.org.http import actor_of, int_param, json_body
from callcenter.webhooks import deliveries, endpoints
from callcenter.webhooks.exceptions import DeliveryNotFound, EndpointNotFound, InvalidEndpoint
from callcenter.webhooks.models import DELIVERY_STATUSES, WebhookDelivery, WebhookEndpoint
from web.auth import at_least
from web.keys import SERVICES
from web.requests import path_int

FIELDS = {"url", "kinds", "description", "active"}


def endpoint_json(e: WebhookEndpoint, counts: dict | None = None) -> dict:
    """An endpoint as listed: never its secret."""
    return jsonable({"id": e.id, "url": e.url, "kinds": e.kinds, "active": e.active,
                     "paused_reason": e.paused_reason, "description": e.description,
                     "created_by": e.created_by, "created_at": e.created_at, "updated_at": e.updated_at,
                     "deliveries": counts or {}})


def delivery_json(d: WebhookDelivery, attempts) -> dict:
    return jsonable({
        "id": d.id, "endpoint_id": d.endpoint_id, "event_id": d.event_id, "kind": d.kind,
        "status": d.status, "attempts": d.attempts, "created_at": d.created_at, "delivered_at": d.delivered_at,
        "next_attempt_at": d.next_attempt_at if d.status in ("pending", "sending") else None,
        "attempt_log": [{"at": a.at, "status_code": a.status_code, "response": a.response, "error": a.error,
                         "duration_ms": a.duration_ms} for a in attempts]})


def endpoint_id_of(request: web.Request) -> int:
    return path_int(request, "id", EndpointNotFound("no such webhook endpoint"))


async def list_endpoints(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session:
        rows, counts = await endpoints.all_endpoints(session), await deliveries.counts(session)
    return web.json_response({"endpoints": [endpoint_json(e, counts.get(e.id)) for e in rows]})


async def create_endpoint(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_body(request, FIELDS)
    async with services.sessions() as session, session.begin():
        endpoint, secret = await endpoints.create(
            session, services.settings, actor_of(request), url=body.get("url"), kinds=body.get("kinds"),
            description=body.get("description"), active=body.get("active", True))
        out = {**endpoint_json(endpoint), "secret": secret}
    return web.json_response(out, status=201)


async def get_endpoint(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session:
        endpoint = await endpoints.get(session, endpoint_id_of(request))
        counts = (await deliveries.counts(session)).get(endpoint.id)
    return web.json_response(endpoint_json(endpoint, counts))


async def change_endpoint(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_body(request, FIELDS)
    async with services.sessions() as session, session.begin():
        endpoint = await endpoints.change(session, services.settings, actor_of(request),
                                          endpoint_id_of(request), body)
        out = endpoint_json(endpoint)
    return web.json_response(out)


async def rotate_secret(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session, session.begin():
        endpoint, secret = await endpoints.rotate(session, actor_of(request), endpoint_id_of(request))
        out = {**endpoint_json(endpoint), "secret": secret}
    return web.json_response(out)


async def send_ping(request: web.Request) -> web.Response:
    async with request.app[SERVICES].sessions() as session, session.begin():
        endpoint = await endpoints.get(session, endpoint_id_of(request))
        row = deliveries.ping(session, endpoint, actor_of(request), utcnow())
        await session.flush()
        out = delivery_json(row, [])
    return web.json_response(out, status=202)


async def list_deliveries(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidEndpoint(f"status must be one of {', '.join(DELIVERY_STATUSES)}", field="status")
    limit = int_param(request, "limit", 50, minimum=1, maximum=500)
    async with request.app[SERVICES].sessions() as session:
        endpoint = await endpoints.get(session, endpoint_id_of(request))
        rows = await deliveries.recent(session, endpoint.id, limit, status)
        attempts = await deliveries.attempts_of(session, [r.id for r in rows])
    return web.json_response({"deliveries": [delivery_json(r, attempts[r.id]) for r in rows]})


async def redeliver(request: web.Request) -> web.Response:
    delivery_id = path_int(request, "id", DeliveryNotFound("no such delivery"))
    async with request.app[SERVICES].sessions() as session, session.begin():
        row = await deliveries.redeliver(session, actor_of(request), delivery_id, utcnow())
        out = delivery_json(row, [])
    return web.json_response(out, status=202)


ADMIN = at_least("admin")
ROUTES = [
    ("GET", "/api/v1/webhooks", list_endpoints, ADMIN, "Webhook endpoints (never their secrets)"),
    ("POST", "/api/v1/webhooks", create_endpoint, ADMIN,
     "Register an endpoint {url, kinds, description?, active?}: the answer holds its secret, once"),
    ("GET", "/api/v1/webhooks/{id}", get_endpoint, ADMIN, "One webhook endpoint (not its secret)"),
    ("PATCH", "/api/v1/webhooks/{id}", change_endpoint, ADMIN,
     "Change an endpoint's url, kinds, description or active (pause / resume)"),
    ("POST", "/api/v1/webhooks/{id}/rotate", rotate_secret, ADMIN, "A new secret for the endpoint, shown once"),
    ("POST", "/api/v1/webhooks/{id}/ping", send_ping, ADMIN, "Send a test event (kind ping) to this endpoint"),
    ("GET", "/api/v1/webhooks/{id}/deliveries", list_deliveries, ADMIN,
     "The endpoint's deliveries, newest first, with every attempt (?status, limit)"),
    ("POST", "/api/v1/webhook-deliveries/{id}/redeliver", redeliver, ADMIN, "Send a failed delivery again"),
]
