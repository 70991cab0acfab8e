"""What follows from the tracker's reports: call rows written, trunk channels
released, the agent freed, the recording registered, metrics counted.

The tracker is synchronous and pure; this reporter turns each report into a
small job run in order by one worker task, so the event loop never waits on
Redis or the database while parsing AMI.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import bindparam, func, insert, select, update

from callcenter.calls.tracker import AGENT, CUSTOMER, TrackedCall
from callcenter.models import Call, Recording, Trunk
from dialer.service import ClickToCall, to_datetime

log = logging.getLogger(__name__)
RECORDING_SETTLE_SECONDS = 1.0
# After a wake-up the writer waits this long so that one transaction carries the
# reports of many calls (rows reach the database that much later; the tracker,
# which GET reads the live state from, is not delayed).
WRITE_BATCH_SECONDS = 0.05

_CALLS = Call.__table__
# Columns a tracker report may fill in: a None keeps what the row holds
# (coalesce), so a later report never erases an earlier one. end_reason is set
# as is. One fixed statement, compiled once, run as executemany per batch.
_KEPT = ("agent_channel", "customer_channel", "originated_at", "agent_answered_at",
         "customer_answered_at", "ended_at", "ring_seconds", "talk_seconds", "hangup_by",
         "hangup_cause", "hangup_cause_txt")
_UPDATE_CALL = update(_CALLS).where(_CALLS.c.id == bindparam("b_id")).values(
    state=bindparam("b_state", type_=_CALLS.c.state.type),
    end_reason=bindparam("b_end_reason", type_=_CALLS.c.end_reason.type),
    **{name: func.coalesce(bindparam(f"b_{name}", type_=_CALLS.c[name].type), _CALLS.c[name])
       for name in _KEPT})
_INSERT_RECORDING = insert(Recording.__table__)
_RECORDINGS = Recording.__table__
_LINK_RECORDING = update(_CALLS).where(_CALLS.c.id == bindparam("b_id")).values(
    recording_id=select(_RECORDINGS.c.id).where(_RECORDINGS.c.call_id == bindparam("b_id"))
    .scalar_subquery())


class CallEffects:
    """The tracker's :class:`~callcenter.calls.tracker.Reporter`."""

    def __init__(self, dialer: ClickToCall, sessions, accounting, metrics, settings) -> None:
        self.dialer = dialer
        self.sessions = sessions
        self.accounting = accounting
        self.metrics = metrics
        self.settings = settings
        self._pending: dict[str, TrackedCall] = {}
        self._recordings: list[dict] = []   # recording rows to insert with the next batch
        # legs of calls still placed that a release job already freed (so _ended skips them)
        self._released: dict[str, set[str]] = {}
        self._jobs: asyncio.Queue = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.idle = asyncio.Event()
        # the engine itself: the writer runs Core statements, no ORM session needed
        self._engine = sessions.kw["bind"]

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

    # -- workers -------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run_jobs()), asyncio.create_task(self._run_writes())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run_jobs(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                if job[0] == "release":
                    await self._release(job[1], job[2])
                else:
                    await self.accounting.set_foreign(job[1], job[2])
            except Exception:
                log.exception("call job %r failed", job)
            if self._jobs.empty() and not self._pending:
                self.idle.set()

    async def _trunk_of(self, call_id: str) -> tuple[str, int] | None:
        placed = self.dialer.placed.get(call_id)
        if placed is not None:
            return placed.trunk, placed.agent_id
        async with self.sessions() as session:
            row = (await session.execute(select(Trunk.name, Call.agent_id).join(
                Trunk, Call.trunk_id == Trunk.id).where(Call.id == call_id))).first()
        return tuple(row) if row else None

    async def _release(self, call_id: str, role: str) -> None:
        placed = self.dialer.placed.get(call_id)
        if placed is not None:
            if f"{call_id}:{role}" not in self.dialer._legs(placed):
                return  # this leg never held a trunk channel (a desktop agent's phone)
        found = await self._trunk_of(call_id)
        if found is None:
            return
        if await self.accounting.release(found[0], f"{call_id}:{role}"):
            self.dialer.channel_freed.set()
        if call_id in self.dialer.placed:  # done: _ended need not free this leg again
            self._released.setdefault(call_id, set()).add(role)

    async def _run_writes(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(WRITE_BATCH_SECONDS)
            self._wake.clear()
            batch, self._pending = self._pending, {}
            recordings, self._recordings = self._recordings, []
            try:
                await self._write(batch.values(), recordings)
            except Exception:
                log.exception("writing %d call rows (%d recordings) failed", len(batch), len(recordings))
            for call in batch.values():
                if call.state == "ended":
                    await self._ended(call)
            if self._jobs.empty() and not self._pending and not self._recordings:
                self.idle.set()

    async def _write(self, calls, recordings=()) -> None:
        rows = []
        for call in calls:
            ended = call.state == "ended"
            cause, cause_txt = call.hangup_cause if ended else (None, None)
            placed = self.dialer.placed.get(call.call_id)
            rows.append({
                "b_id": call.call_id, "b_state": call.state, "b_end_reason": call.end_reason,
                "b_agent_channel": call.agent.channel, "b_customer_channel": call.customer.channel,
                "b_originated_at": to_datetime(placed.originated_at) if placed is not None else None,
                "b_agent_answered_at": to_datetime(call.agent.answered_at),
                "b_customer_answered_at": to_datetime(call.customer.answered_at),
                "b_ended_at": to_datetime(call.ended_at),
                "b_ring_seconds": call.ring_seconds, "b_talk_seconds": call.talk_seconds,
                "b_hangup_by": call.hangup_by, "b_hangup_cause": cause, "b_hangup_cause_txt": cause_txt,
            })
        if not rows and not recordings:
            return
        async with self._engine.begin() as connection:
            if rows:
                await connection.execute(_UPDATE_CALL, rows)
            if recordings:
                await connection.execute(_INSERT_RECORDING, recordings)
                await connection.execute(_LINK_RECORDING, [{"b_id": r["call_id"]} for r in recordings])

    async def _ended(self, call: TrackedCall) -> None:
        placed = self.dialer.placed.pop(call.call_id, None)
        found = (placed.trunk, placed.agent_id) if placed else await self._trunk_of(call.call_id)
        released = self._released.pop(call.call_id, set())
        if found is not None:
            held = self.dialer._legs(placed) if placed else [f"{call.call_id}:{r}" for r in (AGENT, CUSTOMER)]
            held = [leg for leg in held if leg.rsplit(":", 1)[1] not in released]  # not freed by a release job yet
            if await self.accounting.end_call(found[0], held, found[1], call.call_id):
                self.dialer.channel_freed.set()
        mode = placed.mode if placed else "unknown"
        if call.customer.answered_at is not None:
            self.metrics.calls_connected.labels(mode).inc()
            if call.agent.answered_at is not None:
                self.metrics.agent_answer_to_customer_answer.observe(
                    max(0.0, call.customer.answered_at - call.agent.answered_at))
            if placed is not None and self.settings.calls.record:
                asyncio.get_running_loop().call_later(RECORDING_SETTLE_SECONDS, self._register_recording, placed)
        else:
            self.metrics.calls_failed.labels(call.end_reason or "unknown").inc()
        if placed is not None and placed.originated_at and call.agent.answered_at:
            self.metrics.originate_to_agent_answer.observe(max(0.0, call.agent.answered_at - placed.originated_at))
        self.dialer.tracker.forget(call.call_id)

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
