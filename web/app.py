"""The aiohttp app factory: one routes table, resources opened and closed in
``cleanup_ctx``, domain errors mapped to JSON with a stable ``error`` id."""
from __future__ import annotations

import logging
import socket
import time

from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from callcenter import audit, features
from callcenter.config import Settings
from callcenter.errors import DomainError
from callcenter.loops import RateLimitedLog
from callcenter.outages import as_outage
from callcenter.services import close_services, open_services
from web import errors, live_calls, openapi, render, session_http, sessions
from web.auth import PUBLIC, AuthError, at_least, authenticate
from web.hub import Hub
from web.keys import HUB, SERVICES

log = logging.getLogger(__name__)
outage_log = RateLimitedLog(log)  # one line per kind of outage a minute, not one per request
STATIC = Path(__file__).resolve().parent / "static"


async def healthz(request: web.Request) -> web.Response:
    """AMI, database and Redis reachable, every background loop and managed
    process running; what the call writer still owes (rows, releases)."""
    services = request.app[SERVICES]
    checks = {"ami": services.ami.connected}
    try:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = False
    try:
        checks["redis"] = bool(await services.redis.ping())
    except Exception:  # noqa: BLE001
        checks["redis"] = False
    checks["loops"] = services.loops.all_running()
    checks["processes"] = all(p["up"] for p in services.supervisor.health().values())
    ok = all(checks.values())
    web_settings = services.settings.web
    return web.json_response({"status": "ok" if ok else "unhealthy", "checks": checks,
                              "server": f"{socket.gethostname()}:{web_settings.port}",
                              "ami_reconnects": services.ami.reconnects,
                              "pbx_nodes": services.nodes.status() if services.nodes else {},
                              "loops": services.loops.health(), "processes": services.supervisor.health(),
                              "backlog": services.effects.backlog,
                              "leases": services.ownership.health() if services.ownership else {}},
                             status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[SERVICES].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi_doc(request: web.Request) -> web.Response:
    return web.json_response(openapi.document(ROUTES))


# (method, path, handler, roles, summary): every route declares who may use it.
SERVER_ROUTES = [
    ("GET", "/healthz", healthz, (PUBLIC,), "AMI, database and Redis reachable"),
    ("GET", "/metrics", metrics, (PUBLIC,), "Prometheus metrics"),
    ("GET", "/api/v1/openapi.json", openapi_doc, (PUBLIC,), "This API's OpenAPI document"),
    ("GET", "/ws", live_calls.live_socket, at_least("agent"),
     "The page's live socket (WebSocket): calls, reminders, bucket counts"),
    *session_http.ROUTES,
]


def routes_of(feature_list) -> list:
    """The server's own routes, then each feature's in the list's order."""
    return [*SERVER_ROUTES, *(route for feature in feature_list for route in feature.routes)]


FEATURES = features.load()
ROUTES = routes_of(FEATURES)
render.add_template_folders(f.templates for f in FEATURES)


def _route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def api_middleware(request: web.Request, handler):
    """Deny by default (a route needs declared roles), authenticate, map errors:
    JSON for the API, a small HTML page (or a redirect to the login page) for
    browser pages; security headers on every response."""
    services = request.app[SERVICES]
    route = _route_label(request)
    started = time.perf_counter()
    request_id = audit.start_request(request.headers.get("X-Request-Id"))  # on the audit rows it writes
    services.metrics.api_requests.labels(route, request.method).inc()
    try:
        resource = request.match_info.route.resource
        roles = getattr(handler, "roles", None) or (
            _ROLES.get((request.method, resource.canonical)) if resource is not None else None)
        if isinstance(request.match_info.route.resource, web.StaticResource):
            roles = (PUBLIC,)  # the files under web/static only
        if roles is None:  # deny by default: a route without declared roles is closed
            raise AuthError(404, "not_found", "no such route")
        await authenticate(request, roles)
        response = await handler(request)
    except AuthError as error:
        if error.status == 401 and errors.is_page(request):
            response = errors.login_redirect(request)
        else:
            response = await errors.respond(request, error.status, error.error_id, error.message)
    except DomainError as error:
        response = await errors.respond(request, error.status, error.error_id, error.message, error.details)
        if getattr(error, "retry_after", None):
            response.headers["Retry-After"] = str(error.retry_after)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = await errors.respond(request, error.status, error.reason.lower().replace(" ", "_"),
                                  error.reason)
    except Exception as error:  # noqa: BLE001 - an outage answers 503, anything else 500
        outage = as_outage(error)
        if outage is None:
            log.exception("unhandled error on %s %s (request %s)", request.method, route, request_id)
            response = await errors.respond(request, 500, "internal_error", "internal error")
        else:
            outage_log.warning(outage.error_id, "%s on %s %s (request %s): %s", outage.error_id, request.method,
                               route, request_id, error)
            response = await errors.respond(request, outage.status, outage.error_id, outage.message)
            response.headers["Retry-After"] = str(outage.retry_after)
    errors.secure_headers(request, response)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    status = response.status
    services.metrics.api_responses.labels(route, f"{status // 100}xx").inc()
    if status >= 500:
        services.metrics.api_failures.labels(route).inc()
    if status in (401, 403, 409, 422, 429, 503):
        services.metrics.api_rejected.labels(route, str(status)).inc()
    services.metrics.api_latency.labels(route).observe(time.perf_counter() - started)
    return response


# Roles by (method, path): one handler may serve GET and POST with different roles.
_ROLES: dict = {}


def add_routes(app: web.Application, routes) -> None:
    """Each route into the app's router, its roles where the middleware finds them."""
    for method, path, handler, roles, _summary in routes:
        _ROLES[(method, path)] = roles
        app.router.add_route(method, path, handler)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[api_middleware], client_max_size=64 * 1024)

    async def services_ctx(app: web.Application):
        services = app[SERVICES] = await open_services(settings, FEATURES)
        hub = app[HUB] = Hub(services.live, lambda session_id: sessions.still_valid(services, session_id))
        hub.start()
        yield
        await hub.close()
        await close_services(services)

    async def close_sockets(app: web.Application):
        if HUB in app:
            await app[HUB].close_sockets()

    app.cleanup_ctx.append(services_ctx)
    app.on_shutdown.append(close_sockets)
    add_routes(app, ROUTES)
    app.router.add_static("/static/", STATIC, name="static", follow_symlinks=False, show_index=False)
    return app
