"""Trunks on the board, live. Per trunk: channels in use of the max, ours
(reserved by our calls) and foreign (inbound and others), reserved, what is
left for inbound, calls per second now, reservations refused because the
trunk was full in the last 15 minutes, and the calls of each of the last 60
minutes (the page's sparkline).

Every :data:`TICK` seconds one serve process (a Redis ``SET NX`` per tick)
publishes ``{"type": "board_trunks", "trunks": [...]}`` to the supervisors'
pages; the snapshot reads the same figures from the last tick.

**The per-minute ring lives in Redis, not in memory**: with several serve
processes each sees only part of what happens (a process counts only the
reservations its own dialer refused) or all of it several times (every
process's AMI link hears each new channel). Redis merges them: a refusal is
added by the process that refused it; a call is counted once, by its linked
id (``SET NX``), whichever process heard it first. Every process's board then
shows the same figures, and they outlive a process's restart. The ring is a
hash per trunk and kind, field = minute number, trimmed to the last hour.

**The carrier's reachability** (when ``[pbx] trunk_qualify_seconds`` is set,
Asterisk sends the carrier SIP OPTIONS and reports each change as a
``ContactStatus`` event): ``reachable`` (with its round trip), ``unreachable``
(with since when) or ``checking`` until the first answer; kept in memory, as
every process's AMI link hears the same events."""
from __future__ import annotations

import logging
import time

from sqlalchemy import select

from callcenter.calls.tracked import endpoint_of
from callcenter.models import User
from callcenter.pbx.nodes import node_state

log = logging.getLogger(__name__)

TICK = 2.0
RING_MINUTES = 60
FULL_WINDOW_MINUTES = 15
PENDING_MAX = 10_000
SUPERVISORS = ("teamlead", "manager", "admin")
SUPERVISORS_EVERY = 30.0
REJECTED_METRIC = "callcenter_trunk_reservations_rejected_total"
CONTACT_STATES = {"Reachable": "reachable", "Unreachable": "unreachable"}


def trunk_view(usage: dict, rates: dict | None) -> dict:
    """One trunk on the board (``usage``: the trunks page's live usage)."""
    free = max(0, usage["max_channels"] - usage["in_use"])
    view = {**usage, "ours": usage["reserved"], "free": free, "inbound_free": min(free, usage["inbound_headroom"])}
    view.update(rates or {})
    return view


def figures(calls: dict[int, int], rejected: dict[int, int], now: float) -> dict:
    """Calls per second now, refusals in the last 15 minutes and the last hour's
    calls per minute, from the rings (minute number -> count)."""
    minute, into = divmod(now, 60)
    minute = int(minute)
    last_minute = calls.get(minute, 0) + calls.get(minute - 1, 0) * (1 - into / 60)
    return {"calls_per_second": round(last_minute / 60, 2),
            "rejected_15min": sum(rejected.get(m, 0) for m in range(minute - FULL_WINDOW_MINUTES + 1, minute + 1)),
            "last_hour": [calls.get(m, 0) for m in range(minute - RING_MINUTES + 1, minute + 1)]}


