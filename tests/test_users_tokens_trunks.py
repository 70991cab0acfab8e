"""The users, tokens and trunks services, against a migrated SQLite database."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select

from callcenter.auth import passwords
from callcenter.auth.tokens import (
    InvalidTokenRole, Principal, TokenExists, TokenNotFound, create_token, hash_token,
    revoke_token, verify_token,
)
from callcenter.models import ApiToken, AuditEntry, Call, Trunk, User, utcnow
from callcenter.trunks import (
    DidOverlap, InvalidDidRange, InvalidHost, InvalidPilot, TrunkExists, TrunkInUse,
    TrunkNotFound, add_trunk, get_trunk, list_trunks, parse_did_range, pick_caller_id,
    remove_trunk,
)
from callcenter.users import (
    InvalidContact, InvalidMobile, InvalidName, UserExists, UserNotFound, WeakPassword,
    create_user, disable_user, get_user_by_name, list_users,
)
from callcenter.work.handover import hand_over_work

ACTOR = "test:pytest"




async def audit_actions(sessions) -> list[str]:
    async with sessions() as s:
        return list((await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())


# ---------------------------------------------------------------- users

async def test_create_desktop_user(sessions, settings):
    async with sessions() as s, s.begin():
        user, sip_password = await create_user(s, settings, "alice", "agent", "desktop",
                                               password="a long password", actor=ACTOR)
    assert user.sip_endpoint == "ph-alice" and user.sip_contact is None
    assert user.sip_md5_cred == hashlib.md5(f"ph-alice:callcenter:{sip_password}".encode()).hexdigest()
    assert passwords.verify_password(user.password_hash, "a long password")
    assert not passwords.verify_password(user.password_hash, "a wrong password")
    async with sessions() as s:
        assert (await get_user_by_name(s, "alice")).id == user.id
        assert [u.name for u in await list_users(s)] == ["alice"]
    assert await audit_actions(sessions) == ["user.add"]


async def test_user_without_phone_or_password(sessions, settings):
    async with sessions() as s, s.begin():
        user, sip_password = await create_user(s, settings, "mgr", "manager", actor=ACTOR)
    assert sip_password is None and user.phone_mode is None and user.password_hash is None
    assert not passwords.verify_password(user.password_hash, "anything at all")


@pytest.mark.parametrize("kwargs, error", [
    (dict(name="A"), InvalidName),
    (dict(contact="sip:host.example:5060"), InvalidContact),
    (dict(phone_mode="mobile", mobile="98765abc10"), InvalidMobile),
    (dict(phone_mode="mobile", mobile="9876543210\n"), InvalidMobile),
    (dict(phone_mode="desktop", mobile="9876543210"), InvalidMobile),
    (dict(phone_mode="mobile", contact="sip:10.0.0.1:5060", mobile="9876543210"), InvalidContact),
    (dict(password="short"), WeakPassword),
    (dict(password="ten chars\nwith newline"), WeakPassword),
])
async def test_create_user_refusals(sessions, settings, kwargs, error):
    args = dict(name="bob", role="agent", phone_mode=None, contact=None, mobile=None, password=None)
    args.update(kwargs)
    async with sessions() as s:
        with pytest.raises(error) as info:
            async with s.begin():
                await create_user(s, settings, **args, actor=ACTOR)
    assert info.value.error_id and info.value.message
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0
    assert await audit_actions(sessions) == []


async def test_duplicate_user_rolls_back(sessions, settings):
    async with sessions() as s, s.begin():
        await create_user(s, settings, "carol", "agent", actor=ACTOR)
    async with sessions() as s:
        with pytest.raises(UserExists) as info:
            async with s.begin():
                await create_user(s, settings, "carol", "admin", actor=ACTOR)
    assert info.value.error_id == "user_exists" and info.value.status == 409
    assert await audit_actions(sessions) == ["user.add"]


async def test_disable_user(sessions, settings):
    async with sessions() as s, s.begin():
        await create_user(s, settings, "dave", "agent", actor=ACTOR)
    async with sessions() as s, s.begin():
        assert (await disable_user(s, "dave", actor=ACTOR, hand_over=hand_over_work)).active is False
    async with sessions() as s, s.begin():
        await disable_user(s, "dave", actor=ACTOR, hand_over=hand_over_work)  # no change, no second audit row
    async with sessions() as s:
        with pytest.raises(UserNotFound):
            await disable_user(s, "nobody", actor=ACTOR, hand_over=hand_over_work)
        assert [u.name for u in await list_users(s, include_disabled=False)] == []
    assert await audit_actions(sessions) == ["user.add", "user.disable"]


# ---------------------------------------------------------------- tokens

async def test_token_lifecycle(sessions, settings):
    async with sessions() as s, s.begin():
        raw = await create_token(s, "crm", None, None, actor=ACTOR)
    async with sessions() as s:
        stored = (await s.scalars(select(ApiToken))).one()
    assert stored.token_hash == hash_token(raw) == hashlib.sha256(raw.encode()).hexdigest()
    assert stored.role == "manager"
    async with sessions() as s:
        assert await verify_token(s, raw) == Principal(name="token:crm", role="manager", user_id=None)
    for bad in (None, "", "cc_", "Bearer " + raw, raw + "x", raw.upper(), raw + "\n"):
        async with sessions() as s:
            assert await verify_token(s, bad) is None
    async with sessions() as s, s.begin():
        assert await revoke_token(s, "crm", actor=ACTOR) is True
    async with sessions() as s, s.begin():
        assert await revoke_token(s, "crm", actor=ACTOR) is False
    async with sessions() as s:
        assert await verify_token(s, raw) is None
        with pytest.raises(TokenNotFound):
            await revoke_token(s, "nope", actor=ACTOR)
        with pytest.raises(TokenExists, match="revoked tokens keep their name"):
            await create_token(s, "crm", "admin", None, actor=ACTOR)
    assert await audit_actions(sessions) == ["token.create", "token.revoke"]


async def test_token_roles(sessions, settings):
    async with sessions() as s, s.begin():
        user, _ = await create_user(s, settings, "erin", "teamlead", actor=ACTOR)
    async with sessions() as s:
        with pytest.raises(InvalidTokenRole):
            await create_token(s, "svc", "agent", None, actor=ACTOR)
        with pytest.raises(InvalidTokenRole):
            await create_token(s, "svc", "admin", user.id, actor=ACTOR)
        with pytest.raises(InvalidTokenRole):
            await create_token(s, "svc", "root", None, actor=ACTOR)
    async with sessions() as s, s.begin():
        raw = await create_token(s, "erin-tok", None, user.id, actor=ACTOR)
    async with sessions() as s:
        assert await verify_token(s, raw) == Principal(name="erin", role="teamlead", user_id=user.id)
    # the user's current role applies
    async with sessions() as s, s.begin():
        (await get_user_by_name(s, "erin")).role = "manager"
    async with sessions() as s:
        assert (await verify_token(s, raw)).role == "manager"


async def test_last_used_at_is_written_at_most_once_a_minute(sessions, settings):
    async with sessions() as s, s.begin():
        raw = await create_token(s, "crm", "manager", None, actor=ACTOR)

    async def last_used():
        async with sessions() as s:
            value = await s.scalar(select(ApiToken.last_used_at))
        return value.replace(tzinfo=dt.timezone.utc) if value and value.tzinfo is None else value

    async with sessions() as s:
        await verify_token(s, raw)
    first = await last_used()
    assert first is not None and abs((utcnow() - first).total_seconds()) < 5
    async with sessions() as s:
        await verify_token(s, raw)
    assert await last_used() == first
    async with sessions() as s, s.begin():
        (await s.scalars(select(ApiToken))).one().last_used_at = first - dt.timedelta(minutes=2)
    async with sessions() as s:
        await verify_token(s, raw)
    assert await last_used() >= first


# ---------------------------------------------------------------- trunks

async def _trunk(sessions, name="carrier-a", dids="8062247000-8062247749", **kw):
    async with sessions() as s, s.begin():
        return await add_trunk(s, name, kw.pop("host", "203.0.113.10"), kw.pop("port", 5060), dids,
                               actor=ACTOR, **kw)


def test_parse_did_range():
    assert parse_did_range("8062247000-8062247749") == ("8062247000", "8062247749")
    assert parse_did_range(" 0800100-0800199 ") == ("0800100", "0800199")
    assert parse_did_range("8062247000") == ("8062247000", "8062247000")
    for bad in ("", "-", "1-2-3", "80622470OO-8062247749", "+918062247000-+918062247749",
                "8062247749-8062247000", "999-1000", "1000000-1010000", "８０６２２４７０００"):
        with pytest.raises(InvalidDidRange):
            parse_did_range(bad)


async def test_pick_caller_id(sessions):
    trunk = await _trunk(sessions, dids="0800100-0800102", pilot="0800101")
    assert pick_caller_id(trunk, 0, "pilot") == "0800101"
    assert [pick_caller_id(trunk, n, "round_robin") for n in range(5)] == [
        "0800100", "0800101", "0800102", "0800100", "0800101"]
    with pytest.raises(ValueError):
        pick_caller_id(trunk, 0, "random")
    full = Trunk(did_start="8062247000", did_end="8062247749", pilot="8062247000")
    assert pick_caller_id(full, 749, "round_robin") == "8062247749"
    assert pick_caller_id(full, 750, "round_robin") == "8062247000"


async def test_add_trunk_refusals(sessions):
    with pytest.raises(InvalidHost):
        await _trunk(sessions, host="carrier.example")
    with pytest.raises(InvalidPilot):
        await _trunk(sessions, pilot="8062247750")
    await _trunk(sessions)
    with pytest.raises(TrunkExists):
        await _trunk(sessions, dids="8062248000-8062248749")
    with pytest.raises(DidOverlap):
        await _trunk(sessions, name="carrier-b", dids="8062247700-8062248000")
    await _trunk(sessions, name="carrier-b", dids="8062247750-8062248000")
    async with sessions() as s:
        assert [t.name for t in await list_trunks(s)] == ["carrier-a", "carrier-b"]
    assert await audit_actions(sessions) == ["trunk.add", "trunk.add"]


async def test_remove_trunk_with_call_records_keeps_the_row(sessions, settings):
    async with sessions() as s, s.begin():
        agent, _ = await create_user(s, settings, "fay", "agent", actor=ACTOR)
    trunk = await _trunk(sessions)
    async with sessions() as s, s.begin():
        s.add(Call(id="c1", agent_id=agent.id, requested_by="fay", mode="desktop", number="+919876543210",
                   trunk_id=trunk.id, caller_id=trunk.pilot, channels=1, state="connected"))
    async with sessions() as s:
        with pytest.raises(TrunkInUse) as info:
            async with s.begin():
                await remove_trunk(s, "carrier-a", actor=ACTOR)
    assert info.value.error_id == "trunk_in_use"
    async with sessions() as s, s.begin():
        (await s.get(Call, "c1")).ended_at = utcnow()
    async with sessions() as s, s.begin():
        await remove_trunk(s, "carrier-a", actor=ACTOR)
    async with sessions() as s:
        assert await list_trunks(s) == [] and await get_trunk(s, "carrier-a") is None
        kept = await get_trunk(s, "carrier-a", include_removed=True)
        assert kept is not None and kept.removed_at is not None
        with pytest.raises(TrunkNotFound):
            await remove_trunk(s, "carrier-a", actor=ACTOR)
    with pytest.raises(TrunkExists, match="removed"):
        await _trunk(sessions)
    # its DIDs are free again
    await _trunk(sessions, name="carrier-c")
    assert await audit_actions(sessions) == ["user.add", "trunk.add", "trunk.remove", "trunk.add"]


def test_error_ids_are_stable():
    from callcenter import auth, trunks, users

    ids = {cls.__name__: cls.error_id for mod in (users, trunks, auth)
           for cls in vars(mod).values() if isinstance(cls, type) and hasattr(cls, "error_id")}
    assert ids["UserExists"] == "user_exists" and ids["InvalidName"] == "invalid_name"
    assert ids["TrunkInUse"] == "trunk_in_use" and ids["TokenNotFound"] == "token_not_found"
    assert InvalidMobile("x").status == 422 and TrunkNotFound("x").status == 404
