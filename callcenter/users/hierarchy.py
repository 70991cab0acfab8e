"""Managing users from the web and the API, within the caller's place.

Who may do what: an admin everything; a manager creates, edits, disables and
resets the passwords of team leads and agents of their own location (and can
place them only there); a team lead sees their team but changes nobody; an
agent sees only themselves. A user outside the caller's scope is answered as
not found. Functions add/flush and audit; the caller commits."""
from __future__ import annotations

import logging

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.auth.passwords import generate_password
from callcenter.config import Settings
from callcenter.models import ROLES, User
from callcenter.org.scope import Scope
from callcenter.users.exceptions import CannotDisableSelf, NotAllowed, UserNotFound
from callcenter.users.placement import (
    clean_display_name, clean_email, clean_employee_id, clean_languages, resolve_placement,
)
from callcenter.users.service import (
    HandOver, apply_phone, check_employee_id_free, create_user, set_password, validate_role,
)

log = logging.getLogger(__name__)

MANAGER_MANAGES = ("teamlead", "agent")
PLACE_FIELDS = ("agent_kind", "location", "team", "store")


def may_manage(scope: Scope, role: str, location_id: int | None) -> bool:
    """May the caller create or change a user of ``role`` placed in ``location_id``?"""
    if scope.sees_all:
        return True
    return (scope.role == "manager" and scope.user_id is not None and scope.location_id is not None
            and role in MANAGER_MANAGES and location_id == scope.location_id)


def _refuse(scope: Scope, role: str) -> NotAllowed:
    if scope.role == "manager":
        return NotAllowed(f"a manager may manage team leads and agents of their own location only "
                          f"(not a {role} elsewhere)")
    return NotAllowed(f"a {scope.role} may not manage users")


async def get_user(session: AsyncSession, scope: Scope, user_id: int) -> User:
    """The user with ``user_id`` if the caller may see them; UserNotFound otherwise."""
    user = (await session.execute(select(User).where(User.id == user_id, scope.users()))).scalar_one_or_none()
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


async def list_users(session: AsyncSession, scope: Scope, *, role: str | None = None,
                     team_id: int | None = None, store_id: int | None = None,
                     location_id: int | None = None, active: bool | None = None,
                     q: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[User], int]:
    """(users in scope matching the filters, by name; total matching)."""
    where = [scope.users()]
    if role is not None:
        where.append(User.role == validate_role(role))
    for column, value in ((User.team_id, team_id), (User.store_id, store_id),
                          (User.location_id, location_id)):
        if value is not None:
            where.append(column == value)
    if active is not None:
        where.append(User.active.is_(active))
    if q:
        like = f"%{q.strip().lower()}%"
        where.append(or_(func.lower(User.name).like(like), func.lower(User.display_name).like(like),
                         func.lower(User.employee_id).like(like)))
    total = await session.scalar(select(func.count()).select_from(User).where(*where))
    rows = await session.execute(select(User).where(*where).order_by(User.name)
                                 .limit(limit).offset(offset))
    return list(rows.scalars()), total


async def add_user(session: AsyncSession, settings: Settings, scope: Scope, data: dict, *,
                   actor: str) -> tuple[User, str | None, str | None]:
    """Create a user placed as their role needs. ``data``: name, role,
    display_name, employee_id, agent_kind, languages, location, team, store,
    phone_mode, mobile, contact, password (None: one is generated).
    Returns (user, generated login password or None, SIP password or None):
    show them once, they are not stored in clear."""
    role = validate_role(data.get("role"))
    if not scope.sees_all and not (scope.role == "manager" and role in MANAGER_MANAGES):
        raise _refuse(scope, role)
    placement = await resolve_placement(
        session, role, kind=data.get("agent_kind"), location=data.get("location"),
        team=data.get("team"), store=data.get("store"), strict=True)
    if not may_manage(scope, role, placement.location_id):
        raise _refuse(scope, role)
    email = clean_email(data.get("email"))
    generated = None
    password = data.get("password")
    if password is None:
        password = generated = generate_password()
    user, sip_password = await create_user(
        session, settings, data.get("name"), role, data.get("phone_mode"), data.get("contact"),
        data.get("mobile"), password, actor=actor, display_name=data.get("display_name"),
        employee_id=data.get("employee_id"), agent_kind=placement.agent_kind,
        languages=data.get("languages"), location=placement.location_id,
        team=placement.team_id, store=placement.store_id, strict=True)
    user.email = email
    return user, generated, sip_password


