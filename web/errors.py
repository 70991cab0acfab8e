"""Error responses shaped for who asked: a small HTML page for browser pages,
JSON ``{"error": id, "message": ...}`` for the API; and the security headers
every response carries."""
from __future__ import annotations

import logging
import unicodedata
from urllib.parse import quote

from aiohttp import web

from web import auth, sessions
from web.render import render
from web.transport import cookie_secure

log = logging.getLogger(__name__)

# Paths answered in JSON (or raw) whatever the error; everything else is a page.
NON_PAGE_PREFIXES = ("/api/", "/static/")
NON_PAGE_PATHS = frozenset({"/healthz", "/metrics", "/ws", "/sip"})
URL_TEXT = "/?&=%#:;,+@!$'()*[]~-._"  # kept as they are in a redirect; the rest is percent-encoded

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")

TITLES = {400: "Bad request", 401: "Please log in", 403: "Not allowed", 404: "Not found",
          405: "Not allowed", 409: "Conflict", 413: "Too large", 422: "Cannot be done",
          429: "Too many attempts", 500: "Something went wrong", 503: "Unavailable"}


def is_page(request: web.Request) -> bool:
    path = request.path
    return not path.startswith(NON_PAGE_PREFIXES) and path not in NON_PAGE_PATHS


def _invisible(char: str) -> bool:
    """Control, format, unassigned and line/paragraph-separator characters."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def safe_next(value: str | None, default: str = "/") -> str:
    """A path of this site to go to (after login), fit for a ``Location``
    header: what is not ASCII URL text is percent-encoded. Anything else gives
    ``default``: other sites, ``//`` in the path (``//host``, ``/.//host``),
    back-slashes, control or invisible characters (CR, LF, U+2028...), the
    login and logout pages."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 2000:
        return default
    path = value.split("?")[0].split("#")[0]
    if ("//" in path or "\\" in value or any(_invisible(c) for c in value)
            or path.rstrip("/") in ("/login", "/logout")):
        return default
    return quote(value, safe=URL_TEXT)


def login_redirect(request: web.Request) -> web.Response:
    """303 to the login page, coming back here afterwards (GET pages only)."""
    location = "/login"
    if request.method == "GET":
        target = safe_next(request.path_qs, default="")
        if target and target != "/":
            location += "?next=" + quote(target, safe="/")
    return web.Response(status=303, headers={"Location": location})


async def respond(request: web.Request, status: int, error_id: str, message: str,
                  details: dict | None = None) -> web.Response:
    if not is_page(request):
        return web.json_response({"error": error_id, "message": message, **(details or {})}, status=status)
    try:
        if auth.PRINCIPAL not in request and request.headers.get("Authorization") is None:
            try:
                session = await sessions.current(request)  # the page keeps its nav and CSRF token
            except Exception:  # noqa: BLE001 - Redis down: the error page says so without the nav
                session = None
            if session is not None:
                request[auth.PRINCIPAL] = sessions.principal_of_session(session)
        return render(request, "error.html", {"status": status, "error_id": error_id, "message": message,
                                              "title": TITLES.get(status, "Error")}, status=status)
    except Exception:  # noqa: BLE001 - an error page must never fail
        log.exception("error page failed to render")
        return web.Response(text=f"{status} {message}", status=status)


def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:  # a WebSocket or a streamed body: headers already sent
        return
    headers = response.headers
    if response.cookies:  # a flash message's cookie is as Secure as the session's
        if cookie_secure(request):
            for morsel in response.cookies.values():
                morsel["secure"] = True
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")  # the desk frames the pages (webphone)
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", CSP)
    if response.content_type == "text/html" and not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
