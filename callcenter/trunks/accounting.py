"""Trunk channel accounting in Redis, shared by every ``serve`` process.

Each trunk has a hash of reserved legs (``<call id>:agent`` / ``<call id>:customer``
→ reservation time) and a meta hash (``max``, ``headroom``, ``foreign``: channels
Asterisk has on the trunk for other reasons, e.g. inbound calls).  A reservation
is one Lua script, so 1,000 concurrent requests can never overbook a trunk:

    reserved + foreign + wanted <= max - headroom

Redis may restart empty (a crash without its append-only file, a flush). So
that an idle trunk is then never reported full nor a busy one over-booked,
every admission checks the ``epoch`` key first: it is written last by
:meth:`TrunkAccounting.restore`, after the trunks' limits, the legs still
held and the agents' claims were rebuilt from the call tracker; until then
new calls answer 503 (``RedisUnavailable``).
"""
from __future__ import annotations

import logging
import secrets

from redis.asyncio import Redis

from callcenter.outages import RedisUnavailable

log = logging.getLogger(__name__)
# Delete an agent's claim only if it still names the call found stale.
_DROP_CLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class AccountingNotRestored(RedisUnavailable):
    """Redis answers but has lost the accounting; it is being rebuilt."""

_RESERVE = """
if redis.call('EXISTS', KEYS[3]) == 0 then
  return -2
end
local max = tonumber(redis.call('HGET', KEYS[2], 'max') or '0')
local headroom = tonumber(redis.call('HGET', KEYS[2], 'headroom') or '0')
local foreign = tonumber(redis.call('HGET', KEYS[2], 'foreign') or '0')
local used = redis.call('HLEN', KEYS[1])
local wanted = #ARGV - 1
if used + foreign + wanted > max - headroom then
  return 0
end
for i = 2, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
end
return 1
"""
# Claim the agent and reserve the call's legs in one step:
#   KEYS: legs, meta, agent, epoch;  ARGV: now, call id, claim ttl, claim when full (0/1), legs...
#   -> {1, ""} reserved (agent claimed); {0, ""} trunk full (agent claimed only when
#      asked, for a queued call); {-1, current call id} the agent already has a call;
#      {-2, ""} Redis lost its data and the accounting is not restored yet.
_START_CALL = """
if redis.call('EXISTS', KEYS[4]) == 0 then
  return {-2, ''}
end
local current = redis.call('GET', KEYS[3])
if current then
  return {-1, current}
end
local max = tonumber(redis.call('HGET', KEYS[2], 'max') or '0')
local headroom = tonumber(redis.call('HGET', KEYS[2], 'headroom') or '0')
local foreign = tonumber(redis.call('HGET', KEYS[2], 'foreign') or '0')
local wanted = #ARGV - 4
if redis.call('HLEN', KEYS[1]) + foreign + wanted > max - headroom then
  if ARGV[4] == '1' then
    redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
  end
  return {0, ''}
end
redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
for i = 5, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
end
return {1, ''}
"""
# Release the legs still held by an ended call and free its agent:
#   KEYS: legs, agent;  ARGV: call id, legs...  -> number of legs released
_END_CALL = """
local released = 0
for i = 2, #ARGV do
  released = released + redis.call('HDEL', KEYS[1], ARGV[i])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return released
"""


