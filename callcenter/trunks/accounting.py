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
_FREE_AGENT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class TrunkAccounting:
    def __init__(self, redis: Redis, prefix: str = "cc:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._reserve = redis.register_script(_RESERVE)
        self._free_agent = redis.register_script(_FREE_AGENT)

    def _legs(self, trunk: str) -> str:
        return f"{self.prefix}trunk:{trunk}:legs"

    def _meta(self, trunk: str) -> str:
        return f"{self.prefix}trunk:{trunk}:meta"

    async def configure(self, trunk: str, max_channels: int, headroom: int) -> None:
        await self.redis.hset(self._meta(trunk), mapping={"max": max_channels, "headroom": headroom})

    async def reserve(self, trunk: str, legs: list[str], now: float) -> bool:
        ok = await self._reserve(keys=[self._legs(trunk), self._meta(trunk)], args=[f"{now:.3f}", *legs])
        return bool(ok)

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

    # -- one call per agent ----------------------------------------------------
    def _agent(self, agent_id: int) -> str:
        return f"{self.prefix}agent:{agent_id}:call"

    async def claim_agent(self, agent_id: int, call_id: str, ttl_seconds: int) -> bool:
        return bool(await self.redis.set(self._agent(agent_id), call_id, nx=True, ex=ttl_seconds))

    async def agent_call(self, agent_id: int) -> str | None:
        value = await self.redis.get(self._agent(agent_id))
        return value.decode() if value else None

    async def free_agent(self, agent_id: int, call_id: str) -> None:
        await self._free_agent(keys=[self._agent(agent_id)], args=[call_id])
