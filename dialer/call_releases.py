"""What ended calls owe Redis: their trunk channels and their agent.

:class:`~dialer.effects.CallEffects` reports; this keeps the accounts. A leg
whose channel a release job freed while the call was still up is remembered,
so the end does not free it twice; the end of a call schedules the release of
the rest (and the agent) at once, whatever becomes of its row; a release
Redis refuses is owed and tried again by the writer's loop until Redis
answers. Releases are idempotent; with several ``serve`` processes on one
Asterisk, a process releases the calls it placed, and the owner of the PBX's
call work (``owner``, callcenter/ownership) also those placed by the others,
so a call is not released once per process (each would look its trunk up
in the database). What a dead placer never released, the owner's
reconciliation frees (callcenter/trunks/rebuild.py ``free_leaked``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from callcenter.calls.tracker import AGENT, CUSTOMER, TrackedCall
from callcenter.models import Call, Trunk


@dataclass
class OwedRelease:
    """An ended call's channels and agent, to be released in Redis."""
    trunk: str | None          # None: the call was not placed here; looked up in its row
    legs: list[str]
    agent_id: int | None


class CallReleases:
    def __init__(self, dialer, sessions, accounting, failed: Callable[[str, BaseException], None],
                 owns_pbx: Callable[[], bool] = lambda: True) -> None:
        self.dialer, self.sessions, self.accounting, self.failed = dialer, sessions, accounting, failed
        self.owns_pbx = owns_pbx  # False: another process releases the calls this one did not place
        self._found: dict[str, tuple[str, int]] = {}  # calls placed elsewhere: (trunk, agent id), from their row
        # legs of calls still placed that a release job already freed (so the end skips them)
        self._released: dict[str, set[str]] = {}
        self.owed: dict[str, OwedRelease] = {}       # ended calls whose release Redis has not taken yet
        self.due: set[str] = set()                   # ended calls whose release was scheduled
        self.foreign_owed: dict[str, int] = {}       # foreign channel counts Redis has not taken yet

    def released_legs(self, call_id: str) -> set[str]:
        """Roles of a live call's legs whose channel was released already."""
        return set(self._released.get(call_id, ()))

    @property
    def owing(self) -> bool:
        return bool(self.owed or self.foreign_owed)

    async def trunk_of(self, call_id: str) -> tuple[str, int] | None:
        placed = self.dialer.placed.get(call_id)
        if placed is not None:
            return placed.trunk, placed.agent_id
        if call_id in self._found:
            return self._found[call_id]
        async with self.sessions() as session:
            row = (await session.execute(select(Trunk.name, Call.agent_id).join(
                Trunk, Call.trunk_id == Trunk.id).where(Call.id == call_id))).first()
        if row is None:
            return None
        self._found[call_id] = tuple(row)
        return self._found[call_id]

    async def release(self, call_id: str, role: str) -> None:
        """One leg of a call still up gave its channel back."""
        placed = self.dialer.placed.get(call_id)
        if placed is not None:
            if f"{call_id}:{role}" not in self.dialer._legs(placed):
                return  # this leg never held a trunk channel (a desktop agent's phone)
        elif not self.owns_pbx():
            return  # placed by another process: it, or the PBX's owner, releases it
        if call_id in self.due:
            return  # the call has ended: its end releases this leg with the others
        found = await self.trunk_of(call_id)
        if found is None:
            return
        if await self.accounting.release(found[0], f"{call_id}:{role}"):
            self.dialer.channel_freed.set()
        if call_id in self.dialer.placed:  # done: the end need not free this leg again
            self._released.setdefault(call_id, set()).add(role)

    async def foreign(self, trunk: str, count: int) -> None:
        """Channels on the trunk that no call of ours holds; owed when Redis refuses."""
        try:
            await self.accounting.set_foreign(trunk, count)
            self.foreign_owed.pop(trunk, None)
        except Exception:
            self.foreign_owed[trunk] = count
            raise

    def schedule(self, call: TrackedCall) -> None:
        """The legs still held and the agent, owed to Redis from now on."""
        self.due.add(call.call_id)
        placed = self.dialer.placed.get(call.call_id)
        released = self._released.pop(call.call_id, set())
        if placed is not None:
            legs = [leg for leg in self.dialer._legs(placed) if leg.rsplit(":", 1)[1] not in released]
            self.owed[call.call_id] = OwedRelease(placed.trunk, legs, placed.agent_id)
        elif self.owns_pbx():
            legs = [f"{call.call_id}:{r}" for r in (AGENT, CUSTOMER) if r not in released]
            self.owed[call.call_id] = OwedRelease(None, legs, None)
        else:
            self._found.pop(call.call_id, None)

    async def settle(self) -> bool:
        """Release what ended calls owe Redis; True when nothing is owed any more."""
        for call_id, owed in list(self.owed.items()):
            try:
                if owed.trunk is None:
                    found = await self.trunk_of(call_id)
                    if found is None:
                        del self.owed[call_id]
                        continue
                    owed.trunk, owed.agent_id = found
                if await self.accounting.end_call(owed.trunk, owed.legs, owed.agent_id, call_id):
                    self.dialer.channel_freed.set()
                del self.owed[call_id]
                self._found.pop(call_id, None)
            except Exception as error:  # noqa: BLE001 - Redis or the database away: later
                self.failed("call_releases", error)
                return False
        for trunk, count in list(self.foreign_owed.items()):
            try:
                await self.accounting.set_foreign(trunk, count)
            except Exception as error:  # noqa: BLE001
                self.failed("call_releases", error)
                return False
            if self.foreign_owed.get(trunk) == count:
                del self.foreign_owed[trunk]
        return True
