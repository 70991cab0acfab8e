"""The server's background loops, kept alive.

Every loop (the call writer, reconciliation, config sync, sweepers, the
notification dispatcher...) runs under :class:`Loops`: an exception of one
iteration is counted (``callcenter_loop_errors_total{loop,kind}``) and logged
at most once a minute per kind, and the loop goes on; a loop whose coroutine
ends or dies is started again with back-off
(``callcenter_loop_restarts_total{loop}``). ``/healthz`` reports each loop and
is unhealthy while one is down.

Several ``serve`` processes form one system (callcenter/ownership): a loop
started with ``once=True`` runs its iteration only while this process holds
the system's ``duties`` lease (``once="pbx"``: the Asterisk's call-work lease),
and skips it otherwise; which loops are once-per-system is said where they are
started and in callcenter/ownership/duties.py. Without a lease registered
under that name (``loops.leases``), the iteration always runs."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from callcenter.outages import as_outage

log = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 60.0
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
CLOSE_ROUNDS = 10
CLOSE_ROUND_SECONDS = 0.5
FIRST_CLOSE_SECONDS = 3.0  # a loop cancelled mid-write still rolls back and returns its connection


class RateLimitedLog:
    """One log line per kind of trouble per ``every`` seconds, with how many
    were left unsaid since the last one."""

    def __init__(self, logger: logging.Logger, every: float = LOG_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.every, self.clock = logger, every, clock
        self._last: dict[str, tuple[float, int]] = {}

    def _due(self, kind: str) -> int | None:
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last[0] < self.every:
            self._last[kind] = (last[0], last[1] + 1)
            return None
        self._last[kind] = (now, 0)
        return last[1] if last else 0

    def warning(self, kind: str, message: str, *args, exc_info=None) -> None:
        skipped = self._due(kind)
        if skipped is not None:
            suffix = f" ({skipped} more since the last report)" if skipped else ""
            self.logger.warning(message + suffix, *args, exc_info=exc_info)


@dataclass
class LoopState:
    name: str
    running: bool | None = None  # None: errors counted for it, but it is no loop of its own
    once: str | None = None      # the lease it runs under (callcenter/ownership), if once per system
    errors: int = 0
    restarts: int = 0
    last_error: str | None = None
    last_error_at: float | None = None


class Loops:
    def __init__(self, metrics) -> None:
        self.metrics = metrics
        self.states: dict[str, LoopState] = {}
        self.tasks: list[asyncio.Task] = []
        self.closing = False
        self._log = RateLimitedLog(log)
        self.leases: dict[str, object] = {}  # lease name -> Lease (callcenter/ownership/lease.py)

    # -- errors of one iteration ---------------------------------------------
    def failed(self, name: str, error: BaseException) -> None:
        """Count and (rate-limited) log an error a loop survived."""
        state = self.states.setdefault(name, LoopState(name))
        kind = type(error).__name__
        outage = as_outage(error)
        state.errors += 1
        state.last_error, state.last_error_at = f"{kind}: {error}"[:300], time.time()
        self.metrics.loop_errors.labels(name, outage.error_id if outage else kind).inc()
        # an outage is expected and says enough in one line; anything else gets its traceback
        self._log.warning(f"{name}:{kind}", "%s: %s: %s", name, kind, error,
                          exc_info=None if outage else error)

    # -- loops -----------------------------------------------------------------
    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task:
        """Run ``run()`` for as long as the server runs: started again with
        back-off whenever it raises or returns."""
        state = self.states.setdefault(name, LoopState(name))
        state.running = False
        task = asyncio.create_task(self._keep(state, run), name=f"loop:{name}")
        self.tasks.append(task)
        return task

    def every(self, name: str, interval: float | Callable[[], float],
              iteration: Callable[[], Awaitable[None]], *, first: bool = False,
              once: bool | str = False) -> asyncio.Task:
        """Run ``iteration()`` every ``interval`` seconds; a failed iteration is
        counted and the next one comes on time. ``once``: only while this
        process holds the lease (True: ``duties``; a name: that lease)."""
        lease_name = ("duties" if once is True else once) or None

        async def run() -> None:
            wait = not first
            while not self.closing:
                if wait:
                    await asyncio.sleep(interval() if callable(interval) else interval)
                wait = True
                if lease_name is not None and not self.holds(lease_name):
                    continue  # another process of the system does it
                try:
                    await iteration()
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - counted, logged, and the loop goes on
                    self.failed(name, error)
        task = self.start(name, run)
        self.states[name].once = lease_name
        return task

    def holds(self, lease_name: str) -> bool:
        """This process may do the duty of ``lease_name`` (True when no such lease is kept)."""
        lease = self.leases.get(lease_name)
        return lease is None or lease.held

    async def _keep(self, state: LoopState, run: Callable[[], Awaitable[None]]) -> None:
        backoff = FIRST_BACKOFF
        while not self.closing:
            state.running = True
            started = time.monotonic()
            try:
                await run()
                if self.closing:
                    return
                raise RuntimeError("the loop returned")
            except asyncio.CancelledError:
                state.running = False
                raise
            except Exception as error:  # noqa: BLE001 - the loop is started again below
                state.running = False
                self.failed(state.name, error)
            if time.monotonic() - started > 4 * MAX_BACKOFF:
                backoff = FIRST_BACKOFF  # it ran well for a while: a fresh failure starts small
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)
            state.restarts += 1
            self.metrics.loop_restarts.labels(state.name).inc()
            log.warning("loop %s started again (restart %d)", state.name, state.restarts)

    # -- health ----------------------------------------------------------------
    def health(self) -> dict[str, dict]:
        return {name: {"running": s.running, "errors": s.errors, "restarts": s.restarts,
                       "last_error": s.last_error,
                       **({"once": s.once, "active": self.holds(s.once)} if s.once else {})}
                for name, s in sorted(self.states.items())}

    def all_running(self) -> bool:
        return all(s.running is not False for s in self.states.values())

    async def close(self) -> None:
        """Stop every loop: ``closing`` ends each loop at its next turn, and
        :func:`stop_tasks` cancels them until they are gone."""
        self.closing = True
        await stop_tasks(self.tasks, "loop task")
        self.tasks.clear()


async def stop_tasks(tasks, what: str = "task") -> None:
    """Cancel ``tasks`` and wait until they are done, whatever they do with
    the cancellation. A cancellation can be swallowed by a library caught
    mid-call (redis-py, ``wait_for`` racing its inner future on Python 3.11):
    a task that is still running is cancelled again, so a close never waits
    forever (a once-in-a-thousand teardown hang). The first wait is the
    longest: a second cancellation would cut short the rollback that returns
    a database connection to its pool. Their exceptions are retrieved, not
    raised; one that never stops is logged after about 8 s."""
    pending = {task for task in tasks if task is not None}
    for round_ in range(CLOSE_ROUNDS):
        if not pending:
            break
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=FIRST_CLOSE_SECONDS if round_ == 0
                                           else CLOSE_ROUND_SECONDS)
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: a task that failed while stopping is not news
    for task in pending:
        log.error("%s %s did not stop", what, task.get_name())
