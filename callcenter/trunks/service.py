"""SIP trunks to the carrier: address, channel budget, DID range and pilot.

Functions take an AsyncSession, add/flush but never commit: the caller owns
the transaction, so the change and its audit row commit together. Channel
accounting at run time lives in ``callcenter.trunks.accounting`` (Redis).
"""
from __future__ import annotations

import ipaddress
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.campaigns.models import Campaign
from callcenter.inbound.models import InboundCall
from callcenter.models import Call, Trunk, utcnow
from callcenter.pbx.homes import check_node
from callcenter.trunks.exceptions import (
    DidOverlap, InvalidChannels, InvalidDidRange, InvalidHost, InvalidPilot, InvalidPort,
    InvalidTrunkName, TrunkExists, TrunkInUse, TrunkNotFound,
)

NAME_RE = re.compile(r"[a-z][a-z0-9_-]{1,31}", re.ASCII)
_IPV4_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}", re.ASCII)
_DIGITS_RE = re.compile(r"[0-9]{3,15}", re.ASCII)
MAX_CHANNELS = 10_000
MAX_DIDS = 10_000
ROTATIONS = ("pilot", "round_robin")


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidTrunkName(
            f"invalid trunk name {name!r}: use 2-32 characters, lower-case letters, digits, "
            "'-' or '_', starting with a letter")
    return name


def validate_host(host: str) -> str:
    """An IPv4 literal only: Asterisk must never resolve a carrier's name."""
    if not isinstance(host, str) or not _IPV4_RE.fullmatch(host):
        raise InvalidHost(
            f"invalid trunk host {host!r}: give the carrier's IPv4 address (e.g. 203.0.113.10), "
            "not a host name")
    try:
        addr = ipaddress.IPv4Address(host)
    except ValueError:
        raise InvalidHost(f"invalid trunk host {host!r}: not an IPv4 address") from None
    if addr.is_unspecified or addr.is_multicast or addr == ipaddress.IPv4Address("255.255.255.255"):
        raise InvalidHost(f"invalid trunk host {host!r}: cannot be a carrier's address")
    return str(addr)


def validate_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidPort(f"invalid trunk port {port!r}: must be 1-65535")
    return port


def parse_did_range(text: str) -> tuple[str, str]:
    """'8062247000-8062247749' -> ('8062247000', '8062247749'); a single
    number is a range of one. Both ends are digits of the same length (3-15),
    start <= end, at most 10,000 numbers."""
    if not isinstance(text, str):
        raise InvalidDidRange("the DID range must be text like 8062247000-8062247749")
    parts = text.strip(" ").split("-")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(_DIGITS_RE.fullmatch(p.strip(" ")) for p in parts):
        raise InvalidDidRange(
            f"invalid DID range {text!r}: write START-END in digits only, e.g. 8062247000-8062247749")
    start, end = (p.strip(" ") for p in parts)
    if len(start) != len(end):
        raise InvalidDidRange(f"invalid DID range {text!r}: both ends must have the same number of digits")
    if int(start) > int(end):
        raise InvalidDidRange(f"invalid DID range {text!r}: the start is after the end")
    if int(end) - int(start) + 1 > MAX_DIDS:
        raise InvalidDidRange(f"invalid DID range {text!r}: at most {MAX_DIDS:,} numbers")
    return start, end


def did_count(trunk: Trunk) -> int:
    return int(trunk.did_end) - int(trunk.did_start) + 1


def did_in_range(trunk: Trunk, number: str) -> bool:
    """Whether ``number`` (digits, as dialled to us) is one of the trunk's DIDs."""
    return (isinstance(number, str) and number.isascii() and number.isdigit()
            and len(number) == len(trunk.did_start)
            and int(trunk.did_start) <= int(number) <= int(trunk.did_end))


def pick_caller_id(trunk: Trunk, counter: int, rotation: str) -> str:
    """The caller ID of an outbound call: the pilot ("pilot"), or the DID at
    ``counter`` modulo the range size ("round_robin")."""
    if rotation == "pilot":
        return trunk.pilot
    if rotation == "round_robin":
        offset = counter % did_count(trunk)
        return str(int(trunk.did_start) + offset).zfill(len(trunk.did_start))
    raise ValueError(f"unknown caller ID rotation {rotation!r}")


async def get_trunk(session: AsyncSession, name: str, *, include_removed: bool = False) -> Trunk | None:
    query = select(Trunk).where(Trunk.name == name)
    if not include_removed:
        query = query.where(Trunk.removed_at.is_(None))
    return (await session.execute(query)).scalar_one_or_none()


