"""Inbound calls while they run on this server: one :class:`LiveCall` per
IVR session, fed by the session's hooks (``hooks.py``), by the queue
tracker's notices (``queues.listen``: an agent rung, connected) and
by the AMI ``DialEnd`` of a direct ring to the caller's last agent.

Only the server running a call's IVR session acts on its events (several
servers hear the same AMI events). Each call's database work runs in order,
one job after the other, so the screen pop (written and sent when the agent's
phone starts ringing) always goes out before the answer.

Messages to the agent's pages (``live.publish``, callcenter/live.py):
- ``{"type": "screen_pop", "inbound_call_id", "customer_id" | null,
  "customer_name", "number" (masked per privacy), "queue", "language",
  "work_item_id", "url"}`` to the agent rung, before they answer;
- ``{"type": "queue", ...}`` (callcenter/queues/live.py) of the call's queue
  at the answer, just before the call's message, so the agent's queue bar
  and call panel agree;
- ``{"type": "call", "call": {...}}`` when they answer and when the talk
  ends, the shape of :func:`callcenter.calls.view.call_view` plus
  ``direction: "inbound"``, ``inbound_call_id`` and ``hangup_url``
  (:func:`~callcenter.calls.view.direction_view`), ``trunk``, ``queue`` and
  ``number`` (as an agent may see it), so the panel shows it, the supervisor's
  board needs no database read, and the 360 page's disposition form opens at its end."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from callcenter.calls.view import call_view, direction_view
from callcenter.clock import utc_iso
from callcenter.customers.privacy import mobile_for
from callcenter.inbound import service
from callcenter.inbound.service import LiveCall, utcnow
from callcenter.models import User

log = logging.getLogger(__name__)
RECORDING_SETTLE_SECONDS = 1.0


def screen_pop_url(inbound_call_id: str, customer_id: int | None, work_item_id: int | None) -> str:
    if customer_id is None:
        return f"/customers/new?inbound={inbound_call_id}"
    return f"/customers/{customer_id}" + (f"?item={work_item_id}" if work_item_id else "")


@dataclass
class InboundClients:
    """What the inbound calls use of the server."""
    settings: Any
    sessions: Any
    live: Any      # callcenter.live.LiveBus
    queues: Any    # callcenter.queues.live.QueueLive


class InboundLive:
    def __init__(self, clients: InboundClients, metrics) -> None:
        self.clients = clients
        self.metrics = metrics
        self.calls: dict[str, LiveCall] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- the registry and the per-call order of work --------------------------------
    def begin(self, record) -> LiveCall | None:
        if record.uniqueid is None:
            return None
        entry = LiveCall(id=record.uniqueid, call_id=uuid.uuid4().hex, did=record.did, caller=record.caller,
                         flow=record.flow, channel=record.channel or "", trunk=record.trunk)
        self.calls[entry.id] = entry
        return entry

    def get(self, uniqueid: str | None) -> LiveCall | None:
        return self.calls.get(uniqueid) if uniqueid else None

    def run(self, entry: LiveCall, job, *args) -> asyncio.Task:
        """Queue ``job(entry, *args)`` after the call's earlier jobs; errors are logged."""
        before = entry.chain

        async def step():
            if before is not None:
                await asyncio.gather(before, return_exceptions=True)
            try:
                return await job(entry, *args)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one call's bookkeeping must not stop the others
                log.exception("inbound call %s: %s failed", entry.id, getattr(job, "__name__", job))

        task = entry.chain = asyncio.get_running_loop().create_task(step())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    # -- events ------------------------------------------------------------------------
    def on_queue_event(self, kind: str, info: dict) -> None:
        """The queue tracker's notices (synchronous; the work is queued)."""
        entry = self.get(info.get("caller_uniqueid"))
        if entry is None:
            return
        if kind == "agent_called":
            if info.get("agent") in entry.popped:
                return  # the same agent rung again after a no-answer: their page has the caller already
            entry.popped.add(info.get("agent"))
            self.run(entry, self.offer, info.get("agent_id"), info.get("agent"), info.get("queue"))
        elif kind == "agent_connected" and entry.answered_at is None:
            entry.answered_at = utcnow()
            entry.agent_channel = info.get("agent_channel")
            self.run(entry, self.answered, info.get("agent_id"), info.get("agent"))

    def on_ami_event(self, event: dict) -> None:
        """AMI events: a caller joining a queue (written on the row: the list of
        the day's calls shows them waiting), the answer of a direct ring to the
        caller's last agent."""
        if event.get("Event") == "QueueCallerJoin":
            entry = self.get(event.get("Uniqueid"))
            if entry is not None and entry.answered_at is None:
                self.run(entry, lambda e, at: service.waiting(self.clients.sessions, e, at), utcnow())
            return
        if event.get("Event") != "DialEnd" or event.get("DialStatus") != "ANSWER":
            return
        entry = self.get(event.get("Uniqueid"))
        if entry is None or entry.direct is None or entry.answered_at is not None:
            return
        entry.answered_at = utcnow()
        entry.agent_channel = event.get("DestChannel")
        self.run(entry, self.answered, entry.direct.id, entry.direct.name)

    # -- steps ---------------------------------------------------------------------------
    async def _agent(self, agent_id: int | None, name: str | None) -> User | None:
        async with self.clients.sessions() as session:
            if agent_id is not None:
                return await session.get(User, agent_id)
            if name:
                return (await session.scalars(select(User).where(User.name == name))).first()
        return None

    async def offer(self, entry: LiveCall, agent_id: int | None, name: str | None, queue: str | None) -> None:
        agent = await self._agent(agent_id, name)
        if agent is None or entry.answered_at is not None:
            return
        pop = await service.offer(self.clients.sessions, self.clients.settings, entry, agent)
        message = {"type": "screen_pop", "inbound_call_id": entry.id, "customer_id": pop["customer_id"],
                   "customer_name": pop["customer_name"],
                   "number": mobile_for(self.clients.settings, agent.role, entry.caller),
                   "queue": queue or entry.queue, "language": entry.language, "work_item_id": pop["work_item_id"],
                   "url": screen_pop_url(entry.id, pop["customer_id"], pop["work_item_id"])}
        await self._publish(message, user_ids=[agent.id])
        self.metrics.screen_pops.inc()

    async def answered(self, entry: LiveCall, agent_id: int | None, name: str | None) -> None:
        agent = await self._agent(agent_id, name)
        if agent is None:
            log.warning("inbound call %s answered by %s, who is not a user here", entry.id, name)
            return
        entry.agent_id, entry.agent_name = agent.id, agent.name
        if entry.entered_at is None:
            entry.entered_at = entry.queue_started_at or entry.answered_at
        call = await service.answer(self.clients.sessions, self.clients.settings, entry, agent)
        if call is not None:
            await self._publish_queue(entry.queue)  # the queue bar says "on a call" before the panel says "Connected"
            await self._publish_call(entry, "connected")

    async def talk_ended(self, entry: LiveCall, hangup_by: str) -> None:
        if entry.answered_at is None or entry.talk_ended_at is not None:
            return
        entry.talk_ended_at = utcnow()
        if await service.end_talk(self.clients.sessions, entry, hangup_by) is not None:
            await self._publish_call(entry, "ended")
            if entry.recording_day:
                await asyncio.sleep(RECORDING_SETTLE_SECONDS)
                await self._register_recording(entry)

    async def finish(self, entry: LiveCall, record) -> None:
        now = utcnow()
        if entry.answered_at is None and entry.queue_started_at is not None:
            entry.entered_at = entry.entered_at or entry.queue_started_at  # hung up while waiting
        if entry.answered_at is not None and entry.talk_ended_at is None:
            await self.talk_ended(entry, "customer")
        outcome = service.outcome_of(entry, record)
        self.calls.pop(entry.id, None)
        await service.finish(self.clients.sessions, entry, outcome, now)
        self.metrics.calls.labels(outcome).inc()

    # -- out -------------------------------------------------------------------------------
    async def _publish(self, message: dict, **audience) -> None:
        if self.clients.live is not None:  # None: no pages to tell (tests, tools)
            await self.clients.live.publish(message, **audience)

    async def _publish_queue(self, name: str | None) -> None:
        """The queue's view now (the caller gone, the agent in the call), not at
        its next throttled publish: it goes out before the call's message."""
        queues = self.clients.queues
        if not name or queues is None or self.clients.live is None:
            return
        try:
            await queues.publish(name)
        except Exception as error:  # noqa: BLE001 - the call's own message still goes out
            log.warning("inbound call: publishing queue %s failed: %s", name, error)

    async def _publish_call(self, entry: LiveCall, state: str) -> None:
        talk = (entry.talk_ended_at - entry.answered_at).total_seconds() if entry.talk_ended_at else None
        owner = {"agent": entry.agent_name, "agent_id": entry.agent_id, "work_item_id": entry.work_item_id,
                 "customer_id": entry.customer_id, "requested_at": utc_iso(entry.answered_at)}
        view = {**call_view(entry.call_id, state, owner, agent_answered_at=entry.answered_at,
                            connected_at=entry.answered_at, ended_at=entry.talk_ended_at,
                            end_reason="completed" if state == "ended" else None,
                            talk_seconds=round(talk, 1) if talk is not None else None),
                **direction_view("inbound", entry.id), "trunk": entry.trunk, "queue": entry.queue,
                "number": mobile_for(self.clients.settings, "agent", entry.caller)}  # as the agent may see it
        await self._publish({"type": "call", "call": view}, agent_id=entry.agent_id)

    def recording_inner_path(self, entry: LiveCall) -> str:
        d = entry.recording_day
        return f"{self.clients.settings.pbx.instance_dir}/recordings/{d[:4]}/{d[4:6]}/{d[6:]}/{entry.call_id}.wav"

    async def _register_recording(self, entry: LiveCall) -> None:
        settings = self.clients.settings
        path = settings.pbx.host_path(self.recording_inner_path(entry))
        try:
            size = path.stat().st_size
        except OSError:
            log.warning("inbound call %s was answered but has no recording at %s", entry.call_id, path)
            return
        relative = str(path.relative_to(settings.pbx.recordings_dir))
        await service.add_recording(self.clients.sessions, entry.call_id, relative, size)


def recording_day(now: dt.datetime | None = None) -> str:
    return (now or utcnow()).strftime("%Y%m%d")
