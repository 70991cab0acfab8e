"""Locations, stores and teams: create, change, list, within the caller's scope.

Admins manage everything. A manager sees their location's stores and teams and
manages its teams; everyone else sees their own location's. Functions take an
AsyncSession and a :class:`Scope`, add/flush and audit, never commit: the
caller owns the transaction. A row outside the caller's scope is "not found"."""
from __future__ import annotations

import logging
import re

from sqlalchemy import false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.models import User
from callcenter.org.exceptions import (
    Forbidden, InvalidCode, InvalidField, InvalidLanguage, LocationExists, LocationNotFound,
    NotEmpty, StoreExists, StoreNotFound, TeamExists, TeamNotFound, UnknownLocation,
)
from callcenter.org.languages import language_code
from callcenter.org.models import Location, Store, Team
from callcenter.org.scope import Scope

log = logging.getLogger(__name__)

CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,19}", re.ASCII)
STORE_TEXT = {"name": 80, "city": 60, "region": 40}


def text_field(value, field: str, max_len: int, *, required: bool = True) -> str:
    """A trimmed text field, or InvalidField (missing, not text, too long, control characters)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidField(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidField(f"{field} is required", field=field)
    if len(value) > max_len:
        raise InvalidField(f"{field} may have at most {max_len} characters", field=field)
    if any(ord(ch) < 32 for ch in value):
        raise InvalidField(f"{field} may not hold control characters", field=field)
    return value


def code_field(value, field: str = "code") -> str:
    if not isinstance(value, str) or not CODE_RE.fullmatch(value.strip()):
        raise InvalidCode(f"invalid {field} {value!r}: 1-20 letters, digits, '.', '-' or '_'",
                          field=field)
    return value.strip()


def language_field(value, field: str = "language") -> str:
    code = language_code(value) if isinstance(value, str) else None
    if code is None:
        raise InvalidLanguage(f"invalid {field} {value!r}: use an ISO 639-1 code "
                              "(en, hi, ta, kn, ml, te, mr, bn, gu, pa...)", field=field)
    return code


def require_admin(scope: Scope) -> None:
    if not scope.sees_all:
        raise Forbidden("only an admin may change this")


def manages_location(scope: Scope, location_id: int | None) -> bool:
    """An admin manages every location; a manager their own."""
    return scope.sees_all or (scope.role == "manager" and scope.location_id is not None
                              and scope.location_id == location_id)


def _visible(scope: Scope, column):
    """Clause: the row's location is one the caller sees."""
    if scope.sees_all:
        return true()
    return column == scope.location_id if scope.location_id is not None else false()


# ---------------------------------------------------------------- locations

async def resolve_location(session: AsyncSession, ref) -> Location:
    """A location by id (int) or code (str); UnknownLocation (422) otherwise."""
    location = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        location = await session.get(Location, ref)
    elif isinstance(ref, str) and ref.strip():
        location = (await session.execute(select(Location).where(
            func.lower(Location.code) == ref.strip().lower()))).scalar_one_or_none()
    if location is None:
        raise UnknownLocation(f"unknown location {ref!r}", field="location")
    return location


async def list_locations(session: AsyncSession, scope: Scope) -> list[Location]:
    query = select(Location).where(_visible(scope, Location.id)).order_by(Location.code)
    return list((await session.execute(query)).scalars())


async def get_location(session: AsyncSession, scope: Scope, location_id: int) -> Location:
    location = await session.get(Location, location_id)
    if location is None or not (scope.sees_all or location.id == scope.location_id):
        raise LocationNotFound(f"no location {location_id}")
    return location


async def create_location(session: AsyncSession, scope: Scope, code, name, *, actor: str) -> Location:
    require_admin(scope)
    code = code_field(code)
    name = text_field(name, "name", 80)
    taken = await session.scalar(select(Location.id).where(func.lower(Location.code) == code.lower()))
    if taken is not None:
        raise LocationExists(f"a location with code {code!r} already exists")
    location = Location(code=code, name=name)
    session.add(location)
    await session.flush()
    audit.record(session, actor, "location.add", "location", location.id, code=code, name=name)
    return location


