"""The leases that make several ``serve`` processes one system
(callcenter/ownership/lease.py), on the real Redis of the test stack: one
holder at a time, fencing tokens that only grow, a dead holder replaced
within its lifetime, a holder that loses Redis giving its duties up."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from callcenter.ownership import fencing
from callcenter.ownership.duties import Ownership
from callcenter.ownership.fencing import Fence, StaleOwner
from callcenter.ownership.lease import Lease
from callcenter.services import REDIS_TIMEOUTS

pytestmark = pytest.mark.pbx


@pytest.fixture
async def redis(pbx_stack):
    client = Redis.from_url(pbx_stack.redis_url, **REDIS_TIMEOUTS)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}:"


async def kill(*tasks: asyncio.Task) -> None:
    """Cancel until done: a cancellation redis-py catches mid-call is swallowed
    (callcenter/loops.py's close does the same)."""
    for _ in range(50):
        for task in tasks:
            task.cancel()
        _, pending = await asyncio.wait(tasks, timeout=0.1)
        if not pending:
            return
    raise AssertionError(f"{tasks} did not stop")


async def wait_for(check, timeout: float) -> float:
    """Seconds until ``check()`` is true; AssertionError after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not true after {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_one_holder_at_a_time_and_each_acquisition_a_larger_token(redis, prefix):
    a = Lease(redis, prefix, "duties", "host:1:a", ttl=5.0)
    b = Lease(redis, prefix, "duties", "host:2:b", ttl=5.0)
    assert await a.attempt() is True and a.held
    assert await b.attempt() is False and not b.held
    assert await a.attempt() is True and a.token == 1  # a renewal keeps the token
    assert await redis.pttl(a.key) > 4000

    await a.release()
    assert not a.held and not a.lapsed  # given away: no write of its own goes on
    assert await b.attempt() is True and b.token == 2
    assert await a.attempt() is False and a.displaced  # B holds it now
    await b.release()
    assert await a.attempt() is True and a.token == 3


async def test_a_holder_that_dies_is_replaced_within_the_ttl_with_a_larger_token(redis, prefix):
    a = Lease(redis, prefix, "pbx:main", "host:1:a", ttl=1.5)
    b = Lease(redis, prefix, "pbx:main", "host:2:b", ttl=1.5)
    taken = []
    b.on_acquired.append(lambda: taken.append(time.monotonic()))
    a_task = asyncio.create_task(a.run())
    await wait_for(lambda: a.held, 2)
    b_task = asyncio.create_task(b.run())
    try:
        await asyncio.sleep(2.0)  # renewed across more than its ttl: still A's
        assert a.held and not b.held

        await kill(a_task)  # killed: no release, its key expires by itself
        took = await wait_for(lambda: b.held, 1.5 + 1.0)
        assert took <= 1.5 + 1.0 and len(taken) == 1
        assert b.token > a.token
        assert not a.held  # by its own clock too: a process paused this long would not act
        assert (await b.holder_now()).endswith("|host:2:b")
    finally:
        await kill(b_task)


class Outage:
    """A TCP relay to Redis that can be cut: Redis, unreachable for one client."""

    def __init__(self, port: int) -> None:
        self.port, self.writers, self.server = port, [], None
        self.stalled = False

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers += [writer, up_writer]

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    if self.stalled:
                        continue  # swallowed: the client waits for an answer that never comes
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stall(self) -> None:
        """Connections stay open but nothing gets through: the client's calls hang."""
        self.stalled = True

    def cut(self) -> None:
        """Every connection dropped and no new one answered: the client's calls fail."""
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()

    async def close(self) -> None:
        self.cut()
        await self.server.wait_closed()


@pytest.mark.parametrize("how", ["cut", "stall"])
async def test_a_holder_cut_off_from_redis_gives_its_duties_up_within_the_ttl(redis, prefix, pbx_stack, how):
    outage = Outage(int(pbx_stack.redis_url.rsplit(":", 1)[1].split("/")[0]))
    port = await outage.start()
    cut_off = Redis.from_url(f"redis://127.0.0.1:{port}/0", **REDIS_TIMEOUTS)
    a = Lease(cut_off, prefix, "duties", "host:1:a", ttl=1.5)
    b = Lease(redis, prefix, "duties", "host:2:b", ttl=1.5)
    lost = []
    a.on_lost.append(lambda: lost.append(time.monotonic()))
    tasks = [asyncio.create_task(a.run())]
    try:
        await wait_for(lambda: a.held, 2)
        tasks.append(asyncio.create_task(b.run()))
        await asyncio.sleep(1.0)
        assert a.held and not b.held

        getattr(outage, how)()
        cut_at = time.monotonic()
        await wait_for(lambda: not a.held, 1.5 + 0.2)
        assert a.lapsed  # no other holder seen: only its database-fenced writes may go on
        await wait_for(lambda: bool(lost), 1.0)  # its listeners hear it too (the duties stop)
        assert lost[0] - cut_at <= 1.5 + 0.7
        await wait_for(lambda: b.held, 1.5 + 1.0)
        assert b.token > a.token
    finally:
        await kill(*tasks)
        await outage.close()
        await cut_off.aclose()


async def test_after_redis_lost_its_token_counter_the_owner_takes_a_token_above_the_databases(
        redis, prefix, sessions):
    engine = sessions.kw["bind"]
    async with engine.begin() as connection:  # written by an owner before Redis came back empty
        await fencing.claim(connection, Fence("main", 41, "host:9:old"))
    ownership = Ownership(redis, prefix, "main", ttl=5.0, holder="host:1:a")
    assert await ownership.pbx.attempt() and ownership.pbx.token == 1
    with pytest.raises(StaleOwner):
        async with engine.begin() as connection:
            await fencing.claim(connection, ownership.fence())

    await ownership.refused(engine, 1)
    assert ownership.pbx.held and ownership.pbx.token == 42
    async with engine.begin() as connection:
        await fencing.claim(connection, ownership.fence())
    assert await fencing.newest_token(engine, "main") == 42
