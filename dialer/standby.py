"""The call writer of a process that does not own the PBX's call work
(callcenter/ownership): another process writes the call rows, this one keeps
what it would need to take over.

- A call still up waits here (its newest report), so that, should this
  process take the PBX lease, its row is written from what this process has
  tracked (:meth:`Standby.take`).
- An ended call is done here once the owner's row says ended
  (:func:`rows_ended`); it is kept until then, up to ``HANDOVER_SECONDS``, so
  that a call ending while the owner is being replaced is written by the new
  one. Past that, the owner had every chance to write it: it is let go."""
from __future__ import annotations

import time

from sqlalchemy import select

from callcenter.calls.tracker import TrackedCall
from callcenter.models import Call

HANDOVER_SECONDS = 30.0  # several lease lifetimes (5 s by default)
_CALLS = Call.__table__


async def rows_ended(engine, call_ids: list[str]) -> set[str]:
    """Which of these calls' rows the owner has written as ended."""
    if not call_ids:
        return set()
    async with engine.connect() as connection:
        rows = await connection.execute(select(_CALLS.c.id).where(_CALLS.c.id.in_(call_ids),
                                                                 _CALLS.c.state == "ended"))
        return {row.id for row in rows}


class Standby:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.up: dict[str, TrackedCall] = {}   # calls still up: their newest report
        self.ended_at: dict[str, float] = {}   # ended calls waiting for the owner's row: since when

    async def sort(self, engine, calls) -> tuple[list[TrackedCall], list[TrackedCall]]:
        """The writer's batch: calls still up are kept here; the ended ones come
        back as (done: the owner's row says ended, or it waited long enough;
        waiting: to be looked at again)."""
        calls = list(calls)
        ended = await rows_ended(engine, [c.call_id for c in calls if c.state == "ended"])
        done, waiting = [], []
        for call in calls:
            if call.state != "ended":
                self.up[call.call_id] = call
                continue
            self.up.pop(call.call_id, None)
            since = self.ended_at.setdefault(call.call_id, self.clock())
            if call.call_id in ended or self.clock() - since >= HANDOVER_SECONDS:
                self.ended_at.pop(call.call_id, None)
                done.append(call)
            else:
                waiting.append(call)
        return done, waiting

    def take(self, live_ids) -> dict[str, TrackedCall]:
        """This process took over (a node): its calls still up (and still
        tracked, ``live_ids``), to be written. Other nodes' calls stay here."""
        live_ids = set(live_ids)
        taken = {call_id: call for call_id, call in self.up.items() if call_id in live_ids}
        self.up = {call_id: call for call_id, call in self.up.items() if call_id not in live_ids}
        self.ended_at = {call_id: at for call_id, at in self.ended_at.items() if call_id not in live_ids}
        return taken
