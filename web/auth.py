"""Bearer-token authentication and per-route roles (deny by default)."""
from __future__ import annotations

from aiohttp import web

from callcenter.auth.tokens import Principal, verify_token
from callcenter.models import ROLE_RANK
from web.keys import SERVICES

PUBLIC = "public"
PRINCIPAL = web.RequestKey("principal", Principal)


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


class AuthError(Exception):
    def __init__(self, status: int, error_id: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_id, self.message = status, error_id, message


async def authenticate(request: web.Request, roles: tuple[str, ...]) -> None:
    """Raise AuthError unless the request may use a route open to ``roles``."""
    if PUBLIC in roles:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthError(401, "unauthenticated", "send 'Authorization: Bearer <token>'")
    async with request.app[SERVICES].sessions() as session:
        principal = await verify_token(session, raw.strip())
    if principal is None:
        raise AuthError(401, "unauthenticated", "the token is not valid")
    if principal.role not in roles:
        raise AuthError(403, "forbidden", f"role {principal.role!r} may not use this route")
    request[PRINCIPAL] = principal


def at_least(role: str) -> tuple[str, ...]:
    """Every role from ``role`` up the hierarchy."""
    return tuple(r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role])