async def update_location(session: AsyncSession, scope: Scope, location_id: int, *, name,
                          actor: str) -> Location:
    require_admin(scope)
    location = await get_location(session, scope, location_id)
    name = text_field(name, "name", 80)
    if name != location.name:
        audit.record(session, actor, "location.update", "location", location.id,
                     name=[location.name, name])
        location.name = name
        await session.flush()
    return location


# ---------------------------------------------------------------- stores

def store_fields(data: dict, *, partial: bool = False) -> dict:
    """Validate the plain fields of a store (code, name, city, region, language);
    ``partial``: only those present. The location is resolved separately."""
    out = {}
    if not partial or "code" in data:
        out["code"] = code_field(data.get("code"))
    for field, max_len in STORE_TEXT.items():
        if not partial or field in data:
            out[field] = text_field(data.get(field), field, max_len, required=field == "name")
    if not partial or "language" in data:
        out["language"] = language_field(data.get("language") or "en")
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise InvalidField("active must be true or false", field="active")
        out["active"] = data["active"]
    return out


async def store_by_code(session: AsyncSession, code: str) -> Store | None:
    return (await session.execute(select(Store).where(
        func.lower(Store.code) == code.strip().lower()))).scalar_one_or_none()


async def get_store(session: AsyncSession, scope: Scope, store_id: int) -> Store:
    store = await session.get(Store, store_id)
    if store is None or not (scope.sees_all or store.location_id == scope.location_id):
        raise StoreNotFound(f"no store {store_id}")
    return store


async def list_stores(session: AsyncSession, scope: Scope, *, location_id: int | None = None,
                      q: str | None = None, active: bool | None = None,
                      limit: int = 500, offset: int = 0) -> tuple[list[Store], int]:
    """(stores in scope matching the filters, ordered by code; total)."""
    where = [_visible(scope, Store.location_id)]
    if location_id is not None:
        where.append(Store.location_id == location_id)
    if active is not None:
        where.append(Store.active.is_(active))
    if q:
        like = f"%{q.strip().lower()}%"
        where.append(or_(func.lower(Store.code).like(like), func.lower(Store.name).like(like),
                         func.lower(Store.city).like(like)))
    total = await session.scalar(select(func.count()).select_from(Store).where(*where))
    rows = await session.execute(select(Store).where(*where).order_by(Store.code)
                                 .limit(limit).offset(offset))
    return list(rows.scalars()), total


async def create_store(session: AsyncSession, scope: Scope, data: dict, *, actor: str) -> Store:
    """``data``: code, name, city, region, language, location (code or id)."""
    require_admin(scope)
    fields = store_fields(data)
    location = await resolve_location(session, data.get("location", data.get("location_id")))
    if await store_by_code(session, fields["code"]) is not None:
        raise StoreExists(f"a store with code {fields['code']!r} already exists", field="code")
    store = Store(**fields, location_id=location.id)
    session.add(store)
    await session.flush()
    audit.record(session, actor, "store.add", "store", store.id, location=location.code,
                 **{k: v for k, v in fields.items() if k != "active"})
    return store


async def _move_store(session: AsyncSession, store: Store, location: Location) -> int:
    """Move a store and its executives to ``location``; NotEmpty when one of
    them is in a team of another location. Returns how many users moved."""
    clash = await session.scalar(
        select(func.count()).select_from(User).join(Team, Team.id == User.team_id)
        .where(User.store_id == store.id, Team.location_id != location.id))
    if clash:
        raise NotEmpty(f"{clash} executive(s) of store {store.code} are in a team of another "
                       "location; move them to another team first")
    result = await session.execute(update(User).where(User.store_id == store.id)
                                   .values(location_id=location.id))
    store.location_id = location.id
    return result.rowcount or 0


