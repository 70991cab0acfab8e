"""Login rate limiting and temporary lockout, in Redis (shared by every
serve process).

Failed logins are counted per user name and per client address over a window
of ``settings.web.lockout_minutes``. At ``login_max_failures`` failures for a
name, that name is locked for ``lockout_minutes`` (even the right password is
refused meanwhile). An address is locked at ``ADDRESS_FACTOR`` (20) times as many
failures: a whole store or call-center floor often reaches the server from one
address, so one person's typos must not lock out the others, while one
address guessing across many names is still stopped."""
from __future__ import annotations

import hashlib
import math

ADDRESS_FACTOR = 20


class LoginThrottle:
    def __init__(self, redis, settings) -> None:
        self.redis = redis
        self.prefix = f"{settings.redis.key_prefix}web:login:"
        self.max_failures = max(1, settings.web.login_max_failures)
        self.window = max(1, int(settings.web.lockout_minutes * 60))

    def _subjects(self, name: str, address: str | None) -> list[tuple[str, str, int]]:
        """(kind, key part, failures allowed) for the user name and the address."""
        digest = hashlib.sha256(name.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
        subjects = [("user", f"user:{digest}", self.max_failures)]
        if address:
            subjects.append(("address", f"addr:{address[:64]}", self.max_failures * ADDRESS_FACTOR))
        return subjects

    async def locked_for(self, name: str, address: str | None) -> int:
        """Seconds until this name and address may try again; 0 when not locked."""
        pipe = self.redis.pipeline(transaction=False)
        for _kind, part, _limit in self._subjects(name, address):
            pipe.pttl(f"{self.prefix}lock:{part}")
        remaining = [ms for ms in await pipe.execute() if ms and ms > 0]
        return math.ceil(max(remaining) / 1000) if remaining else 0

    async def failed(self, name: str, address: str | None) -> list[str]:
        """Count one failure; the kinds ('user', 'address') locked by this one."""
        locked = []
        for kind, part, limit in self._subjects(name, address):
            count_key = f"{self.prefix}fail:{part}"
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(count_key)
            pipe.expire(count_key, self.window, nx=True)
            count, _ = await pipe.execute()
            if count >= limit:
                if await self.redis.set(f"{self.prefix}lock:{part}", "1", ex=self.window, nx=True):
                    locked.append(kind)
                await self.redis.delete(count_key)
        return locked

    async def succeeded(self, name: str) -> None:
        """A good login clears the name's failures (not the address's)."""
        _kind, part, _limit = self._subjects(name, None)[0]
        await self.redis.delete(f"{self.prefix}fail:{part}")
