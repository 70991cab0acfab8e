"""The queues, live: the :class:`QueueTracker` fed by the AMI link, its
reports turned into metrics, hub messages and notices for other features,
and Asterisk reconciled after each (re)connect.

Live message (``live.publish``, callcenter/live.py), at most every :data:`PUBLISH_EVERY`
seconds per queue while it changes::

    {"type": "queue", "queue": <callcenter.queues.board.queue_view>}

sent to the queue's members and the supervisors who see it (admins; managers
and team leads of its location; every supervisor for a queue of no location).

Other features (screen pop, inbound-call records, the IVR) subscribe with
:meth:`QueueLive.listen`: ``fn(kind, info)`` is called synchronously for
``agent_called`` / ``agent_connected`` / ``agent_completed`` /
``agent_ring_no_answer`` (info: queue, agent, caller_uniqueid,
caller_linkedid, caller_number, agent_channel) and ``caller_done`` (queue,
caller_uniqueid, outcome answered|abandoned|timeout|exited, wait, agent)."""
from __future__ import annotations

import asyncio
import logging
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from callcenter.ami import AmiError
from callcenter.errors import DomainError
from callcenter.models import User
from callcenter.queues.agents import QueueAgents
from callcenter.queues.metrics import QueueMetrics
from callcenter.queues.models import Queue
from callcenter.queues.state import QueueTracker

log = logging.getLogger(__name__)
PUBLISH_EVERY = 0.5
TICK = 1.0
REFRESH_EVERY = 30.0
SUPERVISORS = ("teamlead", "manager", "admin")


@dataclass
class QueueClients:
    """What the queues use of the server."""
    settings: Any
    metrics: Any
    control: Any         # callcenter.calls.control.CallControl: queue members in Asterisk
    sessions: Any
    live: Any            # callcenter.live.LiveBus
    directory: Any
    loops: Any
    pbx_sync: Any


