"""The click-to-call hot path's in-memory caches: verified tokens (web.auth) and
the agent/trunk directory (callcenter.directory), against a migrated SQLite
database."""
from __future__ import annotations

from types import SimpleNamespace

from callcenter.auth.tokens import create_token, revoke_token
from callcenter.directory import Directory
from callcenter.trunks import add_trunk, remove_trunk
from callcenter.users import create_user, disable_user
from callcenter.work.handover import hand_over_work
from web.auth import TOKEN_CACHE_SECONDS, cached_principal

ACTOR = "test:pytest"




async def test_token_cache_serves_then_expires_after_revoke(sessions):
    async with sessions() as s, s.begin():
        raw = await create_token(s, "crm", "manager", actor=ACTOR)
    services = SimpleNamespace(sessions=sessions, token_cache={}, token_uses=set())
    first = await cached_principal(services, raw, now=100.0)
    assert first is not None and first.name == "token:crm" and first.role == "manager"
    async with sessions() as s, s.begin():
        assert await revoke_token(s, "crm", actor=ACTOR) is True
    # still inside the TTL: the cached answer (the documented price of the cache)
    assert await cached_principal(services, raw, now=100.0 + TOKEN_CACHE_SECONDS - 0.1) == first
    # past it: verified again, refused, and not cached
    assert await cached_principal(services, raw, now=100.0 + TOKEN_CACHE_SECONDS + 0.1) is None
    assert services.token_cache == {}


async def test_token_cache_never_caches_unknown_or_malformed(sessions):
    services = SimpleNamespace(sessions=sessions, token_cache={}, token_uses=set())
    assert await cached_principal(services, "cc_" + "x" * 43) is None
    assert await cached_principal(services, "not-a-token\udcff") is None
    assert services.token_cache == {}


async def test_disabled_user_token_stops_after_ttl(sessions, settings):
    async with sessions() as s, s.begin():
        user, _ = await create_user(s, settings, "asha", "agent", "desktop", actor=ACTOR)
        raw = await create_token(s, "tok-asha", user_id=user.id, actor=ACTOR)
    services = SimpleNamespace(sessions=sessions, token_cache={}, token_uses=set())
    assert (await cached_principal(services, raw, now=10.0)).user_id == user.id
    async with sessions() as s, s.begin():
        await disable_user(s, "asha", actor=ACTOR, hand_over=hand_over_work)
    assert await cached_principal(services, raw, now=10.0 + TOKEN_CACHE_SECONDS + 0.1) is None


async def test_directory_refresh_and_miss_fallback(sessions, settings):
    async with sessions() as s, s.begin():
        await add_trunk(s, "beta", "10.0.0.2", 5060, "8062247500-8062247599", actor=ACTOR)
        await add_trunk(s, "alpha", "10.0.0.1", 5060, "8062247000-8062247099", actor=ACTOR)
        await create_user(s, settings, "asha", "agent", "desktop", actor=ACTOR)
    directory = Directory(sessions)
    await directory.refresh()
    assert set(directory.agents) == {"asha"}
    assert (await directory.trunk()).name == "beta"  # lowest id, as before
    assert (await directory.trunk("alpha")).pilot == "8062247000"
    assert await directory.trunk("nope") is None

    # a user added after the refresh works at once (looked up on the miss) ...
    async with sessions() as s, s.begin():
        await create_user(s, settings, "ravi", "agent", "mobile", mobile="+91 98123 45678", actor=ACTOR)
    ravi = await directory.agent("ravi")
    assert ravi is not None and ravi.phone_mode == "mobile" and ravi.mobile
    assert await directory.agent("nobody") is None

    # ... and a disabled user or removed trunk disappears at the next refresh
    async with sessions() as s, s.begin():
        await disable_user(s, "asha", actor=ACTOR, hand_over=hand_over_work)
        await remove_trunk(s, "beta", actor=ACTOR)
    assert await directory.agent("asha") is not None  # until the refresh
    await directory.refresh()
    assert await directory.agent("asha") is None
    assert set(directory.agents) == {"ravi"}
    assert (await directory.trunk()).name == "alpha"
    assert await directory.trunk("beta") is None


async def test_a_tokens_last_use_is_written_by_the_loop_not_by_the_request(sessions):
    from sqlalchemy import select

    from callcenter.models import ApiToken
    from callcenter.auth.tokens import write_token_uses

    async with sessions() as s, s.begin():
        raw = await create_token(s, "crm", "manager", actor=ACTOR)
    services = SimpleNamespace(sessions=sessions, token_cache={}, token_uses=set())
    assert await cached_principal(services, raw, now=1.0) is not None
    async with sessions() as s:
        token = (await s.execute(select(ApiToken))).scalar_one()
    assert token.last_used_at is None and services.token_uses == {token.id}  # noted, not written

    class Locked:
        def __call__(self):
            raise RuntimeError("database is locked")
    services.sessions = Locked()
    try:
        await write_token_uses(services.sessions, services.token_uses)
    except RuntimeError:
        pass
    assert services.token_uses == {token.id}  # kept for the next pass
    services.sessions = sessions
    await write_token_uses(services.sessions, services.token_uses)
    async with sessions() as s:
        assert (await s.execute(select(ApiToken))).scalar_one().last_used_at is not None
    assert services.token_uses == set()
