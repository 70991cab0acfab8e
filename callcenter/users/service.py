"""Users: logins with a role and, for agents, a phone (desktop SIP phone or
mobile). Functions take an AsyncSession, add/flush but never commit: the
caller owns the transaction, so the change and its audit row commit together.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.auth import passwords
from callcenter.config import Settings
from callcenter.models import PHONE_MODES, ROLES, User
from callcenter.users.exceptions import (
    InvalidContact, InvalidMobile, InvalidName, InvalidPhoneMode, InvalidRole,
    UserExists, UserNotFound, WeakPassword,
)

NAME_RE = re.compile(r"[a-z][a-z0-9_-]{1,31}", re.ASCII)
CONTACT_RE = re.compile(r"sip:([0-9]{1,3}(?:\.[0-9]{1,3}){3}):([0-9]{1,5})", re.ASCII)
# What may appear in a mobile number as typed; everything else (letters,
# CR/LF, ';', '&', ...) is refused before parsing.
_MOBILE_CHARS = re.compile(r"\+?[0-9 ().\-]{4,30}", re.ASCII)
SIP_ENDPOINT_PREFIX = "ph-"


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
    from callcenter.calls.numbers import InvalidNumber, normalise

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


async def create_user(session: AsyncSession, settings: Settings, name: str, role: str,
                      phone_mode: str | None = None, contact: str | None = None,
                      mobile: str | None = None, password: str | None = None, *,
                      actor: str) -> tuple[User, str | None]:
    """Create a user; returns (user, sip_password).

    ``phone_mode`` None means no phone (it is inferred as "mobile" when
    ``mobile`` is given, "desktop" when ``contact`` is given). A desktop phone
    without ``contact`` gets a generated SIP password: only its md5 digest is
    stored, the clear password is returned (show it once). ``password`` is
    the web login password (None: the user cannot log in with a password).
    """
    validate_name(name)
    validate_role(role)
    if phone_mode is None:
        phone_mode = "mobile" if mobile else "desktop" if contact else None
    if phone_mode is not None and phone_mode not in PHONE_MODES:
        raise InvalidPhoneMode(f"invalid phone mode {phone_mode!r}: choose desktop or mobile")
    if contact is not None and phone_mode != "desktop":
        raise InvalidContact("a SIP contact is only for a desktop phone")
    if mobile is not None and phone_mode != "mobile":
        raise InvalidMobile("a mobile number is only for the mobile phone mode")
    if phone_mode == "mobile" and not mobile:
        raise InvalidMobile("the mobile phone mode needs a mobile number")
    if password is not None and (problem := passwords.password_problem(password)):
        raise WeakPassword(problem)

    user = User(name=name, role=role, phone_mode=phone_mode, active=True)
    sip_password = None
    if phone_mode == "desktop":
        user.sip_endpoint = sip_endpoint_for(name)
        if contact is not None:
            user.sip_contact = validate_contact(contact)
        else:
            sip_password = secrets.token_urlsafe(18)
            user.sip_md5_cred = sip_md5_cred(user.sip_endpoint, settings.pbx.sip_realm, sip_password)
    elif phone_mode == "mobile":
        user.mobile = normalise_mobile(mobile, settings.calls.default_region)
    if password is not None:
        user.password_hash = passwords.hash_password(password)

    if await get_user_by_name(session, name) is not None:
        raise UserExists(f"a user named {name!r} already exists")
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise UserExists(f"a user named {name!r} already exists") from None
    audit.record(session, actor, "user.add", "user", user.id, name=name, role=role,
                 phone_mode=phone_mode, sip_endpoint=user.sip_endpoint,
                 sip_contact=user.sip_contact, mobile=user.mobile,
                 login_password=password is not None)
    return user, sip_password


async def disable_user(session: AsyncSession, name: str, *, actor: str) -> User:
    """Mark the user inactive (rows are kept for call records and audit).
    Disabling a disabled user changes nothing and writes no audit row."""
    user = await get_user_by_name(session, name)
    if user is None:
        raise UserNotFound(f"no user named {name!r}")
    if user.active:
        user.active = False
        audit.record(session, actor, "user.disable", "user", user.id, name=name)
        await session.flush()
    return user