class TrunkAccounting:
    def __init__(self, redis: Redis, prefix: str = "cc:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._reserve = redis.register_script(_RESERVE)
        self._start_call = redis.register_script(_START_CALL)
        self._end_call = redis.register_script(_END_CALL)
        self._drop_claim = redis.register_script(_DROP_CLAIM)

    @property
    def _epoch(self) -> str:
        return f"{self.prefix}accounting:epoch"

    def _legs(self, trunk: str) -> str:
        return f"{self.prefix}trunk:{trunk}:legs"

    def _meta(self, trunk: str) -> str:
        return f"{self.prefix}trunk:{trunk}:meta"

    def _agent(self, agent_id: int) -> str:
        """The call an agent is on: one call per agent, across every server."""
        return f"{self.prefix}agent:{agent_id}:call"

    async def configure(self, trunk: str, max_channels: int, headroom: int) -> None:
        await self.redis.hset(self._meta(trunk), mapping={"max": max_channels, "headroom": headroom})

    async def reserve(self, trunk: str, legs: list[str], now: float) -> bool:
        ok = await self._reserve(keys=[self._legs(trunk), self._meta(trunk), self._epoch],
                                 args=[f"{now:.3f}", *legs])
        if ok == -2:
            raise AccountingNotRestored("the live store (Redis) restarted; calls resume in a moment")
        return bool(ok)

    async def start_call(self, trunk: str, legs: list[str], agent_id: int, call_id: str,
                         claim_seconds: int, now: float, *, claim_when_full: bool) -> tuple[str, str | None]:
        """One round trip for a new call: ("reserved", None), ("full", None) or
        ("agent_busy", the agent's current call id)."""
        status, current = await self._start_call(
            keys=[self._legs(trunk), self._meta(trunk), self._agent(agent_id), self._epoch],
            args=[f"{now:.3f}", call_id, claim_seconds, "1" if claim_when_full else "0", *legs])
        if status == -2:
            raise AccountingNotRestored("the live store (Redis) restarted; calls resume in a moment")
        if status == -1:
            return "agent_busy", current.decode()
        return ("reserved" if status == 1 else "full"), None

    async def end_call(self, trunk: str, legs: list[str], agent_id: int, call_id: str) -> int:
        """Release ``legs`` (those still held) and free the agent if this call holds it."""
        return int(await self._end_call(keys=[self._legs(trunk), self._agent(agent_id)], args=[call_id, *legs]))

    async def release(self, trunk: str, leg: str) -> bool:
        return bool(await self.redis.hdel(self._legs(trunk), leg))

    async def set_foreign(self, trunk: str, count: int) -> None:
        await self.redis.hset(self._meta(trunk), "foreign", count)

    async def reservations(self, trunk: str) -> dict[str, float]:
        raw = await self.redis.hgetall(self._legs(trunk))
        return {k.decode(): float(v) for k, v in raw.items()}

    async def usage(self, trunk: str) -> dict[str, int]:
        pipe = self.redis.pipeline()
        pipe.hgetall(self._meta(trunk))
        pipe.hlen(self._legs(trunk))
        pipe.get(f"{self.prefix}trunk:{trunk}:queued")
        meta, reserved, queued = await pipe.execute()
        meta = {k.decode(): int(v) for k, v in meta.items()}
        return {"max_channels": meta.get("max", 0), "headroom": meta.get("headroom", 0),
                "foreign": meta.get("foreign", 0), "reserved": reserved, "queued": int(queued or 0)}

    async def queued(self, trunk: str, delta: int) -> None:
        await self.redis.incrby(f"{self.prefix}trunk:{trunk}:queued", delta)

    async def next_caller_id(self, trunk: str) -> int:
        """0, 1, 2 ... shared by every server: the caller-ID rotation counter."""
        return await self.redis.incr(f"{self.prefix}trunk:{trunk}:cid") - 1

    # -- Redis lost and found ------------------------------------------------------
    async def restored(self) -> bool:
        """True while Redis holds the accounting (its epoch key)."""
        return bool(await self.redis.exists(self._epoch))

    async def epoch(self) -> str | None:
        """Which accounting Redis holds: a new id each time it is rebuilt after
        a loss (None: lost and not rebuilt yet). A server that finds an id it
        did not see before adds the calls only it knows of (``restore(merge=True)``)."""
        value = await self.redis.get(self._epoch)
        return value.decode() if value is not None else None

    async def restore(self, limits: dict[str, tuple[int, int]], held: dict[str, dict[str, float]],
                      claims: dict[int, str], foreign: dict[str, int], claim_seconds: int,
                      merge: bool = False, waiting: dict[str, int] | None = None) -> str:
        """Write the trunks' limits, the legs still held (trunk -> leg ->
        reserved at), the agents' claims (agent id -> call id) and the foreign
        counts, then the epoch key, in one transaction: calls are admitted
        again only once all of it is there. Legs and claims are added to what
        is there, never replacing it (every server adds its own). ``merge``:
        another server rebuilt it already; only the legs and claims are added.
        ``waiting``: this server's calls queued for a channel, per trunk (added
        to the count shown). Returns the epoch now in force."""
        pipe = self.redis.pipeline(transaction=True)
        for trunk, (channels, headroom) in limits.items():
            if not merge:
                pipe.hset(self._meta(trunk), mapping={"max": channels, "headroom": headroom,
                                                      "foreign": foreign.get(trunk, 0)})
            legs = held.get(trunk)
            if legs:
                pipe.hset(self._legs(trunk), mapping={leg: f"{at:.3f}" for leg, at in legs.items()})
        for agent_id, call_id in claims.items():
            pipe.set(self._agent(agent_id), call_id, ex=claim_seconds, nx=True)
        for trunk, count in (waiting or {}).items():
            pipe.incrby(f"{self.prefix}trunk:{trunk}:queued", count)
        pipe.set(self._epoch, secrets.token_hex(8), nx=True)
        pipe.get(self._epoch)
        return (await pipe.execute())[-1].decode()

    async def claims(self) -> dict[int, tuple[str, int]]:
        """Every agent's claim: agent id -> (call id, seconds left)."""
        found: dict[int, tuple[str, int]] = {}
        keys = [key async for key in self.redis.scan_iter(match=f"{self.prefix}agent:*:call", count=500)]
        if not keys:
            return found
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
            pipe.ttl(key)
        values = await pipe.execute()
        for key, call_id, ttl in zip(keys, values[::2], values[1::2]):
            agent = key.decode().rsplit(":", 2)[-2]
            if call_id is not None and agent.isascii() and agent.isdigit():
                found[int(agent)] = (call_id.decode(), int(ttl))
        return found

    async def drop_claim(self, agent_id: int, call_id: str) -> bool:
        """Free the agent if their claim still names ``call_id``."""
        return bool(await self._drop_claim(keys=[self._agent(agent_id)], args=[call_id]))
