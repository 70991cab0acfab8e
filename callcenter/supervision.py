"""Managed processes kept running: a managed redis-server or Asterisk that
dies is started again, with back-off while it keeps failing to start.

When Asterisk dies every call it carried is over: ``on_pbx_lost`` ends them
at once (reason ``pbx_restarted``, channels released), before Asterisk is
back; the AMI link reconnects by itself and reconciles. A redis-server keeps
its append-only file, so it comes back with its data; when it comes back
empty all the same, the call accounting is rebuilt (callcenter/services.py)."""
from __future__ import annotations

import logging
import time
from typing import Callable

log = logging.getLogger(__name__)
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0


class ManagedProcess:
    """One child process (RedisProcess, AsteriskProcess) and its restarts."""

    def __init__(self, name: str, process, metrics, on_death: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.process, self.metrics = name, process, metrics
        self.on_death = on_death
        self.clock = clock
        self.restarts = 0
        self.down_since: float | None = None
        self._next_try = 0.0
        self._backoff = FIRST_BACKOFF

    @property
    def up(self) -> bool:
        return self.process.running

    async def check(self) -> None:
        """One look: start the process again if it died (raises what start raised)."""
        if self.process.running:
            if self.down_since is not None:
                self.down_since = None
                self._backoff = FIRST_BACKOFF
            return
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
            self._next_try = now
            log.error("%s has died (exit status %s); starting it again", self.name, self.process.exit_status)
            if self.on_death is not None:
                self.on_death()
        if now < self._next_try:
            return
        self._next_try = now + self._backoff
        self._backoff = min(MAX_BACKOFF, self._backoff * 2)
        await self.process.start()
        self.restarts += 1
        self.metrics.process_restarts.labels(self.name).inc()
        log.warning("%s is running again after %.1f s (restart %d)", self.name, self.clock() - self.down_since,
                    self.restarts)


class Supervisor:
    def __init__(self) -> None:
        self.processes: list[ManagedProcess] = []

    def watch(self, process: ManagedProcess) -> None:
        self.processes.append(process)

    async def check(self) -> None:
        errors = []
        for managed in self.processes:
            try:
                await managed.check()
            except Exception as error:  # noqa: BLE001 - the others are still checked
                errors.append(error)
        if errors:
            raise errors[0]

    def health(self) -> dict[str, dict]:
        return {m.name: {"up": m.up, "restarts": m.restarts} for m in self.processes}
