"""What follows from the tracker's reports: call rows written, trunk channels
released, the agent freed, the recording registered, metrics counted.

The tracker is synchronous and pure; this reporter turns each report into a
small job run in order by one worker task, so the event loop never waits on
Redis or the database while parsing AMI.

Nothing is lost to a transient fault. A batch whose write fails goes back into
the queue and is retried with back-off; an ended call stays in the tracker
(and in the dialer's placed calls) until its row is written. The channels and
the agent of an ended call are released at once, independently of the row;
a release Redis refuses is owed and retried until Redis answers. Rows still
unwritten at stop (or too many to keep in memory) go to
``<state_dir>/unwritten-calls.jsonl`` (dialer/unwritten.py) and are written
first when the database answers. A call is said to be ended once its row
is (dialer/ended_rows.py: requests and the live bus wait for the row).

With several ``serve`` processes on one Asterisk, only the owner of its call
work (``owner``: callcenter/ownership/duties.py) writes call rows, each write
carrying its lease's fencing token (a stale owner's is refused by the
database); the others stand by (dialer/standby.py). Releases in Redis are
idempotent and done by every process that sees the end.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Callable

from callcenter.calls.tracker import TrackedCall
from dialer import call_rows
from dialer.call_releases import CallReleases
from callcenter.loops import stop_tasks
from callcenter.ownership.fencing import StaleOwner
from dialer.ended_rows import EndedRows
from dialer.service import ClickToCall
from dialer.standby import Standby
from dialer.unwritten import UnwrittenCalls

log = logging.getLogger(__name__)
RECORDING_SETTLE_SECONDS = 1.0
# After a wake-up the writer waits this long so that one transaction carries the
# reports of many calls (rows reach the database that much later; the tracker,
# which GET reads the live state from, is not delayed).
WRITE_BATCH_SECONDS = 0.05
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 10.0
# Calls waiting for their row kept in memory; past that, while the database is
# away, ended calls' rows go to the unwritten-calls file.
MAX_PENDING = 20_000
CLOSE_WRITE_SECONDS = 3.0

class CallEffects:
    """The tracker's :class:`~callcenter.calls.tracker.Reporter`."""

    def __init__(self, dialer: ClickToCall, sessions, accounting, metrics, settings,
                 failed: Callable[[str, BaseException], None] | None = None) -> None:
        self.dialer = dialer
        self.sessions = sessions
        self.accounting = accounting
        self.metrics = metrics
        self.settings = settings
        self.failed = failed or (lambda name, error: log.warning("%s: %s", name, error))
        self._pending: dict[str, TrackedCall] = {}
        self._recordings: list[dict] = []   # recording rows to insert with the next batch
        self.releases = CallReleases(dialer, sessions, accounting, self.failed,
                                     owns_pbx=lambda: self.owner is None or self.owner.owns_any())
        self._failing = False
        self.unwritten = UnwrittenCalls(settings.state_dir)
        self._jobs: asyncio.Queue = asyncio.Queue()
        self._wake = asyncio.Event()
        self.ended = EndedRows(lambda: self.dialer.tracker.calls)  # who waits for ended calls' rows
        self._tasks: list[asyncio.Task] = []
        self.idle = asyncio.Event()
        # the engine itself: the writer runs Core statements, no ORM session needed
        self._engine = sessions.kw["bind"]
        self.owner = None  # the PBX lease (.fence(): a Fence while held, else None); None: always write
        self.standby = Standby()
        if self.unwritten:
            self._wake.set()  # rows left by an earlier run: written first

    # -- Reporter ------------------------------------------------------------
    def call_changed(self, call: TrackedCall) -> None:
        self._pending[call.call_id] = call
        self._wake.set()
        self.idle.clear()

    def leg_released(self, call: TrackedCall, role: str) -> None:
        self._jobs.put_nowait(("release", call.call_id, role))
        self.idle.clear()

    def foreign_channels(self, trunk: str, count: int) -> None:
        self._jobs.put_nowait(("foreign", trunk, count))
        self.idle.clear()

    # -- what is still owed --------------------------------------------------------
    @property
    def backlog(self) -> dict[str, int]:
        """Work not done yet (for /healthz and the tests)."""
        return {"rows": len(self._pending) + len(self._recordings), "releases": len(self.releases.owed),
                "spilled": int(bool(self.unwritten))}

    def released_legs(self, call_id: str) -> set[str]:
        """Roles of a live call's legs whose channel was released already."""
        return self.releases.released_legs(call_id)

    def _settle_idle(self) -> None:
        if (self._jobs.empty() and not self._pending and not self._recordings
                and not self.releases.owing and not self._failing):
            self.idle.set()

    # -- workers -------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run_jobs()), asyncio.create_task(self._run_writes())]

    def loops(self):
        """(name, coroutine function) of each worker, for callcenter/loops.py to keep alive."""
        return [("call_jobs", self._run_jobs), ("call_writer", self._run_writes)]

    async def close(self) -> None:
        await stop_tasks(self._tasks, "call writer task")
        try:  # a last try; what is still unwritten goes to the file
            await asyncio.wait_for(self._write_pending(), CLOSE_WRITE_SECONDS)
            await asyncio.wait_for(self._settle_owed(), CLOSE_WRITE_SECONDS)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - spilled below
            pass
        if self._pending or self._recordings:
            self.unwritten.add([self._row(c) for c in self._pending.values()], self._recordings)
            self._pending, self._recordings = {}, []

    async def _run_jobs(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                if job[0] == "release":
                    await self.releases.release(job[1], job[2])
                else:
                    await self.releases.foreign(job[1], job[2])
            except Exception as error:  # noqa: BLE001 - counted; what it owes is settled later
                self.failed("call_jobs", error)
                if job[0] == "foreign":
                    self._wake.set()
                # a leg whose release failed is released with the rest of its call when it ends
            self._settle_idle()

    async def _run_writes(self) -> None:
        backoff = RETRY_FIRST_SECONDS
        while True:
            owing = self._failing or self.releases.owing or self._pending
            try:
                await asyncio.wait_for(self._wake.wait(), backoff if owing else None)
            except asyncio.TimeoutError:
                pass
            try:  # gather many calls' reports, unless a request waits for a row
                await asyncio.wait_for(self.ended.hurry.wait(), WRITE_BATCH_SECONDS)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            self.ended.hurry.clear()
            written = await self._write_pending()
            settled = await self._settle_owed()
            backoff = RETRY_FIRST_SECONDS if written and settled else min(RETRY_MAX_SECONDS, backoff * 2)
            self._settle_idle()

    async def _write_pending(self) -> bool:
        """Write the queued rows; on failure put them back (newer reports win). True when written."""
        batch, self._pending = self._pending, {}
        recordings, self._recordings = self._recordings, []
        for call in batch.values():
            if call.state == "ended" and call.call_id not in self.releases.due:
                self.releases.schedule(call)  # channels and agent now, whatever the row does
        if self.owner is None:
            return await self._write_group(batch, recordings, None)
        # each node's calls under its own lease's fence; the rows of nodes another process owns wait there
        groups: dict[str, dict[str, TrackedCall]] = {self.owner.node: {}}
        for call_id, call in batch.items():
            groups.setdefault(call.node or self.owner.node, {})[call_id] = call
        written = True
        for node, group in groups.items():
            if not group and not recordings and not (node == self.owner.node and self.unwritten):
                continue
            fence = self.owner.fence(node)
            if fence is None:
                written = await self._stand_by(group, recordings) and written
            else:
                written = await self._write_group(group, recordings, fence) and written
            recordings = []
        return written

    async def _write_group(self, batch: dict[str, TrackedCall], recordings: list[dict], fence) -> bool:
        """Write one node's rows under ``fence``; on failure put them back. True when written."""
        try:
            if self.unwritten:
                rows, spilled_recordings = self.unwritten.read()
                await self._execute(rows, spilled_recordings, fence)
                self.unwritten.done()
                log.info("%d call rows kept from an earlier outage or run written", len(rows))
            rows = [self._row(call) for call in batch.values()]
            # what these rows say: a call that ends while they are written is finished by the next batch
            ended = [call for call in batch.values() if call.state == "ended"]
            await self._execute(rows, recordings, fence)
        except StaleOwner as error:  # a newer owner wrote, or Redis's token counter went back
            log.warning("call rows not written: %s", error)
            try:
                await self.owner.refused(self._engine, fence.token, fence.node)
            except Exception as trouble:  # noqa: BLE001 - the lease's loop goes on
                self.failed("call_writer", trouble)
            now = self.owner.fence(fence.node)
            if now is not None and now.token > fence.token:  # this process took the lease again since
                for call_id, call in batch.items():
                    self._pending.setdefault(call_id, call)
                self._recordings[:0] = recordings
                return False
            return await self._stand_by(batch, recordings)
        except BaseException as error:
            for call_id, call in batch.items():
                self._pending.setdefault(call_id, call)
            self._recordings[:0] = recordings
            if isinstance(error, Exception):
                self._failing = True
                self.failed("call_writer", error)
                self.metrics.call_writes_failed.inc()
                self._overflow()
                return False
            raise
        self._failing = False
        for call in ended:
            self._finish(call)
        return True

    def _overflow(self) -> None:
        """Too many rows waiting: the ended calls' rows go to the file."""
        if len(self._pending) <= MAX_PENDING:
            return
        ended = [c for c in self._pending.values() if c.state == "ended"]
        self.unwritten.add([self._row(c) for c in ended], self._recordings)
        self._recordings = []
        for call in ended:
            del self._pending[call.call_id]
            self._finish(call)

    def _row(self, call: TrackedCall) -> dict:
        return call_rows.row_of(call, self.dialer.placed.get(call.call_id))

    async def _execute(self, rows: list[dict], recordings: list[dict], fence=None) -> None:
        await call_rows.write(self._engine, rows, recordings, fence)

    # -- not the owner -----------------------------------------------------------
    async def _stand_by(self, batch: dict[str, TrackedCall], recordings: list[dict]) -> bool:
        """Another process writes the rows (dialer/standby.py). The recordings
        this process registered (it placed those calls) are written all the same."""
        try:
            if recordings:
                await call_rows.write(self._engine, [], recordings)
            done, waiting = await self.standby.sort(self._engine, batch.values())
        except Exception as error:  # noqa: BLE001 - tried again with back-off
            for call_id, call in batch.items():
                self._pending.setdefault(call_id, call)
            self._recordings[:0] = recordings
            self.failed("call_writer", error)
            return False
        for call in done:
            self._finish(call, counted=False)
        for call in waiting:  # looked at again after a back-off
            self._pending.setdefault(call.call_id, call)
        return True

    def take_over(self, node: str | None = None) -> None:
        """This process became the owner of ``node`` (None: the home node): the
        calls it tracked there, written from now on."""
        home = self.owner.node if self.owner is not None else None
        node = node or home
        taken = self.standby.take({call_id for call_id, call in self.dialer.tracker.calls.items()
                                   if (call.node or home) == node})
        for call_id, call in taken.items():
            self._pending.setdefault(call_id, call)
        self._wake.set()
        self.idle.clear()

    # -- the end of a call ---------------------------------------------------------
    async def _settle_owed(self) -> bool:
        return await self.releases.settle()

    def _finish(self, call: TrackedCall, counted: bool = True) -> None:
        """The row of an ended call is written (or kept in the file, or by the
        owner: not ``counted`` here): count it, forget it."""
        self.releases.due.discard(call.call_id)
        placed = self.dialer.placed.pop(call.call_id, None)
        mode = placed.mode if placed else "unknown"
        if not counted:
            if placed is not None and call.customer.answered_at is not None and self.settings.calls.record:
                asyncio.get_running_loop().call_later(RECORDING_SETTLE_SECONDS, self._register_recording, placed)
        elif call.customer.answered_at is not None:
            self.metrics.calls_connected.labels(mode).inc()
            if call.agent.answered_at is not None:
                self.metrics.agent_answer_to_customer_answer.observe(
                    max(0.0, call.customer.answered_at - call.agent.answered_at))
            if placed is not None and self.settings.calls.record:
                asyncio.get_running_loop().call_later(RECORDING_SETTLE_SECONDS, self._register_recording, placed)
        else:
            self.metrics.calls_failed.labels(call.end_reason or "unknown").inc()
        if counted and placed is not None and placed.originated_at and call.agent.answered_at:
            self.metrics.originate_to_agent_answer.observe(max(0.0, call.agent.answered_at - placed.originated_at))
        self.dialer.tracker.forget(call.call_id)
        self.ended.stored(call)

    def _register_recording(self, placed) -> None:
        """Queue the call's recording row for the writer's next batch."""
        inner = self.dialer.recording_inner_path(placed)
        path: Path = self.settings.pbx.host_path(inner)
        try:
            size = path.stat().st_size
        except OSError:
            log.warning("call %s connected but has no recording at %s", placed.call_id, path)
            return
        relative = str(path.relative_to(self.settings.pbx.recordings_dir))
        self._recordings.append({"call_id": placed.call_id, "path": relative, "size_bytes": size})
        self._wake.set()
        self.idle.clear()
