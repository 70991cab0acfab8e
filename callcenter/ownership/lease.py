"""A lease in Redis with a fencing token: which ``serve`` process does a duty
the whole system must do once (the sweepers, the call rows of one Asterisk).

``Lease(redis, key_prefix, name, holder, ttl)`` keeps ``<prefix>lease:<name>``
= ``"<token>|<holder>"`` with an expiry of ``ttl``. One Lua script acquires or
renews it atomically: SET when absent (a new acquisition, which takes its
fencing token from ``INCR <prefix>lease:<name>:token``, so tokens only grow,
whoever holds the lease), PEXPIRE when it is already ours, nothing when
another holder has it. :meth:`run` renews every ``ttl/3``. The lease is lost
when a renewal finds another holder, or when Redis has not confirmed it for
``ttl`` (the key may have expired there and been taken): :attr:`held` turns
False by the clock alone, so the duties stop at once even while Redis hangs.
(:attr:`lapsed` then says no other holder was seen: only a write the database
fences may go on, the call rows: duties.py.)
A holder that dies (SIGKILL) is replaced within ``ttl`` + ``ttl/3``.

The token is what makes the lease safe rather than merely likely: a holder
paused past its ``ttl`` may still believe it holds the lease, so a write that
must never come from a stale holder carries the token and the database refuses
a token older than the newest it has seen (fencing.py).

Why Redis and not a database lock: the server runs on SQLite and on
PostgreSQL. A PostgreSQL advisory lock would tie the leases to one kind of
database (SQLite has nothing like it across processes), and it lives as long
as one connection, which a pool recycles. Every ``serve`` process of one
system already shares its Redis (the trunk accounting, the live bus), and a
key with an expiry plus INCR gives both the lease and a monotonic token.

Holder ids are ``host:pid:random`` (:func:`holder_id`)."""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable

from callcenter.loops import RateLimitedLog

log = logging.getLogger(__name__)
trouble_log = RateLimitedLog(log)
DEFAULT_TTL = 5.0

# KEYS: the lease, its token counter; ARGV: holder, ttl in ms.
# Returns the holder's token (> 0), or 0 when another holder has the lease.
ACQUIRE = """
local value = redis.call('GET', KEYS[1])
if value then
  local bar = string.find(value, '|', 1, true)
  if bar and string.sub(value, bar + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(value, 1, bar - 1))
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '|' .. ARGV[1], 'PX', ARGV[2])
return token
"""
# KEYS: the lease; ARGV: holder. Deletes the lease only when it is ours.
RELEASE = """
local value = redis.call('GET', KEYS[1])
if value then
  local bar = string.find(value, '|', 1, true)
  if bar and string.sub(value, bar + 1) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
  end
end
return 0
"""

# KEYS: the token counter; ARGV: a floor. The counter raised to the floor when below it.
RAISE = """
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 0
"""

Callback = Callable[[], Awaitable[None] | None]


