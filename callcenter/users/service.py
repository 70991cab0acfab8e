"""Users: logins with a role and, for agents, a phone (desktop SIP phone,
mobile, or the web phone in the panel: ``browser``). Functions take an AsyncSession, add/flush but never commit: the
caller owns the transaction, so the change and its audit row commit together.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.auth import passwords
from callcenter.calls.numbers import InvalidNumber, normalise
from callcenter.config import Settings
from callcenter.models import PHONE_MODES, ROLES, User
from callcenter.users.exceptions import (
    EmployeeIdExists, InvalidContact, InvalidMobile, InvalidName, InvalidPhoneMode, InvalidRole,
    UserExists, UserNotFound, WeakPassword,
)
from callcenter.users.placement import (
    clean_display_name, clean_employee_id, clean_languages, resolve_placement,
)

NAME_RE = re.compile(r"[a-z][a-z0-9_-]{1,31}", re.ASCII)
CONTACT_RE = re.compile(r"sip:([0-9]{1,3}(?:\.[0-9]{1,3}){3}):([0-9]{1,5})", re.ASCII)
# What may appear in a mobile number as typed; everything else (letters,
# CR/LF, ';', '&', ...) is refused before parsing.
_MOBILE_CHARS = re.compile(r"\+?[0-9 ().\-]{4,30}", re.ASCII)
SIP_ENDPOINT_PREFIX = "ph-"
BROWSER_ENDPOINT_PREFIX = "wb-"  # the web phone (callcenter/webphone): per-login credentials


class HandOver(Protocol):
    """Hands the open work of users who leave over to others; returns
    (re-allocated, left unallocated). The work feature's is
    callcenter/work/handover.py:hand_over_work (users are below the work)."""

    async def __call__(self, session: AsyncSession, agent_ids: Iterable[int], *,
                       actor: str) -> tuple[int, int]: ...


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidName(
            f"invalid user name {name!r}: use 2-32 characters, lower-case letters, digits, "
            "'-' or '_', starting with a letter")
    return name


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRole(f"invalid role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def validate_contact(contact: str) -> str:
    """'sip:10.0.0.5:5060' -> itself; anything else (host names, IPv6, ports
    outside 1-65535) raises InvalidContact."""
    match = CONTACT_RE.fullmatch(contact) if isinstance(contact, str) else None
    if not match:
        raise InvalidContact(
            f"invalid SIP contact {contact!r}: write sip:IPv4:PORT, e.g. sip:10.0.0.5:5060")
    try:
        addr = ipaddress.IPv4Address(match.group(1))
    except ValueError:
        raise InvalidContact(f"invalid SIP contact {contact!r}: {match.group(1)} is not an IPv4 address") from None
    if addr.is_unspecified or addr.is_multicast or addr == ipaddress.IPv4Address("255.255.255.255"):
        raise InvalidContact(f"invalid SIP contact {contact!r}: {addr} cannot be a phone's address")
    port = int(match.group(2))
    if not 1 <= port <= 65535:
        raise InvalidContact(f"invalid SIP contact {contact!r}: the port must be 1-65535")
    return f"sip:{addr}:{port}"


def normalise_mobile(raw: str, region: str) -> str:
    """A mobile number as typed -> E.164 ('+919876543210'), or InvalidMobile."""
    if not isinstance(raw, str) or not _MOBILE_CHARS.fullmatch(raw.strip(" ")):
        raise InvalidMobile(
            f"invalid mobile number {raw!r}: only digits, spaces, dashes, brackets "
            "and a leading + are allowed")
    try:
        return normalise(raw, region)
    except InvalidNumber as exc:
        raise InvalidMobile(f"invalid mobile number {raw!r}: {exc}") from None


def sip_endpoint_for(name: str) -> str:
    """The PJSIP endpoint (and SIP user name) of a user's desktop phone."""
    return SIP_ENDPOINT_PREFIX + name


def browser_endpoint_for(name: str) -> str:
    """The PJSIP endpoint of a user's web phone (registered from the panel)."""
    return BROWSER_ENDPOINT_PREFIX + name


def sip_md5_cred(endpoint: str, realm: str, password: str) -> str:
    """PJSIP's md5_cred: md5("<user>:<realm>:<password>") in hex."""
    return hashlib.md5(f"{endpoint}:{realm}:{password}".encode()).hexdigest()


async def get_user_by_name(session: AsyncSession, name: str) -> User | None:
    return (await session.execute(select(User).where(User.name == name))).scalar_one_or_none()


async def get_user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def list_users(session: AsyncSession, *, include_disabled: bool = True) -> list[User]:
    query = select(User).order_by(User.name)
    if not include_disabled:
        query = query.where(User.active.is_(True))
    return list((await session.execute(query)).scalars())


