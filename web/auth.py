"""Authentication (bearer tokens for integrations, browser sessions for
people: web/sessions.py) and per-route roles (deny by default).

A verified token is remembered for ``TOKEN_CACHE_SECONDS`` (by its sha256, in
this process only), so most requests do not read the database to authenticate.
The price: a token revoked, or a user disabled or given another role, keeps its
old access for up to that long. Unknown or refused tokens are never cached."""
from __future__ import annotations

import time

from aiohttp import web

from callcenter.auth.tokens import Principal, hash_token, verify_token
from callcenter.models import ROLE_RANK
from callcenter.outages import is_outage
from callcenter.org.scope import Scope, load_scope
from web import csrf, sessions
from web.keys import SERVICES

PUBLIC = "public"
PRINCIPAL = web.RequestKey("principal", Principal)
SCOPE = web.RequestKey("scope", Scope)
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_MAX = 10_000
TOKEN_STALE_SECONDS = 300.0  # a verified token's grace while the database is unavailable


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


async def scope_of(request: web.Request) -> Scope:
    """The caller's place in the hierarchy, loaded once per request."""
    scope = request.get(SCOPE)
    if scope is None:
        async with request.app[SERVICES].sessions() as session:
            scope = await load_scope(session, principal_of(request))
        request[SCOPE] = scope
    return scope


class AuthError(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


async def authenticate(request: web.Request, roles: tuple[str, ...]) -> None:
    """Raise AuthError unless the request may use a route open to ``roles``.

    An ``Authorization`` header means a bearer token (API integrations; no
    CSRF check). Otherwise the browser session cookie, and a state-changing
    request must pass the CSRF checks of web/csrf.py."""
    if PUBLIC in roles:
        return
    header = request.headers.get("Authorization")
    if header is None:
        session = await sessions.current(request)
        if session is None:
            raise AuthError(401, "unauthenticated", "log in, or send 'Authorization: Bearer <token>'")
        principal = sessions.principal_of_session(session)
        if principal.role not in roles:
            raise AuthError(403, "forbidden", f"role {principal.role!r} may not use this route")
        if request.method not in csrf.SAFE_METHODS:
            try:
                await csrf.verify(request, session.csrf)
            except csrf.CsrfError as error:
                raise AuthError(403, error.error_id, error.message) from None
        request[PRINCIPAL] = principal
        return
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthError(401, "unauthenticated", "send 'Authorization: Bearer <token>'")
    principal = await cached_principal(request.app[SERVICES], raw.strip())
    if principal is None:
        raise AuthError(401, "unauthenticated", "the token is not valid")
    if principal.role not in roles:
        raise AuthError(403, "forbidden", f"role {principal.role!r} may not use this route")
    request[PRINCIPAL] = principal


def at_least(role: str) -> tuple[str, ...]:
    """Every role from ``role`` up the hierarchy."""
    return tuple(r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role])


async def cached_principal(services, raw: str, now: float | None = None) -> Principal | None:
    """verify_token, answered from ``services.token_cache`` while fresh.

    The token's last use is noted in ``services.token_uses`` and written by a
    background loop, so checking a token never writes. While the database is
    unavailable a token verified within ``TOKEN_STALE_SECONDS`` is still
    accepted (reads that need no database keep working); else the outage
    (503) propagates."""
    now = time.monotonic() if now is None else now
    if not raw.isascii():
        return None  # never a token (verify_token would refuse it too)
    key = hash_token(raw)
    cache = services.token_cache
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        async with services.sessions() as session:
            principal = await verify_token(session, raw, used=services.token_uses)
    except Exception as error:
        if hit is not None and hit[0] + TOKEN_STALE_SECONDS > now and is_outage(error):
            return hit[1]
        raise
    if principal is None:
        cache.pop(key, None)
    else:
        if len(cache) >= TOKEN_CACHE_MAX:
            cache.clear()
        cache[key] = (now + TOKEN_CACHE_SECONDS, principal)
    return principal
