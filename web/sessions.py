"""Browser sessions kept in Redis, shared by every serve process.

The cookie holds a random session id (32 bytes); Redis holds, under the id's
sha256, who is logged in, their role at login and the session's CSRF token,
for ``settings.web.session_hours`` from login (an absolute lifetime). Every
login makes a new id. The user's row is re-read at most every
``USER_CHECK_SECONDS`` per process: a disabled user, or one whose role
changed, loses the session at the next request after that."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass

from aiohttp import web
from sqlalchemy import select

from callcenter.auth.tokens import Principal
from callcenter.models import User
from web import transport
from web.keys import SERVICES

log = logging.getLogger(__name__)

COOKIE = "cc_session"
USER_CHECK_SECONDS = 3.0
USER_CHECKS_MAX = 10_000


@dataclass
class BrowserSession:
    """One logged-in browser: ``id`` is the cookie's value, ``csrf`` the token
    every state-changing request of this session must carry."""
    id: str
    user_id: int
    name: str
    role: str
    csrf: str
    created_at: float


SESSION = web.RequestKey("browser_session", BrowserSession)
# The session user's phone mode (desktop / mobile / browser / None), from the
# same cached row read as the user check: the pages' ``data-phone-mode``.
PHONE_MODE = web.RequestKey("phone_mode", str)
_LOOKED_UP = web.RequestKey("browser_session_looked_up", bool)


def _key(services, session_id: str) -> str:
    return f"{services.settings.redis.key_prefix}web:session:{digest_of(session_id)}"


def digest_of(session_id: str) -> str:
    """What Redis keys a session by (and what others may keep instead of the id)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


async def roles_of_digests(redis, settings, digests: list[str]) -> list[str | None]:
    """The role each session (by digest) was made with, None for one that is
    gone (logged out, expired): one MGET for them all."""
    if not digests:
        return []
    raws = await redis.mget([f"{settings.redis.key_prefix}web:session:{d}" for d in digests])
    roles = []
    for raw in raws:
        try:
            roles.append(json.loads(raw)["role"] if raw is not None else None)
        except (ValueError, TypeError, KeyError):
            roles.append(None)
    return roles


def lifetime_seconds(settings) -> int:
    return max(60, int(settings.web.session_hours * 3600))


async def create(services, user: User) -> BrowserSession:
    """A new session (new random id, new CSRF token) for ``user``, stored in Redis."""
    session = BrowserSession(id=secrets.token_urlsafe(32), user_id=user.id, name=user.name,
                             role=user.role, csrf=secrets.token_urlsafe(32), created_at=time.time())
    data = {k: v for k, v in asdict(session).items() if k != "id"}
    await services.redis.set(_key(services, session.id), json.dumps(data),
                             ex=lifetime_seconds(services.settings))
    return session


async def load(services, session_id: str | None) -> BrowserSession | None:
    if not session_id or len(session_id) > 100 or not session_id.isascii():
        return None
    raw = await services.redis.get(_key(services, session_id))
    if raw is None:
        return None
    try:
        return BrowserSession(id=session_id, **json.loads(raw))
    except (ValueError, TypeError):
        log.warning("dropping an unreadable browser session")
        await drop(services, session_id)
        return None


async def drop(services, session_id: str | None) -> None:
    if session_id:
        await services.redis.delete(_key(services, session_id))


async def _user_row(services, session: BrowserSession) -> tuple:
    """(expiry, active, role, phone_mode) of the session's user, cached briefly."""
    now = time.monotonic()
    cache = services.user_checks
    hit = cache.get(session.user_id)
    if hit is None or hit[0] <= now:
        async with services.sessions() as db:
            row = (await db.execute(select(User.active, User.role, User.phone_mode)
                                    .where(User.id == session.user_id))).first()
        hit = (now + USER_CHECK_SECONDS, bool(row and row.active), row.role if row else None,
               row.phone_mode if row else None)
        if len(cache) >= USER_CHECKS_MAX:
            cache.clear()
        cache[session.user_id] = hit
    return hit


async def _user_still_fits(services, session: BrowserSession) -> bool:
    """The user is active and has the role the session was made with (cached briefly)."""
    hit = await _user_row(services, session)
    return hit[1] and hit[2] == session.role


async def still_valid(services, session_id: str) -> bool:
    """The session exists and its user still fits it (for long-lived sockets)."""
    session = await load(services, session_id)
    return session is not None and await _user_still_fits(services, session)


async def current(request: web.Request) -> BrowserSession | None:
    """The request's valid browser session (from its cookie), or None. Sets
    ``request[SESSION]``; looked up once per request."""
    if request.get(_LOOKED_UP):
        return request.get(SESSION)
    request[_LOOKED_UP] = True
    services = request.app[SERVICES]
    session_id = request.cookies.get(COOKIE)
    session = await load(services, session_id)
    if session is not None and not await _user_still_fits(services, session):
        log.info("session of %s ended: user disabled or role changed", session.name)
        await drop(services, session_id)
        session = None
    if session is not None:
        request[SESSION] = session
        request[PHONE_MODE] = (await _user_row(services, session))[3]
    return session


def principal_of_session(session: BrowserSession) -> Principal:
    return Principal(name=session.name, role=session.role, user_id=session.user_id)


def set_cookie(response: web.StreamResponse, request: web.Request, session: BrowserSession) -> None:
    """The session cookie: ``Secure`` over HTTPS or with ``[web] cookie_secure`` (web/transport.py)."""
    response.set_cookie(COOKIE, session.id, max_age=lifetime_seconds(request.app[SERVICES].settings),
                        path="/", httponly=True, samesite="Lax", secure=transport.cookie_secure(request))


def clear_cookie(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(COOKIE, path="/", httponly=True, samesite="Lax",
                        secure=transport.cookie_secure(request))
