"""API bearer tokens: 'cc_' + 43 random characters, shown once; only the
sha256 hex digest is stored, so verification is a lookup by hash (no
string comparison of secrets, nothing to time).

A token either acts as a user (``user_id`` set: the user's current role
applies, and a disabled user's tokens stop working) or is a service token
with its own role. Functions add/flush but never commit, except
``verify_token`` (see there)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.errors import DomainError
from callcenter.models import ROLES, ApiToken, User, utcnow

TOKEN_PREFIX = "cc_"
NAME_RE = re.compile(r"[a-z][a-z0-9_-]{1,31}", re.ASCII)
_RAW_RE = re.compile(r"cc_[A-Za-z0-9_-]{20,100}", re.ASCII)
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenError(DomainError):
    error_id = "token_error"
    status = 422


class InvalidTokenName(TokenError):
    error_id = "invalid_name"


class InvalidTokenRole(TokenError):
    error_id = "invalid_role"


class TokenExists(TokenError):
    error_id = "token_exists"
    status = 409


class TokenNotFound(TokenError):
    error_id = "token_not_found"
    status = 404


class TokenUserNotFound(TokenError):
    error_id = "user_not_found"
    status = 404


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. ``name`` is the user's name for a user token,
    'token:<token name>' for a service token."""
    name: str
    role: str
    user_id: int | None


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def create_token(session: AsyncSession, name: str, role: str | None = None,
                       user_id: int | None = None, *, actor: str) -> str:
    """Create a token and return it in clear (the only time it exists so).

    With ``user_id`` the token acts as that (active) user; ``role`` must then
    be None or the user's role. Without, it is a service token with ``role``
    (None means "manager"); an agent-role service token is refused."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidTokenName(
            f"invalid token name {name!r}: use 2-32 characters, lower-case letters, digits, "
            "'-' or '_', starting with a letter")
    user = None
    if user_id is not None:
        user = await session.get(User, user_id)
        if user is None or not user.active:
            raise TokenUserNotFound(f"no active user with id {user_id}")
        if role is not None and role != user.role:
            raise InvalidTokenRole(
                f"a token acting as user {user.name!r} has the user's role ({user.role})")
        role = user.role
    else:
        role = role or "manager"
        if role not in ROLES:
            raise InvalidTokenRole(f"invalid role {role!r}: choose one of {', '.join(ROLES)}")
        if role == "agent":
            raise InvalidTokenRole(
                "a service token cannot have the agent role; create it with --user for an agent")
    existing = (await session.execute(select(ApiToken).where(ApiToken.name == name))).scalar_one_or_none()
    if existing is not None:
        raise TokenExists(f"a token named {name!r} already exists"
                          + (" (revoked tokens keep their name)" if existing.revoked else ""))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(raw), role=role, user_id=user_id, revoked=False)
    session.add(token)
    try:
        await session.flush()
    except IntegrityError:
        raise TokenExists(f"a token named {name!r} already exists") from None
    audit.record(session, actor, "token.create", "api_token", token.id, name=name, role=role,
                 user=user.name if user else None)
    return raw


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.execute(select(ApiToken).order_by(ApiToken.name))).scalars())


async def get_token(session: AsyncSession, name: str) -> ApiToken | None:
    return (await session.execute(select(ApiToken).where(ApiToken.name == name))).scalar_one_or_none()


async def revoke_token(session: AsyncSession, name: str, *, actor: str) -> bool:
    """Revoke the named token. True if it was revoked now, False if it already
    was (no audit row then). Unknown name: TokenNotFound."""
    token = await get_token(session, name)
    if token is None:
        raise TokenNotFound(f"no token named {name!r}")
    if token.revoked:
        return False
    token.revoked = True
    audit.record(session, actor, "token.revoke", "api_token", token.id, name=name)
    await session.flush()
    return True


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


async def verify_token(session: AsyncSession, raw: str | None, *, commit: bool = True,
                       used: set | None = None) -> Principal | None:
    """The Principal a bearer token acts as, or None (unknown, malformed,
    revoked, or its user disabled).

    The token's ``last_used_at`` is refreshed at most once a minute. With
    ``used`` (a set) the token's id is added to it instead of writing now: the
    caller writes it later, off the request path (:func:`record_uses`), so a
    read never waits for the database's write lock. Otherwise, when it writes
    and ``commit`` is true it commits the session, so call it on a session
    that holds no other pending change (or pass commit=False and commit yourself).
    """
    if not isinstance(raw, str) or not _RAW_RE.fullmatch(raw):
        return None
    token = (await session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))).scalar_one_or_none()
    if token is None or token.revoked:
        return None
    if token.user_id is not None:
        user = await session.get(User, token.user_id)
        if user is None or not user.active:
            return None
        principal = Principal(name=user.name, role=user.role, user_id=user.id)
    else:
        principal = Principal(name=f"token:{token.name}", role=token.role, user_id=None)
    now = utcnow()
    last = _aware(token.last_used_at)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        if used is not None:
            used.add(token.id)
        else:
            token.last_used_at = now
            if commit:
                await session.commit()
            else:
                await session.flush()
    return principal


async def record_uses(session: AsyncSession, token_ids, now: dt.datetime | None = None) -> int:
    """Write ``last_used_at`` of the tokens used lately (those not written
    within the last minute). Returns how many rows changed."""
    ids = sorted(token_ids)
    if not ids:
        return 0
    now = now or utcnow()
    result = await session.execute(
        update(ApiToken).where(ApiToken.id.in_(ids),
                               or_(ApiToken.last_used_at.is_(None),
                                   ApiToken.last_used_at <= now - LAST_USED_RESOLUTION))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    return result.rowcount


async def write_token_uses(sessions, token_uses: set) -> None:
    """One pass of the loop that writes the tokens' last use (callcenter/services.py):
    the ids noted in ``token_uses`` by the request path, taken out and written;
    kept for the next pass when the write fails."""
    used = set(token_uses)
    if not used:
        return
    token_uses.difference_update(used)
    try:
        async with sessions() as session, session.begin():
            await record_uses(session, used)
    except BaseException:
        token_uses |= used  # kept for the next pass
        raise