async def update_user(session: AsyncSession, settings: Settings, scope: Scope, user_id: int,
                      data: dict, *, actor: str) -> tuple[User, str | None]:
    """Change the fields present in ``data`` (as for :func:`add_user`, without
    name and password; ``phone_mode``, ``mobile``, ``contact`` replace the
    phone). Returns (user, a generated SIP password or None)."""
    user = await get_user(session, scope, user_id)
    if not may_manage(scope, user.role, user.location_id):
        raise _refuse(scope, user.role)
    changes: dict = {}

    def change(field: str, value) -> None:
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)

    role = validate_role(data["role"]) if "role" in data else user.role
    if any(f in data for f in PLACE_FIELDS) or role != user.role:
        # What is not given is kept when it still fits the (new) role.
        kept = {"agent_kind": user.agent_kind if role == user.role == "agent" else None,
                "location": user.location_id if role in ("admin", "manager") else None,
                "team": user.team_id if role in ("teamlead", "agent") else None,
                "store": user.store_id if role == "agent" else None}
        ref = {f: data[f] if f in data else kept[f] for f in PLACE_FIELDS}
        placement = await resolve_placement(session, role, kind=ref["agent_kind"],
                                            location=ref["location"], team=ref["team"],
                                            store=ref["store"], strict=True)
        if not may_manage(scope, role, placement.location_id):
            raise _refuse(scope, role)
        change("role", role)
        for field in ("agent_kind", "location_id", "team_id", "store_id"):
            change(field, getattr(placement, field))
    if "display_name" in data:
        change("display_name", clean_display_name(data["display_name"]))
    if "employee_id" in data:
        employee_id = clean_employee_id(data["employee_id"])
        await check_employee_id_free(session, employee_id, user.id)
        change("employee_id", employee_id)
    if "languages" in data:
        change("languages", clean_languages(data["languages"]))
    if "email" in data:
        change("email", clean_email(data["email"]))
    sip_password = None
    if any(f in data for f in ("phone_mode", "mobile", "contact")):
        before = (user.phone_mode, user.mobile, user.sip_endpoint, user.sip_contact)
        sip_password = apply_phone(user, settings, data.get("phone_mode"), data.get("contact"),
                                   data.get("mobile"))
        after = (user.phone_mode, user.mobile, user.sip_endpoint, user.sip_contact)
        if before != after or sip_password:
            changes["phone"] = [list(before), list(after)]
    if changes:
        await session.flush()
        audit.record(session, actor, "user.update", "user", user.id, name=user.name, **changes)
    return user, sip_password


async def set_active(session: AsyncSession, scope: Scope, user_id: int, active: bool, *,
                     actor: str, hand_over: HandOver) -> tuple[User, int, int]:
    """Disable (or enable) a user. A disabled user can no longer log in: their
    sessions and tokens stop working, and ``hand_over`` hands their open work
    over. Returns (user, work items re-allocated, left unallocated)."""
    user = await get_user(session, scope, user_id)
    if not may_manage(scope, user.role, user.location_id):
        raise _refuse(scope, user.role)
    if not active and user.id == scope.user_id:
        raise CannotDisableSelf("you cannot disable yourself")
    if user.active == active:
        return user, 0, 0
    user.active = active
    moved = left = 0
    if not active:
        moved, left = await hand_over(session, [user.id], actor=actor)
    audit.record(session, actor, "user.disable" if not active else "user.enable", "user", user.id,
                 name=user.name, work_reallocated=moved, work_unallocated=left)
    await session.flush()
    return user, moved, left


async def reset_password(session: AsyncSession, scope: Scope, user_id: int,
                         password: str | None = None, *, actor: str) -> str | None:
    """Set a user's login password (None: generate one, returned to show once)."""
    user = await get_user(session, scope, user_id)
    if not may_manage(scope, user.role, user.location_id):
        raise _refuse(scope, user.role)
    return await set_password(session, user, password, actor=actor)


__all__ = ["ROLES", "add_user", "get_user", "list_users", "may_manage", "reset_password",
           "set_active", "update_user"]
