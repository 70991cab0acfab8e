"""Where a user sits in the organisation, and the fields that go with it.

The rules (see callcenter/org/models.py): an admin needs no place; a manager
has a location; a team lead a team (the location follows the team); a store
executive (agent of kind 'store') a store, the location following the store,
and optionally a team of the same location; a call-centre agent (kind
'center') a team, the location following it. ``users.location_id`` is always
derived here, so it never disagrees with the team or store."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.org.exceptions import UnknownStore, UnknownTeam
from callcenter.org.languages import parse_languages
from callcenter.org.models import Location, Store, Team
from callcenter.org.service import resolve_location
from callcenter.users.exceptions import (
    InvalidAgentKind, InvalidEmail, InvalidEmployeeId, InvalidLanguages, InvalidName, InvalidPlacement,
)

AGENT_KINDS = ("store", "center")
EMPLOYEE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,39}", re.ASCII)
EMAIL_RE = re.compile(r"[^@\s<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Placement:
    agent_kind: str | None
    location_id: int | None
    team_id: int | None
    store_id: int | None


def clean_display_name(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > 120 or any(ord(c) < 32 for c in value):
        raise InvalidName("the display name must be text of at most 120 characters", field="display_name")
    return value.strip()


def clean_email(value) -> str | None:
    """A user's e-mail address (the mailed reports go there), or None for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value.strip()) > 200 or not EMAIL_RE.fullmatch(value.strip()):
        raise InvalidEmail("not an e-mail address (name@example.com)", field="email")
    return value.strip()


def clean_employee_id(value) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not EMPLOYEE_ID_RE.fullmatch(value.strip()):
        raise InvalidEmployeeId(f"invalid employee id {value!r}: 1-40 letters, digits, '.', '/', "
                                "'-' or '_'", field="employee_id")
    return value.strip()


def clean_languages(value) -> str:
    """'en, Hindi' / ['en', 'hi'] -> 'en,hi' (ISO 639-1), or InvalidLanguages."""
    codes, bad = parse_languages(value)
    if bad:
        raise InvalidLanguages(f"not a language: {', '.join(bad)} (use ISO 639-1 codes such as "
                               "en, hi, ta, kn, ml, te, mr, bn, gu, pa)", field="languages")
    return ",".join(codes)


async def resolve_team(session: AsyncSession, ref) -> Team:
    team = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        team = await session.get(Team, ref)
    elif isinstance(ref, str) and ref.strip():
        team = (await session.execute(select(Team).where(
            func.lower(Team.name) == ref.strip().lower()))).scalar_one_or_none()
    if team is None:
        raise UnknownTeam(f"unknown team {ref!r}", field="team")
    return team


async def resolve_store(session: AsyncSession, ref) -> Store:
    store = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        store = await session.get(Store, ref)
    elif isinstance(ref, str) and ref.strip():
        store = (await session.execute(select(Store).where(
            func.lower(Store.code) == ref.strip().lower()))).scalar_one_or_none()
    if store is None:
        raise UnknownStore(f"unknown store {ref!r}", field="store")
    return store


def _given(ref) -> bool:
    return ref is not None and not (isinstance(ref, str) and not ref.strip())


async def resolve_placement(session: AsyncSession, role: str, *, kind=None, location=None,
                            team=None, store=None, strict: bool = False) -> Placement:
    """Check the place of a user of ``role`` and derive its location.

    ``location``/``team``/``store``: an id, a code (team: its name), a row, or
    None. ``strict`` (the web and API): the place the role needs is required;
    otherwise (the command line, for set-ups without an organisation) a user
    may be left unplaced, but what is given must still fit."""
    loc = location if isinstance(location, Location) else (
        await resolve_location(session, location) if _given(location) else None)
    tm = team if isinstance(team, Team) else (await resolve_team(session, team) if _given(team) else None)
    st = store if isinstance(store, Store) else (await resolve_store(session, store) if _given(store) else None)
    if kind is not None and kind not in AGENT_KINDS:
        raise InvalidAgentKind(f"invalid agent kind {kind!r}: store (store executive) or "
                               "center (call-centre agent)", field="agent_kind")
    if role != "agent" and kind is not None:
        raise InvalidAgentKind("only agents have a kind (store executive or call-centre agent)",
                               field="agent_kind")
    if role == "agent" and kind is None:
        kind = "store" if st is not None else "center" if tm is not None else None
    if role in ("admin", "manager") and (tm is not None or st is not None):
        raise InvalidPlacement(f"a {role} has a location, not a team or store")
    if role == "teamlead" and st is not None:
        raise InvalidPlacement("a team lead leads a team; a store is for store executives")
    if kind == "center" and st is not None:
        raise InvalidPlacement("a call-centre agent belongs to a team, not a store")
    if strict:
        need = {"manager": ("location", loc), "teamlead": ("team", tm)}.get(role)
        if role == "agent":
            need = ("store", st) if kind == "store" else ("team", tm)
        if need and need[1] is None:
            what = f"a {kind or 'call-centre'} agent" if role == "agent" else f"a {role}"
            raise InvalidPlacement(f"{what} needs a {need[0]}", field=need[0])
    # The location follows the store, else the team, else what was given.
    derived = st.location_id if st is not None else tm.location_id if tm is not None else None
    for row, what in ((st, "store"), (tm, "team")):
        if row is not None and row.location_id != derived:
            raise InvalidPlacement(f"the {what} is in another location than the store")
    if loc is not None and derived is not None and loc.id != derived:
        raise InvalidPlacement(f"the location does not match the {'store' if st else 'team'}'s",
                               field="location")
    location_id = derived if derived is not None else (loc.id if loc is not None else None)
    return Placement(kind if role == "agent" else None, location_id,
                     tm.id if tm is not None else None, st.id if st is not None else None)