async def update_store(session: AsyncSession, scope: Scope, store_id: int, data: dict, *,
                       actor: str) -> Store:
    """Change a store's fields (not its code); a new location moves its executives too."""
    require_admin(scope)
    store = await get_store(session, scope, store_id)
    fields = store_fields({k: v for k, v in data.items() if k != "code"}, partial=True)
    changes = {k: [getattr(store, k), v] for k, v in fields.items() if getattr(store, k) != v}
    for key, (_old, new) in changes.items():
        setattr(store, key, new)
    ref = data.get("location", data.get("location_id"))
    if ref is not None:
        location = await resolve_location(session, ref)
        if location.id != store.location_id:
            changes["location_id"] = [store.location_id, location.id]
            changes["users_moved"] = await _move_store(session, store, location)
    if changes:
        await session.flush()
        audit.record(session, actor, "store.update", "store", store.id, code=store.code, **changes)
    return store


# ---------------------------------------------------------------- teams

async def get_team(session: AsyncSession, scope: Scope, team_id: int) -> Team:
    team = (await session.execute(select(Team).where(Team.id == team_id, scope.teams()))).scalar_one_or_none()
    if team is None:
        raise TeamNotFound(f"no team {team_id}")
    return team


async def team_by_name(session: AsyncSession, name: str) -> Team | None:
    return (await session.execute(select(Team).where(
        func.lower(Team.name) == name.strip().lower()))).scalar_one_or_none()


async def list_teams(session: AsyncSession, scope: Scope, *,
                     location_id: int | None = None) -> list[Team]:
    where = [scope.teams()]
    if location_id is not None:
        where.append(Team.location_id == location_id)
    return list((await session.execute(select(Team).where(*where).order_by(Team.name))).scalars())


async def team_sizes(session: AsyncSession, team_ids) -> dict[int, int]:
    """Active users per team id."""
    if not team_ids:
        return {}
    rows = await session.execute(select(User.team_id, func.count()).where(
        User.team_id.in_(list(team_ids)), User.active.is_(True)).group_by(User.team_id))
    return dict(rows.all())


async def create_team(session: AsyncSession, scope: Scope, name, location_ref, *, actor: str) -> Team:
    """A team in a location; a manager may create teams in their own location only.
    A manager who names no location gets their own."""
    name = text_field(name, "name", 60)
    if location_ref is None and scope.role == "manager":
        location_ref = scope.location_id
    location = await resolve_location(session, location_ref)
    if not manages_location(scope, location.id):
        raise Forbidden("you may create teams only in your own location")
    if await team_by_name(session, name) is not None:
        raise TeamExists(f"a team named {name!r} already exists", field="name")
    team = Team(name=name, location_id=location.id)
    session.add(team)
    await session.flush()
    audit.record(session, actor, "team.add", "team", team.id, name=name, location=location.code)
    return team


async def update_team(session: AsyncSession, scope: Scope, team_id: int, *, name=None,
                      location_ref=None, actor: str) -> Team:
    """Rename a team, or (admin, empty team only) move it to another location."""
    team = await get_team(session, scope, team_id)
    if not manages_location(scope, team.location_id):
        raise Forbidden("you may change only the teams of your own location")
    changes = {}
    if name is not None:
        name = text_field(name, "name", 60)
        if name != team.name:
            other = await team_by_name(session, name)
            if other is not None and other.id != team.id:
                raise TeamExists(f"a team named {name!r} already exists", field="name")
            changes["name"] = [team.name, name]
            team.name = name
    if location_ref is not None:
        location = await resolve_location(session, location_ref)
        if location.id != team.location_id:
            require_admin(scope)
            members = await session.scalar(select(func.count()).select_from(User)
                                           .where(User.team_id == team.id))
            if members:
                raise NotEmpty(f"team {team.name} has {members} member(s); move them first")
            changes["location_id"] = [team.location_id, location.id]
            team.location_id = location.id
    if changes:
        await session.flush()
        audit.record(session, actor, "team.update", "team", team.id, **changes)
    return team