def apply_phone(user: User, settings: Settings, phone_mode: str | None, contact: str | None,
                mobile: str | None) -> str | None:
    """Give ``user`` a phone (or none); returns a generated SIP password to show once.

    ``phone_mode`` None means no phone (it is inferred as "mobile" when
    ``mobile`` is given, "desktop" when ``contact`` is given). A desktop phone
    without ``contact`` gets a generated SIP password: only its md5 digest is
    stored."""
    if phone_mode is None:
        phone_mode = "mobile" if mobile else "desktop" if contact else None
    if phone_mode is not None and phone_mode not in PHONE_MODES:
        raise InvalidPhoneMode(f"invalid phone mode {phone_mode!r}: choose desktop, mobile or browser")
    if contact is not None and phone_mode != "desktop":
        raise InvalidContact("a SIP contact is only for a desktop phone")
    if mobile is not None and phone_mode != "mobile":
        raise InvalidMobile("a mobile number is only for the mobile phone mode")
    if phone_mode == "mobile" and not mobile:
        raise InvalidMobile("the mobile phone mode needs a mobile number")
    user.phone_mode = phone_mode
    user.sip_endpoint = user.sip_md5_cred = user.sip_contact = user.mobile = None
    sip_password = None
    if phone_mode == "desktop":
        user.sip_endpoint = sip_endpoint_for(user.name)
        if contact is not None:
            user.sip_contact = validate_contact(contact)
        else:
            sip_password = secrets.token_urlsafe(18)
            user.sip_md5_cred = sip_md5_cred(user.sip_endpoint, settings.pbx.sip_realm, sip_password)
    elif phone_mode == "mobile":
        user.mobile = normalise_mobile(mobile, settings.calls.default_region)
    elif phone_mode == "browser":
        # no lasting credentials: each panel login gets its own (callcenter/webphone)
        user.sip_endpoint = browser_endpoint_for(user.name)
    return sip_password


async def check_employee_id_free(session: AsyncSession, employee_id: str | None,
                                 user_id: int | None = None) -> None:
    if employee_id is None:
        return
    other = await session.scalar(select(User.id).where(User.employee_id == employee_id))
    if other is not None and other != user_id:
        raise EmployeeIdExists(f"employee id {employee_id!r} belongs to another user",
                               field="employee_id")


async def create_user(session: AsyncSession, settings: Settings, name: str, role: str,
                      phone_mode: str | None = None, contact: str | None = None,
                      mobile: str | None = None, password: str | None = None, *,
                      actor: str, display_name: str | None = None, employee_id: str | None = None,
                      agent_kind: str | None = None, languages=None, location=None, team=None,
                      store=None, strict: bool = False) -> tuple[User, str | None]:
    """Create a user; returns (user, sip_password).

    The phone: see :func:`apply_phone` (a generated SIP password comes back
    in clear, to show once). ``password`` is the web login password (None:
    the user cannot log in with a password until one is set). The place in
    the organisation (``agent_kind``, ``location``, ``team``, ``store``: ids,
    codes or team names) follows :func:`callcenter.users.placement.resolve_placement`;
    ``strict`` requires the place the role needs (the web and API do).
    """
    validate_name(name)
    validate_role(role)
    display_name = clean_display_name(display_name)
    employee_id = clean_employee_id(employee_id)
    languages = clean_languages(languages)
    if password is not None and (problem := passwords.password_problem(password)):
        raise WeakPassword(problem)
    placement = await resolve_placement(session, role, kind=agent_kind, location=location,
                                        team=team, store=store, strict=strict)

    user = User(name=name, role=role, active=True, display_name=display_name,
                employee_id=employee_id, languages=languages, agent_kind=placement.agent_kind,
                location_id=placement.location_id, team_id=placement.team_id,
                store_id=placement.store_id)
    sip_password = apply_phone(user, settings, phone_mode, contact, mobile)
    if password is not None:
        user.password_hash = passwords.hash_password(password)

    if await get_user_by_name(session, name) is not None:
        raise UserExists(f"a user named {name!r} already exists")
    await check_employee_id_free(session, employee_id)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise UserExists(f"a user named {name!r} or employee id {employee_id!r} already exists") from None
    audit.record(session, actor, "user.add", "user", user.id, name=name, role=role,
                 phone_mode=user.phone_mode, sip_endpoint=user.sip_endpoint,
                 sip_contact=user.sip_contact, mobile=user.mobile,
                 login_password=password is not None, display_name=display_name,
                 employee_id=employee_id, agent_kind=user.agent_kind, languages=languages,
                 location_id=user.location_id, team_id=user.team_id, store_id=user.store_id)
    return user, sip_password


async def set_password(session: AsyncSession, user: User, password: str | None, *,
                       actor: str) -> str | None:
    """Set a user's login password; None generates one. Returns the generated
    password (to show once) or None. Only the argon2 hash is stored."""
    generated = None
    if password is None:
        password = generated = passwords.generate_password()
    elif problem := passwords.password_problem(password):
        raise WeakPassword(problem)
    user.password_hash = passwords.hash_password(password)
    audit.record(session, actor, "user.password", "user", user.id, name=user.name,
                 generated=generated is not None)
    await session.flush()
    return generated


async def set_password_by_name(session: AsyncSession, name: str, password: str | None, *,
                               actor: str) -> str | None:
    user = await get_user_by_name(session, name)
    if user is None:
        raise UserNotFound(f"no user named {name!r}")
    return await set_password(session, user, password, actor=actor)


async def disable_user(session: AsyncSession, name: str, *, actor: str, hand_over: HandOver) -> User:
    """Mark the user inactive (rows are kept for call records and audit): their
    logins and tokens stop working and ``hand_over`` hands their open work
    over (callcenter/work/handover.py). Disabling a disabled user changes
    nothing and writes no audit row."""
    user = await get_user_by_name(session, name)
    if user is None:
        raise UserNotFound(f"no user named {name!r}")
    if user.active:
        user.active = False
        moved, left = await hand_over(session, [user.id], actor=actor)
        audit.record(session, actor, "user.disable", "user", user.id, name=name,
                     work_reallocated=moved, work_unallocated=left)
        await session.flush()
    return user