class QueueLive:
    def __init__(self, clients: QueueClients) -> None:
        self.clients = clients
        self.tracker = QueueTracker(self, tz=zoneinfo.ZoneInfo(clients.settings.web.timezone))
        self.metrics = QueueMetrics(clients.metrics.registry, self.tracker)
        self.agents = QueueAgents(clients, self.tracker)
        self.locations: dict[str, int | None] = {}      # queue name -> location id
        self.max_wait: dict[str, int] = {}               # queue name -> max wait seconds
        self._supervisors: list[tuple[int, str, int | None]] = []
        self._user_ids: dict[str, int] = {}
        self._listeners: list = []
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._refreshed = 0.0
        self.reconciled_at: float | None = None

    def listen(self, fn) -> None:
        self._listeners.append(fn)

    def _notify(self, kind: str, info: dict) -> None:
        for fn in self._listeners:
            try:
                fn(kind, info)
            except Exception:  # noqa: BLE001 - a listener's fault is its own
                log.exception("queue listener failed on %s", kind)

    # -- Reporter ----------------------------------------------------------------
    def queue_changed(self, queue) -> None:
        self._dirty.add(queue.name)
        self._wake.set()

    def caller_done(self, queue, caller, outcome: str, wait: float) -> None:
        self.metrics.caller_done(queue.name, outcome, wait)
        self._notify("caller_done", {"queue": queue.name, "caller_uniqueid": caller.uniqueid, "outcome": outcome,
                                     "wait": wait, "agent": caller.agent})

    def agent_event(self, kind: str, queue, member, event: dict) -> None:
        self._notify(f"agent_{kind}", {
            "queue": queue.name, "agent": member.name, "agent_id": self.user_id(member.name),
            "caller_uniqueid": event.get("Uniqueid"), "caller_linkedid": event.get("Linkedid"),
            "caller_number": event.get("CallerIDNum"), "agent_channel": event.get("DestChannel")})

    # -- reads for other features --------------------------------------------------------
    def waiting_callers(self) -> dict[str, tuple[str, float]]:
        """Callers waiting in a queue now, as Asterisk's queue events say (every
        server hears them): caller uniqueid -> (queue, joined at, Unix time)."""
        return {uid: (q.name, c.joined_at) for q in self.tracker.queues.values() for uid, c in q.waiting.items()}

    def free_agents(self, queue: str) -> list[str]:
        """Names of the agents of ``queue`` who could take a call right now."""
        return self.tracker.free_members(queue)

    def is_free(self, agent: str) -> bool:
        """Is ``agent`` logged in to some queue and free (not paused, ringing, in a call or wrap-up)?"""
        now = self.tracker.clock()
        found = self.tracker.members_named(agent)
        return bool(found) and all(m.state(now) == "available" for _q, m in found)

    def free_interface(self, agent: str) -> str | None:
        """Where to ring ``agent`` directly (the interface Asterisk has them in
        their queues: ``PJSIP/<endpoint>`` or their mobile's Local channel) when
        they are logged in and free; None otherwise."""
        return next((m.interface for _q, m in self.tracker.members_named(agent)), None) \
            if self.is_free(agent) else None

    def logged_in(self, queue: str) -> list[str]:
        q = self.tracker.queues.get(queue)
        return sorted(m.name for m in q.members.values()) if q else []

    def views(self, names=None) -> list[dict]:
        return [self.tracker.view(n) for n in sorted(names if names is not None else self.tracker.queues)]

    # -- background -------------------------------------------------------------------
    async def refresh(self) -> None:
        """Queue settings, supervisors and user ids from the database."""
        async with self.clients.sessions() as session:
            queues = (await session.scalars(select(Queue).where(Queue.active.is_(True)))).all()
            users = (await session.execute(select(User.id, User.name, User.role, User.location_id)
                                           .where(User.active.is_(True)))).all()
        self.tracker.configure({q.name: (q.wrapup_seconds, q.service_level_seconds) for q in queues})
        self.locations = {q.name: q.location_id for q in queues}
        self.max_wait = {q.name: q.max_wait_seconds for q in queues}
        self._supervisors = [(u.id, u.role, u.location_id) for u in users if u.role in SUPERVISORS]
        self._user_ids = {u.name: u.id for u in users}
        self._refreshed = time.monotonic()

    def user_id(self, name: str) -> int | None:
        """A member's user id (the directory knows new users within 2 s)."""
        found = self._user_ids.get(name)
        directory = self.clients.directory
        if found is None and directory is not None and name in directory.agents:
            found = self._user_ids[name] = directory.agents[name].id
        return found

    def audience(self, name: str) -> set[int]:
        location = self.locations.get(name)
        ids = {uid for uid, role, loc in self._supervisors
               if role == "admin" or location is None or loc == location}
        ids |= {uid for uid in map(self.user_id, self.logged_in(name)) if uid is not None}
        return ids

    async def publish(self, name: str) -> None:
        users = self.audience(name)
        if users:
            await self.clients.live.publish({"type": "queue", "queue": self.tracker.view(name)}, user_ids=users)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), TICK)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                self.tracker.tick()
                if time.monotonic() - self._refreshed > REFRESH_EVERY:
                    await self.refresh()
                dirty, self._dirty = self._dirty, set()
                for name in sorted(dirty):
                    await self.publish(name)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis or the database away: try again next round
                self.clients.loops.failed("queues", error)
            await asyncio.sleep(PUBLISH_EVERY)

    async def reconcile(self) -> None:
        """After each AMI (re)connect: QueueStatus into the tracker, then the
        open sessions back into Asterisk."""
        try:
            # first: right after the call reconciliation's action
            status = await self.clients.control.queue_status()
            await self.refresh()
            self.tracker.snapshot(status)
            async with self.clients.sessions() as session:
                added, removed = await self.agents.restore(session)
            if added or removed:
                log.info("queues reconciled: %d members added back, %d removed", added, removed)
                self.tracker.snapshot(await self.clients.control.queue_status())
            self.reconciled_at = time.time()
        except (AmiError, DomainError) as error:
            log.warning("queue reconciliation failed: %s", error)
