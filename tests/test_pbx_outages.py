"""A dependency dies while a call is up, against the real Asterisk, Redis,
the database (SQLite or PostgreSQL) and sipp: Asterisk killed with SIGKILL,
Redis stopped and started again empty, the database locked past its busy
timeout (another writer's lock) as the call ends, a PostgreSQL server
stopped as the call ends.
Each time the call's row ends correctly, the trunk's channels go back to 0
and the agent's next call connects (docs/reliability.md)."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time

import pytest

from callcenter.database_url import DATABASE_URL_ENV
from callcenter.supervision import ManagedProcess
from tests import own_postgres
from tests.db_locks import writer_holding
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"
CUSTOMER = "9876543210"


async def eventually(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.fixture
async def server(call_server, sipp):
    """asha on a desktop phone that answers; a carrier whose customer answers
    and hangs up after 5 s (so a call ends by itself mid-outage)."""
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 5000])
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
    return await call_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                             trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port, channels=5)])


async def no_channels(server) -> bool:
    return server.services.ami.connected and not await server.services.ami.action_list("CoreShowChannels")


async def next_call_connects(server) -> None:
    resp = await server.place("asha", "9876543211")
    assert resp.status == 202, await resp.text()
    call = await server.wait_state((await resp.json())["id"], "ended", timeout=30)
    assert call["end_reason"] == "completed" and call["talk_seconds"] >= 4, call


async def test_asterisk_killed_mid_call_is_started_again_and_the_call_ended(server, pbx_stack):
    services = server.services
    # the server supervises this Asterisk as it does the one it starts itself
    services.supervisor.watch(ManagedProcess("asterisk", pbx_stack.asterisk, services.metrics,
                                             on_death=services._pbx_lost))
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "connected")
    killed_at = time.monotonic()
    os.kill(pbx_stack.asterisk.pid, signal.SIGKILL)

    call = await server.wait_state(body["id"], "ended", timeout=15)
    assert (call["end_reason"], call["hangup_by"]) == ("pbx_restarted", "system"), call
    assert call["talk_seconds"] is not None  # it was talked: the time until the PBX died
    await eventually(lambda: _asterisk_back(server, pbx_stack), 60, "Asterisk back and the AMI link up")
    back_after = time.monotonic() - killed_at
    assert back_after < 60
    trunk = (await server.trunks())["carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0
    async def restarted_once():  # counted when its start returns, a moment after AMI answers
        health = await (await server.client.get("/healthz")).json()
        return health["processes"]["asterisk"] == {"up": True, "restarts": 1}
    await eventually(restarted_once, 10, "the supervisor's restart counted once")
    await next_call_connects(server)
    await eventually(lambda: no_channels(server), 10, "no channels left")


async def _asterisk_back(server, pbx_stack) -> bool:
    return pbx_stack.asterisk.running and server.services.ami.connected


async def test_redis_stopped_mid_call_and_started_again_empty(server, pbx_stack):
    redis = pbx_stack.redis
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "connected")
    await redis.stop()
    try:
        # meanwhile: the API answers 503 redis_unavailable at once, never 500, never a hang
        started = time.monotonic()
        resp = await server.client.get("/api/v1/trunks", headers=server.headers())
        assert resp.status == 503 and resp.headers["Retry-After"] == "5", await resp.text()
        assert (await resp.json())["error"] == "redis_unavailable"
        resp = await server.place("asha", "9876543211")
        assert resp.status == 503 and (await resp.json())["error"] == "redis_unavailable"
        assert time.monotonic() - started < 6
        # a signed-in browser gets a page that says so (sessions live in Redis)
        page = await server.client.get("/", headers={"Cookie": "cc_session=" + "s" * 43})
        assert page.status == 503 and page.headers["Retry-After"] == "5"
        assert "text/html" in page.headers["Content-Type"] and "redis_unavailable" in await page.text()
        # the customer hangs up while Redis is away: the row is written all the same
        # (the releases in Redis are owed: the harness's wait for a settled call would wait for Redis)
        call = await eventually(lambda: _ended(server, body["id"]), 20, "the call's row ended")
        assert call["end_reason"] == "completed" and call["talk_seconds"] >= 4, call
        assert server.services.effects.backlog["releases"] >= 1
    finally:
        # started again with nothing: its append-only file is gone too
        for leftover in redis.data_dir.iterdir():
            if leftover.name != "redis.log":
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        await redis.start()
    # the accounting is rebuilt from the calls in progress before calls are admitted again
    await eventually(lambda: _trunks_answer(server), 10, "the trunks answered again")
    await eventually(server.services.accounting.restored, 10, "the accounting rebuilt")
    trunk = (await server.trunks())["carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0, trunk
    await eventually(lambda: _no_releases_owed(server), 20, "the owed releases done")
    await next_call_connects(server)  # not agent_busy, not trunk_full
    assert (await server.trunks())["carrier"]["reserved"] == 0


async def _ended(server, call_id: str) -> dict | None:
    call = await server.call(call_id)
    return call if call["state"] == "ended" and call["end_reason"] else None


async def _no_releases_owed(server) -> bool:
    return server.services.effects.backlog["releases"] == 0


async def _a_call_write_failed(server) -> bool:
    return server.services.metrics.call_writes_failed._value.get() >= 1


async def _trunks_answer(server) -> bool:
    resp = await server.client.get("/api/v1/trunks", headers=server.headers())
    return resp.status == 200


async def test_database_locked_as_the_call_ends_loses_nothing(server):
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "connected")
    # another writer holds the database's write lock past the 5 s busy timeout
    # (SQLite's BEGIN IMMEDIATE; PostgreSQL's tables locked past lock_timeout)
    async with writer_holding(server.settings.database_url):
        # the customer hangs up 5 s into the call, during the lock: the write of the
        # call's end waits out the busy timeout and fails. The lock is held until it
        # has (not for a fixed time: a loaded machine moves the hang-up by seconds).
        await eventually(lambda: _a_call_write_failed(server), 30, "a call write failed on the lock")
        resp = await server.client.get(f"/api/v1/calls/{body['id']}", headers=server.headers())
        assert resp.status == 200  # reads go on meanwhile
    # the failed write was kept and tried again once the lock went
    call = await server.wait_state(body["id"], "ended", timeout=30)
    assert call["end_reason"] == "completed" and call["talk_seconds"] >= 4, call
    assert (await server.trunks())["carrier"]["reserved"] == 0
    await next_call_connects(server)


@pytest.fixture
async def server_on_own_postgres(call_server, sipp, monkeypatch):
    """``server``'s set-up on a PostgreSQL server of the test's own, to stop."""
    if not own_postgres.available():
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are not installed")
    cluster = own_postgres.OwnPostgres()
    cluster.start()
    monkeypatch.setenv(DATABASE_URL_ENV, cluster.url)
    try:
        carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 5000])
        phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
        server = await call_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                                   trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port, channels=5)])
        server.cluster = cluster
        yield server
    finally:
        cluster.remove()


async def _placed_unless_busy(server):
    started = time.monotonic()
    resp = await server.place("asha", "9876543211")
    resp.took = time.monotonic() - started
    return None if resp.status == 409 else resp


async def test_postgresql_stopped_as_the_call_ends_loses_nothing(server_on_own_postgres):
    server = server_on_own_postgres
    body = await (await server.place("asha", CUSTOMER)).json()
    await server.wait_state(body["id"], "connected")
    server.cluster.stop()  # at once, as a crash would
    try:
        await eventually(lambda: _a_call_write_failed(server), 30, "a call write failed, no database")
        # the customer hangs up 5 s into the call; asha is free, but her next call
        # cannot be written: 503 database_unavailable within seconds, never a 500
        resp = await eventually(lambda: _placed_unless_busy(server), 30, "asha free again")
        assert resp.status == 503 and resp.headers["Retry-After"] == "5", await resp.text()
        assert (await resp.json())["error"] == "database_unavailable"
        assert resp.took < 6
    finally:
        server.cluster.start()
    # the failed write was kept and tried again once the server was back
    call = await server.wait_state(body["id"], "ended", timeout=30)
    assert call["end_reason"] == "completed" and call["talk_seconds"] >= 4, call
    assert (await server.trunks())["carrier"]["reserved"] == 0
    await next_call_connects(server)
