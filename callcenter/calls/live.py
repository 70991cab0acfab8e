"""Calls, live, to the pages that may see them.

:class:`LiveCallReporter` sits between the call tracker and the call effects:
every report goes on to the effects unchanged, and each step a call takes
(agent ringing → customer ringing → connected → ended) is published once
on the live bus as ``{"type": "call", "call": {...}}`` (the shape of
:func:`callcenter.calls.view.call_view`; once per step: :class:`~callcenter.calls.view.CallSteps`),
with the call's ``trunk`` and the customer's ``number`` as the least
entitled viewer (the agent) may see it (``shown_number``: the privacy setting),
so a supervisor's board needs no database read per step.
The tracker is synchronous, so steps are queued and published by one task.
The "ended" step waits for the call's row (``inner.ended``,
dialer/ended_rows.py): a page that opens the disposition form on it finds
the call ended wherever its disposition lands.

With several ``serve`` processes on one Asterisk, every one tracks the calls
but only the owner of the PBX's call work (``owner``, the PBX lease:
callcenter/ownership) publishes them: the bus is Redis pub/sub, heard by every
process's pages, so each step published by each process would reach every
page as many times as there are processes."""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from sqlalchemy import select

from callcenter.calls.tracker import TrackedCall
from callcenter.calls.view import CallSteps, owner_of_placed, owner_of_row, tracked_view
from callcenter.loops import RateLimitedLog, stop_tasks
from callcenter.models import Call, Trunk, User
from callcenter.outages import as_outage

log = logging.getLogger(__name__)
trouble_log = RateLimitedLog(log)

QUEUE_MAX = 10_000
BATCH_MAX = 500  # steps per Redis round trip
_KEPT = 20_000


class LiveCallReporter:
    """The tracker's Reporter: ``inner`` (the call effects) gets every report;
    the live bus gets each new step of a call once."""

    def __init__(self, inner, live, dialer, sessions_factory, shown_number=None) -> None:
        self.inner = inner
        self.shown_number = shown_number or (lambda _number: None)
        self.live = live
        self.dialer = dialer
        self.sessions = sessions_factory
        self._steps = CallSteps()
        self._meta: OrderedDict[str, dict] = OrderedDict()
        self._queue: asyncio.Queue = asyncio.Queue(QUEUE_MAX)
        self._task: asyncio.Task | None = None
        self._ending: dict[str, tuple[dict, bool]] = {}  # ended steps waiting for their row
        self._ended_rows = getattr(inner, "ended", None)
        # whether this process owns a node's call work (Ownership.holds); None: always publish
        self.owns = None
        if self._ended_rows is not None:
            self._ended_rows.listen(self._row_stored)

    # -- Reporter ------------------------------------------------------------
    def call_changed(self, call: TrackedCall) -> None:
        self.inner.call_changed(call)
        if not self._steps.advances(call.call_id, call.state):
            return
        placed = self.dialer.placed.get(call.call_id)
        meta = owner_of_placed(placed) if placed is not None else None
        view = tracked_view(call, meta or {})
        if placed is not None:
            view.update(trunk=placed.trunk, number=self.shown_number(f"+{placed.dial}"))
        node = call.node  # None: the home node (Ownership.holds)
        if call.state == "ended" and self._ended_rows is not None:
            self._ending[call.call_id] = (view, meta is None, node)  # published once its row is written
            return
        self._put(view, meta is None, node)

    def _row_stored(self, call: TrackedCall) -> None:
        held = self._ending.pop(call.call_id, None)
        if held is not None:
            self._put(*held)

    def _put(self, view: dict, needs_owner: bool, node: str | None = None) -> None:
        try:
            self._queue.put_nowait((view, needs_owner, node))
        except asyncio.QueueFull:
            log.warning("live calls: queue full, call %s step %s not shown live", view["id"], view["state"])

    def leg_released(self, call: TrackedCall, role: str) -> None:
        self.inner.leg_released(call, role)

    def foreign_channels(self, trunk: str, count: int) -> None:
        self.inner.foreign_channels(trunk, count)

    # -- publishing ------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        await stop_tasks([self._task], "live calls publisher")

    async def _meta_of_row(self, call_id: str) -> dict | None:
        """Owner of a call this process did not place (another process, or a restart)."""
        hit = self._meta.get(call_id)
        if hit is not None:
            return hit
        async with self.sessions() as session:
            row = (await session.execute(select(Call, User.name, Trunk.name).join(User, Call.agent_id == User.id)
                                         .join(Trunk, Call.trunk_id == Trunk.id, isouter=True)
                                         .where(Call.id == call_id))).first()
        if row is None:
            return None
        meta = {**owner_of_row(row[0], row[1]), "trunk": row[2], "number": self.shown_number(row[0].number)}
        self._meta[call_id] = meta
        while len(self._meta) > _KEPT:
            self._meta.popitem(last=False)
        return meta

    async def _run(self) -> None:
        """Publish what is queued, everything waiting at once (one Redis round
        trip): one step per round trip falls behind a busy PBX."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH_MAX and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if self.owns is not None:  # each node's owner publishes its calls' steps
                batch = [item for item in batch if self.owns(item[2])]
            steps = []
            for view, needs_owner, _node in batch:
                try:
                    if needs_owner:
                        meta = await self._meta_of_row(view["id"])
                        if meta is None:
                            continue  # not a call of ours (no row): nobody to show it to
                        view.update(meta)
                except Exception as error:  # noqa: BLE001 - never stop publishing
                    self._trouble(error, view.get("id"))
                    continue
                steps.append(({"type": "call", "call": view}, view["agent_id"]))
            try:
                if steps:
                    await self.live.publish_agents(steps)
            except Exception as error:  # noqa: BLE001 - never stop publishing
                self._trouble(error, ", ".join(str(step[0]["call"].get("id")) for step in steps[:3]))

    @staticmethod
    def _trouble(error: Exception, call_ids) -> None:
        outage = as_outage(error)  # Redis away: one line a minute; a bug: its traceback
        trouble_log.warning(outage.error_id if outage else type(error).__name__,
                            "live calls: publishing call %s failed: %s", call_ids, error,
                            exc_info=None if outage else error)


# -- the page's socket -------------------------------------------------------------