class TrunkRates:
    """The trunks' rings in Redis and the board's trunk messages (see the module's doc)."""

    def __init__(self, redis, prefix: str, accounting, tracker, registry, live, sessions,
                 clock=time.time, qualified: bool = False, nodes=None) -> None:
        self.redis, self.prefix, self.accounting, self.tracker = redis, prefix, accounting, tracker
        self.registry, self.live, self.sessions, self.clock = registry, live, sessions, clock
        self.rates: dict[str, dict] = {}       # trunk -> figures of the last tick
        self._pending: list[tuple[str, str]] = []
        self._rejected: dict[str, float] = {}  # this process's refusals counted so far, per trunk
        self._supervisors: list[int] = []
        self._supervisors_at = 0.0
        self.qualified = qualified             # carriers sent OPTIONS ([pbx] trunk_qualify_seconds)
        self.carriers: dict[str, dict] = {}    # trunk -> {state, rtt_ms, since}
        self.nodes = nodes                     # the PBX nodes (callcenter/pbx/nodes.py): a trunk's is up or down

    def _key(self, trunk: str, kind: str) -> str:
        return f"{self.prefix}board:trunk:{trunk}:{kind}"

    # -- fed by the AMI link (synchronous) ---------------------------------------------
    def on_event(self, event: dict) -> None:
        """A new channel on one of our trunks: a call to count (once, by its linked id);
        a carrier's reachability changed."""
        if event.get("Event") == "ContactStatus":
            self._contact_status(event)
            return
        if event.get("Event") != "Newchannel":
            return
        trunk = endpoint_of(event.get("Channel", ""))
        if trunk in self.tracker.trunks and len(self._pending) < PENDING_MAX:
            self._pending.append((trunk, event.get("Linkedid") or event.get("Uniqueid") or ""))

    def _contact_status(self, event: dict) -> None:
        trunk, state = event.get("AOR", ""), CONTACT_STATES.get(event.get("ContactStatus", ""))
        if trunk not in self.tracker.trunks or state is None:
            return
        rtt = str(event.get("RoundtripUsec", ""))
        before = self.carriers.get(trunk, {})
        self.carriers[trunk] = {
            "state": state, "rtt_ms": round(int(rtt) / 1000, 1) if state == "reachable" and rtt.isdigit() else None,
            "since": before["since"] if before.get("state") == state else self.clock()}

    def carrier(self, trunk: str) -> dict | None:
        """The carrier's reachability, or None when carriers are not monitored."""
        if not self.qualified:
            return None
        return self.carriers.get(trunk, {"state": "checking", "rtt_ms": None, "since": None})

    def figures(self, trunk: str) -> dict:
        return {**self.rates.get(trunk, {}), "carrier": self.carrier(trunk), **node_state(self.nodes, self.tracker, trunk)}

    # -- the loop -------------------------------------------------------------------------
    async def tick(self) -> None:
        now = self.clock()
        minute = int(now // 60)
        await self._count_calls(minute)
        await self._count_refusals(minute)
        self.rates = {name: await self._read(name, now) for name in sorted(self.tracker.trunks)}
        if await self.redis.set(f"{self.prefix}board:trunks:tick:{int(now // TICK)}", "1", nx=True, ex=30):
            await self.publish()

    async def _count_calls(self, minute: int) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        pipe = self.redis.pipeline()
        for trunk, linkedid in pending:
            pipe.set(f"{self.prefix}board:seen:{trunk}:{linkedid}", "1", nx=True, ex=3600)
        firsts = await pipe.execute()
        pipe = self.redis.pipeline()
        for (trunk, _linkedid), first in zip(pending, firsts):
            if first:
                pipe.hincrby(self._key(trunk, "calls"), minute, 1)
                pipe.expire(self._key(trunk, "calls"), (RING_MINUTES + 5) * 60)
        await pipe.execute()

    async def _count_refusals(self, minute: int) -> None:
        for trunk in self.tracker.trunks:
            total = self.registry.get_sample_value(REJECTED_METRIC, {"trunk": trunk}) or 0.0
            new = total - self._rejected.get(trunk, 0.0)
            self._rejected[trunk] = total
            if new > 0:
                await self.redis.hincrby(self._key(trunk, "rejected"), minute, int(new))
                await self.redis.expire(self._key(trunk, "rejected"), (RING_MINUTES + 5) * 60)

    async def _read(self, trunk: str, now: float) -> dict:
        pipe = self.redis.pipeline()
        pipe.hgetall(self._key(trunk, "calls"))
        pipe.hgetall(self._key(trunk, "rejected"))
        raw_calls, raw_rejected = await pipe.execute()
        calls = {int(k): int(v) for k, v in raw_calls.items()}
        rejected = {int(k): int(v) for k, v in raw_rejected.items()}
        oldest = int(now // 60) - RING_MINUTES
        for kind, ring in (("calls", calls), ("rejected", rejected)):
            stale = [m for m in ring if m <= oldest]
            if stale:
                await self.redis.hdel(self._key(trunk, kind), *stale)
        return figures(calls, rejected, now)

    async def usage(self) -> list[dict]:
        """Each trunk the PBX has loaded, as the trunks page counts it, with its rates."""
        in_use = self.tracker.trunk_channels()
        out = []
        for name in sorted(self.tracker.trunks):
            f = await self.accounting.usage(name)
            out.append(trunk_view({"name": name, "max_channels": f["max_channels"], "inbound_headroom": f["headroom"],
                                   "in_use": in_use.get(name, 0), "reserved": f["reserved"], "foreign": f["foreign"],
                                   "queued": f["queued"]}, self.figures(name)))
        return out

    async def publish(self) -> None:
        if time.monotonic() - self._supervisors_at > SUPERVISORS_EVERY:
            async with self.sessions() as session:
                self._supervisors = list(await session.scalars(
                    select(User.id).where(User.role.in_(SUPERVISORS), User.active.is_(True))))
            self._supervisors_at = time.monotonic()
        if self._supervisors:
            await self.live.publish({"type": "board_trunks", "trunks": await self.usage()},
                                    user_ids=self._supervisors)