async def list_trunks(session: AsyncSession, *, include_removed: bool = False) -> list[Trunk]:
    query = select(Trunk).order_by(Trunk.name)
    if not include_removed:
        query = query.where(Trunk.removed_at.is_(None))
    return list((await session.execute(query)).scalars())


async def add_trunk(session: AsyncSession, name: str, host: str, port: int, dids: str, *,
                    channels: int = 250, inbound_headroom: int = 0, pilot: str | None = None,
                    actor: str, node: str = "main") -> Trunk:
    """Add a trunk. ``dids`` is 'START-END'; ``pilot`` defaults to START and
    must lie inside the range. Refuses host names, bad ports, channels outside
    1..10000, headroom not below channels, DID ranges overlapping another
    trunk's, and an existing name."""
    validate_name(name)
    check_node(node)
    host = validate_host(host)
    validate_port(port)
    if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= MAX_CHANNELS:
        raise InvalidChannels(f"invalid channel count {channels!r}: must be 1-{MAX_CHANNELS}")
    if (isinstance(inbound_headroom, bool) or not isinstance(inbound_headroom, int)
            or not 0 <= inbound_headroom < channels):
        raise InvalidChannels(
            f"invalid inbound headroom {inbound_headroom!r}: must be 0 or more and below the "
            f"channel count ({channels})")
    did_start, did_end = parse_did_range(dids)
    if pilot is None:
        pilot = did_start
    pilot = pilot.strip(" ") if isinstance(pilot, str) else pilot
    trunk = Trunk(name=name, host=host, port=port, max_channels=channels,
                  inbound_headroom=inbound_headroom, did_start=did_start, did_end=did_end,
                  pilot="", pbx_node=node)
    if not did_in_range(trunk, pilot):
        raise InvalidPilot(f"invalid pilot {pilot!r}: it must be one of the trunk's DIDs ({did_start}-{did_end})")
    trunk.pilot = pilot

    existing = await get_trunk(session, name, include_removed=True)
    if existing is not None:
        if existing.removed_at is not None:
            raise TrunkExists(f"a removed trunk named {name!r} is kept for its call records; "
                              "choose another name")
        raise TrunkExists(f"a trunk named {name!r} already exists")
    for other in await list_trunks(session):
        if (len(other.did_start) == len(did_start)
                and int(other.did_start) <= int(did_end) and int(did_start) <= int(other.did_end)):
            raise DidOverlap(f"DIDs {did_start}-{did_end} overlap trunk {other.name!r} "
                             f"({other.did_start}-{other.did_end})")
    session.add(trunk)
    try:
        await session.flush()
    except IntegrityError:
        raise TrunkExists(f"a trunk named {name!r} already exists") from None
    audit.record(session, actor, "trunk.add", "trunk", trunk.id, name=name, host=host, port=port,
                 channels=channels, inbound_headroom=inbound_headroom,
                 dids=f"{did_start}-{did_end}", pilot=pilot, pbx_node=node)
    return trunk


async def remove_trunk(session: AsyncSession, name: str, *, actor: str) -> Trunk:
    """Remove a trunk. Refused (TrunkInUse) while it has calls not ended or
    a campaign that is not closed calls through it. A trunk nothing refers to
    is deleted; one with call records (outbound or inbound calls, closed
    campaigns) is marked removed (``removed_at``) and kept for them."""
    trunk = await get_trunk(session, name)
    if trunk is None:
        raise TrunkNotFound(f"no trunk named {name!r}")
    live = await session.scalar(select(func.count()).select_from(Call).where(
        Call.trunk_id == trunk.id, Call.ended_at.is_(None)))
    if live:
        raise TrunkInUse(f"trunk {name!r} has {live} call(s) not ended; remove it when they are over")
    campaigns = list((await session.execute(select(Campaign.name).where(
        Campaign.trunk_id == trunk.id, Campaign.status != "closed").order_by(Campaign.name).limit(6))).scalars())
    if campaigns:
        shown = ", ".join(campaigns[:5]) + (" and more" if len(campaigns) > 5 else "")
        raise TrunkInUse(f"trunk {name!r} is the trunk of campaign(s) {shown}: give them another trunk "
                         "or close them first")
    records = 0
    for model in (Call, Campaign, InboundCall):
        records += await session.scalar(select(func.count()).select_from(model).where(
            model.trunk_id == trunk.id))
    audit.record(session, actor, "trunk.remove", "trunk", trunk.id, name=name,
                 kept_for_call_records=bool(records))
    if records:
        trunk.removed_at = utcnow()
    else:
        await session.delete(trunk)
    await session.flush()
    return trunk
