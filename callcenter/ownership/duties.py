"""Which ``serve`` process does what, when several share one Redis and one
database (issue 13). Each process holds (or waits for) two leases
(lease.py), taken at start before any loop runs, so a single server does
everything as before:

``duties``: the loops the system must run once (``loops.every(..., once=True)``):
  - ``notifications.timed``: reminders and follow-up notices (each made once by
    a unique mark, but every server would scan for them);
  - ``complaints``: SLA escalation (a conditional UPDATE; one scanner is enough);
  - ``webhooks``: the deliveries' in-flight limits (per endpoint, in all) are
    counted in the process, so two deliverers would double them;
  - ``report_schedules`` and ``hrsource``: daily jobs (claimed per day by a row,
    callcenter/schedule.py; one server scans);
  - ``audit.retention`` and ``erasure.owed_deletions``: sweeps of rows and files;
  - ``work``: follow-ups swept, and reminders pushed to panels, which this
    process remembers having pushed (two would push each twice).
``pbx:<node>`` (``[pbx] node``, and one per peer node of ``[pbx] peers``,
  callcenter/pbx/nodes.py): the call work of that Asterisk. With several
  nodes a node's lease is held only while this process's link to it is up. Every process
  tracks its AMI events (each answers for the calls and feeds its own pages'
  sockets), but only the owner writes call rows (dialer/effects.py, its
  writes fenced by the lease's token in the database: fencing.py), frees
  leaked reservations and claims (``Services.reconcile``), enforces the call
  fence (hang-ups: ``call_fence``) and publishes call steps to the live bus
  (callcenter/calls/live.py). On taking over it reconciles at once from
  CoreShowChannels and writes the calls it tracked.

Per process, on purpose: the notification dispatcher (rows claimed one by
one, callcenter/leases.py; more senders, more throughput), ``token_uses``
(this process's cache), ``probes``, ``watch``, ``statistics``, ``directory``,
``queues`` and ``webphone`` (this process's sockets and caches),
``board-trunks`` (counts de-duplicated in Redis, publishes once per tick by a
Redis NX key), ``pbx_sync`` (the same rendered files), the tracker's
``reconcile`` (its own view of Asterisk; the frees inside are the owner's),
``monitor`` (its sessions live in the process that started them, marked in
Redis so another's check leaves their legs alone), and the
releases of an ended call's channels in Redis (idempotent)."""
from __future__ import annotations

import logging

from callcenter.ownership import fencing
from callcenter.ownership.fencing import Fence
from callcenter.ownership.lease import DEFAULT_TTL, Lease, holder_id
from monitoring.metrics import gauge

log = logging.getLogger(__name__)
DUTIES = "duties"
PBX = "pbx"  # the name loops use (``once="pbx"``); the lease itself is pbx:<node>


class Ownership:
    """This process's leases: ``duties`` and ``pbx:<node>``."""

    def __init__(self, redis, key_prefix: str, node: str = "main", ttl: float = DEFAULT_TTL,
                 holder: str | None = None, peers=()) -> None:
        self.holder = holder or holder_id()
        self.node = node
        ttl = max(0.5, float(ttl))
        self.duties = Lease(redis, key_prefix, DUTIES, self.holder, ttl)
        self.pbx = Lease(redis, key_prefix, f"{PBX}:{node}", self.holder, ttl)
        # Every node's call work has its lease (pbx:<node>); any server linked to it may hold it.
        self.nodes: dict[str, Lease] = {node: self.pbx, **{
            peer: Lease(redis, key_prefix, f"{PBX}:{peer}", self.holder, ttl) for peer in peers}}
        self._refused: dict[str, int] = {}  # the largest token of a refused write, by node

    @property
    def leases(self) -> dict[str, Lease]:
        """By the names loops use (``once=True`` is ``duties``, ``once="pbx"`` the
        home node's; the other nodes' by their own names, ``pbx:<node>``)."""
        return {DUTIES: self.duties, PBX: self.pbx,
                **{lease.name: lease for node, lease in self.nodes.items() if node != self.node}}

    def holds(self, node: str | None = None) -> bool:
        lease = self.nodes.get(node or self.node)
        return lease is not None and lease.held

    async def refused(self, engine, token: int, node: str | None = None) -> None:
        """A write fenced with ``token`` was refused. While this process holds
        the node's lease by Redis's word with a token no larger than the one the
        database recorded, Redis's token counter went back (it lost its data):
        the lease is taken again above the database's. (A refused token older
        than the lease's own is only a write that outlived a new acquisition.)"""
        node = node or self.node
        lease = self.nodes[node]
        self._refused[node] = max(self._refused.get(node, 0), token)  # a lapsed lease writes no more under it
        if not lease.held or lease.token > token:
            return
        newest = await fencing.newest_token(engine, node)
        if newest is not None and newest >= lease.token:
            log.warning("PBX %s: the database recorded token %d, this lease has %s: Redis lost its counter? "
                        "taking the lease again above it", node, newest, lease.token)
            await lease.renumber(newest)

    def fence(self, node: str | None = None) -> Fence | None:
        """What this process's call-row writes for ``node`` (None: the home
        node) carry while it owns that node; None otherwise.

        While Redis does not answer (the lease ``lapsed``: no other holder seen),
        the last owner goes on writing under its last token, so a Redis outage
        loses no call record: nobody takes the lease without Redis, and whoever
        takes it afterwards stamps the database with its larger token at once
        (:meth:`stamp`), after which these writes are refused."""
        node = node or self.node
        lease = self.nodes.get(node)
        if lease is None:
            return None
        if lease.held or (lease.lapsed and lease.token > self._refused.get(node, 0)):
            return Fence(node, lease.token, self.holder)
        return None

    def owns_any(self) -> bool:
        return any(self.fence(node) is not None for node in self.nodes)

    async def stamp(self, engine, node: str | None = None) -> None:
        """On taking a node over: the database learns the new token at once, so
        the previous owner's writes are refused from now on, whatever it believes."""
        fence = self.fence(node)
        if fence is None:
            return
        try:
            async with engine.begin() as connection:
                await fencing.claim(connection, fence)
        except fencing.StaleOwner:
            await self.refused(engine, fence.token, fence.node)

    async def start(self, loops) -> None:
        """Take what is free now (a single server takes both at once), then keep
        trying and renewing in loops of their own."""
        for name, lease in self.leases.items():
            try:
                if lease.eligible is None or lease.eligible():
                    await lease.attempt()
            except Exception as error:  # noqa: BLE001 - Redis away: its loop tries again
                log.warning("lease %s: not taken at start: %s", lease.name, error)
            loops.leases[name] = lease
            loops.start(f"lease:{lease.name}", lease.run)

    async def release(self) -> None:
        """A clean stop: the leases go at once, so another process takes them without waiting."""
        for lease in {id(lease): lease for lease in self.leases.values()}.values():
            await lease.release()

    def health(self) -> dict[str, dict]:
        return {lease.name: {"held": lease.held, "token": lease.token} for lease in self.leases.values()}

    def distinct(self) -> list[Lease]:
        return list({id(lease): lease for lease in self.leases.values()}.values())

    def gauges(self) -> list:
        held = gauge("callcenter_lease_held", "1 while this server holds the lease", ["lease"])
        token = gauge("callcenter_lease_token", "The fencing token of this server's last acquisition",
                      ["lease"])
        for lease in self.distinct():
            held.add_metric([lease.name], 1 if lease.held else 0)
            token.add_metric([lease.name], lease.token or 0)
        return [held, token]
