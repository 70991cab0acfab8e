"""Trunk channel accounting in Redis, shared by every ``serve`` process.

Each trunk has a hash of reserved legs (``<call id>:agent`` / ``<call id>:customer``
→ reservation time) and a meta hash (``max``, ``headroom``, ``foreign``: channels
Asterisk has on the trunk for other reasons, e.g. inbound calls).  A reservation
is one Lua script, so 1,000 concurrent requests can never overbook a trunk:

    reserved + foreign + wanted <= max - headroom
"""
from __future__ import annotations

import logging

from redis.asyncio import Redis

log = logging.getLogger(__name__)

_RESERVE = """
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
#   KEYS: legs, meta, agent;  ARGV: now, call id, claim ttl, claim when full (0/1), legs...
#   -> {1, ""} reserved (agent claimed); {0, ""} trunk full (agent claimed only when
#      asked, for a queued call); {-1, current call id} the agent already has a call.
_START_CALL = """
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
        ok = await self._reserve(keys=[self._legs(trunk), self._meta(trunk)], args=[f"{now:.3f}", *legs])
        return bool(ok)

    async def start_call(self, trunk: str, legs: list[str], agent_id: int, call_id: str,
                         claim_seconds: int, now: float, *, claim_when_full: bool) -> tuple[str, str | None]:
        """One round trip for a new call: ("reserved", None), ("full", None) or
        ("agent_busy", the agent's current call id)."""
        status, current = await self._start_call(
            keys=[self._legs(trunk), self._meta(trunk), self._agent(agent_id)],
            args=[f"{now:.3f}", call_id, claim_seconds, "1" if claim_when_full else "0", *legs])
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
