"""Logging in and out in the browser: GET/POST /login, POST /logout, and /
(the start page: the buckets).

The login form carries its own CSRF token (a random value in a short-lived
cookie and in the form, which must match) and must come from this origin, so
no other site can log a browser into an account of its choosing."""
from __future__ import annotations


import logging
import secrets
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select, update

from callcenter import audit
from callcenter.auth import passwords
from callcenter.models import User
from web import csrf, sessions, transport
from web.auth import PUBLIC, at_least, principal_of
from web.errors import safe_next
from web.keys import SERVICES
from web.render import render
from web.throttle import LoginThrottle

log = logging.getLogger(__name__)

LOGIN_COOKIE = "cc_login"
LOGIN_FORM_SECONDS = 3600
START_PAGE = "/buckets"
MAX_NAME = 64
# Verified against when the user is unknown, disabled or has no password, so
# every login attempt costs one argon2 verification.
_DUMMY_HASH = passwords.hash_password(secrets.token_urlsafe(24))


def _login_form(request: web.Request, *, name: str = "", next_url: str = "/",
                error: str | None = None, status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"csrf_token": token, "name": name, "next": next_url,
                                              "error": error}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=LOGIN_FORM_SECONDS, path="/login", httponly=True,
                        samesite="Strict", secure=transport.cookie_secure(request))
    return response


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _address(request: web.Request) -> str | None:
    return transport.client_address(request)


async def _audit(services, actor: str, action: str, entity_id, **details) -> None:
    async with services.sessions() as db:
        audit.record(db, actor, action, "user", entity_id, **details)
        await db.commit()


async def login_page(request: web.Request) -> web.Response:
    next_url = safe_next(request.query.get("next"))
    if await sessions.current(request) is not None:
        return _redirect(next_url)
    return _login_form(request, next_url=next_url)


async def login_submit(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    form = await request.post()
    name = str(form.get("name", "")).strip()[:MAX_NAME]
    password = str(form.get("password", ""))[:passwords.MAX_LENGTH]
    next_url = safe_next(str(form.get("next", "")))
    try:
        csrf.check_origin(request)
    except csrf.CsrfError as error:
        return _login_form(request, name=name, next_url=next_url, error=error.message, status=403)
    if not csrf.tokens_match(request.cookies.get(LOGIN_COOKIE, ""), form.get(csrf.FIELD)):
        return _login_form(request, name=name, next_url=next_url, status=403,
                           error="The login form had expired. Please try again.")
    if not name or not password:
        return _login_form(request, name=name, next_url=next_url, status=422,
                           error="Enter your user name and password.")
    address = _address(request)
    throttle = LoginThrottle(services.redis, services.settings)
    wait = await throttle.locked_for(name, address)
    if wait:
        await _audit(services, f"login:{name}", "login.refused_locked", name, address=address)
        minutes = max(1, round(wait / 60))
        return _login_form(request, name=name, next_url=next_url, status=429,
                           error=f"Too many failed logins. Try again in about {minutes} minute"
                                 f"{'s' if minutes != 1 else ''}.")
    async with services.sessions() as db:
        user = (await db.execute(select(User).where(User.name == name.lower()))).scalar_one_or_none()
    usable = user is not None and user.active and bool(user.password_hash)
    # argon2 (~0.2 s of CPU) off the event loop, with no database connection held:
    # a shift's logins never hold up calls, sockets or the SIP relay
    ok = await passwords.verify_password_async(user.password_hash if usable else _DUMMY_HASH, password) and usable
    if ok and passwords.needs_rehash(user.password_hash):
        rehashed = await passwords.hash_password_async(password)
        async with services.sessions() as db:
            await db.execute(update(User).where(User.id == user.id).values(password_hash=rehashed))
            await db.commit()
    if not ok:
        locked = await throttle.failed(name, address)
        await _audit(services, f"login:{name}", "login.failed", user.id if user else name, address=address)
        for kind in locked:
            log.warning("login locked for %s %s after repeated failures",
                        kind, name if kind == "user" else address)
            await _audit(services, f"login:{name}", "login.lockout", user.id if user else name,
                         address=address, locked=kind, minutes=services.settings.web.lockout_minutes)
        return _login_form(request, name=name, next_url=next_url, status=401,
                           error="Wrong user name or password.")
    await throttle.succeeded(name)
    await sessions.drop(services, request.cookies.get(sessions.COOKIE))  # never reuse an old id
    session = await sessions.create(services, user)
    await _audit(services, f"user:{user.name}", "login", user.id, address=address)
    response = _redirect(next_url)
    sessions.set_cookie(response, request, session)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = principal_of(request)
    session = await sessions.current(request)
    if session is not None:
        await sessions.drop(services, session.id)
        await _audit(services, f"user:{principal.name}", "logout", principal.user_id, address=_address(request))
    response = _redirect("/login")
    sessions.clear_cookie(response, request)
    return response


async def start_page(request: web.Request) -> web.Response:
    """To the buckets with the same query (re-encoded: nothing of it is copied raw)."""
    query = urlencode(list(request.query.items()))
    return _redirect(START_PAGE + ("?" + query if query else ""))


ROUTES = [
    ("GET", "/", start_page, at_least("agent"), "The start page (the agent's buckets)"),
    ("GET", "/login", login_page, (PUBLIC,), "The login form"),
    ("POST", "/login", login_submit, (PUBLIC,), "Log in (a browser session cookie)"),
    ("POST", "/logout", logout, at_least("agent"), "Log out (ends the browser session)"),
]