def holder_id() -> str:
    """This process, unique even across restarts with the same pid: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    def __init__(self, redis, key_prefix: str, name: str, holder: str, ttl: float = DEFAULT_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis, self.name, self.holder, self.ttl, self.clock = redis, name, holder, ttl, clock
        self.key = f"{key_prefix}lease:{name}"
        self.token_key = f"{self.key}:token"
        self.token: int | None = None     # the token of the current (or last) acquisition
        self._until = 0.0                 # held until then by the clock, unless renewed
        self._was_held = False
        self.displaced = False            # the last answer of Redis: another holder has it (or we let go)
        self.acquisitions = 0             # how many times this process took the lease
        self.on_acquired: list[Callback] = []
        # None, or whether this process may hold the lease now (another PBX node's
        # lease: only while its AMI link is up); when it may not, the lease is let go
        self.eligible: Callable[[], bool] | None = None
        self.on_lost: list[Callback] = []
        self._tasks: set[asyncio.Task] = set()
        self._acquire = redis.register_script(ACQUIRE)
        self._release = redis.register_script(RELEASE)
        self._raise = redis.register_script(RAISE)

    @property
    def held(self) -> bool:
        """True while Redis confirmed the lease less than ``ttl`` ago."""
        return self.token is not None and self.clock() < self._until

    @property
    def lapsed(self) -> bool:
        """Held once and not renewed since, with no other holder seen: Redis
        has not answered. Only a write fenced by the database may go on."""
        return self.token is not None and not self.held and not self.displaced

    async def attempt(self) -> bool:
        """One acquisition or renewal; True when this process holds the lease.
        An error (Redis away) is raised; the lease stays held until its time runs out."""
        sent_at = self.clock()  # Redis's expiry starts no earlier than this
        try:
            token = int(await self._acquire(keys=[self.key, self.token_key],
                                            args=[self.holder, int(self.ttl * 1000)]))
        except BaseException:
            self._settle()
            raise
        if token > 0:
            self.token, self._until, self.displaced = token, sent_at + self.ttl, False
        else:
            self._until, self.displaced = 0.0, True
        self._settle()
        return token > 0

    def _settle(self, releasing: bool = False) -> None:
        """Tell the listeners when the lease was taken or lost since last time."""
        held = self.held
        if held == self._was_held:
            return
        self._was_held = held
        if held:
            self.acquisitions += 1
            log.info("lease %s taken by %s (token %s)", self.name, self.holder, self.token)
        elif releasing:
            log.info("lease %s released by %s (token %s)", self.name, self.holder, self.token)
        else:
            log.warning("lease %s lost by %s (token %s)", self.name, self.holder, self.token)
        for callback in self.on_acquired if held else self.on_lost:
            self._call(callback)

    def _call(self, callback: Callback) -> None:
        try:
            result = callback()
        except Exception:  # noqa: BLE001 - a listener's fault never stops the lease
            log.exception("lease %s: a listener failed", self.name)
            return
        if asyncio.iscoroutine(result):
            task = asyncio.create_task(self._guarded(result), name=f"lease:{self.name}:listener")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guarded(self, coroutine) -> None:
        try:
            await coroutine
        except Exception:  # noqa: BLE001 - logged; the lease goes on
            log.exception("lease %s: a listener failed", self.name)

    async def run(self) -> None:
        """Acquire or renew every ``ttl/3`` seconds, for as long as the server runs
        (a loop of callcenter/loops.py). Between renewals the clock alone ends the lease."""
        every = self.ttl / 3
        while True:
            if self.eligible is not None and not self.eligible():
                if self.held:
                    log.warning("lease %s: this process may not hold it now: letting it go", self.name)
                    await self.release()
                await asyncio.sleep(every)
                continue
            try:  # a Redis that hangs must not keep the lease past its time: cut short at its end
                await asyncio.wait_for(self.attempt(), max(0.05, self._until - self.clock())
                                       if self.held else self.ttl)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis away: held until the ttl runs out
                trouble_log.warning(f"{self.name}:{type(error).__name__}", "lease %s: %s: %s",
                                    self.name, type(error).__name__, error)
            next_at = self.clock() + every
            if self.held:  # wake for the end of the lease too, should the renewals hang
                next_at = min(next_at, self._until)
            await asyncio.sleep(max(0.0, next_at - self.clock()))
            self._settle()

    async def release(self) -> None:
        """Give the lease up (a clean stop), so another process takes it at once."""
        was = self.held
        self._until, self.displaced = 0.0, True
        if was:
            try:
                await self._release(keys=[self.key], args=[self.holder])
            except Exception as error:  # noqa: BLE001 - it expires by itself
                log.warning("lease %s: release failed: %s", self.name, error)
        self._settle(releasing=True)

    async def renumber(self, floor: int) -> bool:
        """Take the lease again with a token above ``floor`` (the newest one a
        fenced write found recorded): Redis lost its counter (it came back
        empty), so its tokens started again from 1. True when held again."""
        await self._raise(keys=[self.token_key], args=[int(floor)])
        await self.release()
        return await self.attempt()

    async def holder_now(self) -> str | None:
        """Who holds the lease in Redis (``token|holder``), for the pages and tests."""
        value = await self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
