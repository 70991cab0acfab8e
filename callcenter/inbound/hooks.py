"""The IVR's hooks (``ivr.session.IvrHooks``) for inbound calls: the session
starts and ends the InboundCall, looks callers up, and at the flow's queue
node this module routes the caller (``routing``), starts the recording (the
dialplan's cc-inbound-record), rings the caller's last agent directly when
they are free (and speak the language the caller chose, if they chose one),
then puts the caller in the queue with Queue()'s option c, so that when
the agent hangs up the caller goes on in the flow: to the post-call survey,
whose answers come back here. Call-back requests book a
call-back item (``callbacks``).

Every AGI command is built by ``ivr.commands``; nothing the caller sent goes
into one (the queue and the interface come from our tables)."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from callcenter.customers.models import Customer
from callcenter.inbound import callbacks, routing, service, survey
from callcenter.inbound.live import InboundLive, recording_day
from callcenter.inbound.service import utcnow
from callcenter.queues import conf as queue_conf
from ivr import commands
from ivr.engine import Enqueue, Lookup, QueueOutcome, RequestCallback, StoreAnswer
from ivr.session import QUEUE_STATUS, IvrHooks, SessionRecord

log = logging.getLogger(__name__)
RECORD_CONTEXT = "cc-inbound-record"
JOIN_REFUSED = {"JOINEMPTY", "JOINUNAVAIL", "FULL"}
Nudge = Callable[..., Awaitable[None]]


class InboundHooks(IvrHooks):
    def __init__(self, clients, live: InboundLive, nudge: Nudge) -> None:
        """``nudge(clients, *agent_ids)`` tells the agents' open pages that
        their bucket counts changed (``callcenter.work.sweeper.nudge``): a
        booked call-back is a new item of the agent's."""
        self.clients = clients  # callcenter.inbound.live.InboundClients
        self.live = live
        self.metrics = live.metrics
        self.nudge = nudge

    # -- the session ---------------------------------------------------------------
    async def started(self, record: SessionRecord) -> None:
        entry = self.live.begin(record)
        if entry is not None:
            await self.live.run(entry, lambda e: service.start(self.clients.sessions, e))

    async def finished(self, record: SessionRecord) -> None:
        entry = self.live.get(record.uniqueid)
        if entry is not None:
            entry.language = record.language or entry.language
            await self.live.run(entry, self.live.finish, record)

    async def lookup(self, caller: str) -> Lookup:
        async with self.clients.sessions() as session:
            row = (await session.execute(select(Customer.id, Customer.language)
                                         .where(Customer.mobile == caller).limit(1))).first()
        return Lookup(True, row.language, row.id) if row else Lookup(False)

    # -- the queue -------------------------------------------------------------------
    async def enqueue(self, connection, action: Enqueue, record: SessionRecord) -> QueueOutcome:
        entry = self.live.get(record.uniqueid)
        if entry is None:  # a session we keep no record of (no valid uniqueid): the plain queue
            return await super().enqueue(connection, action, record)
        entry.language = action.language
        if record.customer_id is not None:
            entry.customer_id = record.customer_id
        async with self.clients.sessions() as session:
            route = await routing.route(session, self.clients.queues, action.queue, action.language,
                                        entry.customer_id, try_direct=not entry.direct_tried,
                                        language_chosen=action.language_chosen)
        entry.queue, entry.queue_id, entry.queue_location_id = route.queue, route.queue_id, route.location_id
        self.metrics.routed.labels(route.reason).inc()
        if route.passed_over is not None:
            entry.direct_tried = True  # once per call, like the ring itself
            self.metrics.routed.labels("last_agent_other_language").inc()
        await self._record(connection, entry)
        if route.direct is not None and not entry.direct_tried:
            entry.direct_tried = True
            self.metrics.routed.labels("last_agent").inc()
            if await self._ring_directly(connection, entry, route.direct):
                return QueueOutcome("answered")
        entry.queue_started_at = utcnow()
        await connection.send(commands.queue(route.queue, action.max_wait, continue_after=True))
        status = (await connection.send(commands.get_variable("QUEUESTATUS"))).data or ""
        self._left(entry, joined=status not in JOIN_REFUSED)
        if entry.answered_at is not None:
            await self._after_talk(connection, entry)
            return QueueOutcome("answered")
        return QueueOutcome(QUEUE_STATUS.get(status, "unavailable"))

    async def _record(self, connection, entry) -> None:
        """MixMonitor through the dialplan, once per call, named by the server."""
        if entry.recording_day is not None or not self.clients.settings.calls.record:
            return
        day = recording_day()
        await connection.send(commands.set_variable("CC_CALL_ID", entry.call_id))
        await connection.send(commands.set_variable("CC_REC_DAY", day))
        result = await connection.send(commands.gosub(RECORD_CONTEXT))
        if result.failed:
            log.warning("inbound call %s: the recording did not start", entry.id)
            return
        entry.recording_day = day

    async def _ring_directly(self, connection, entry, agent) -> bool:
        """Ring the caller's last agent (free a moment ago); True when they answered."""
        await self.live.run(entry, self.live.offer, agent.id, agent.name, None)
        entry.direct = agent
        entry.queue_started_at = utcnow()
        try:
            await connection.send(commands.dial(agent.interface, queue_conf.RING_SECONDS))
        finally:
            entry.direct = None
        self._left(entry, joined=True)
        if entry.answered_at is None:
            return False
        await self._after_talk(connection, entry)
        return True

    @staticmethod
    def _left(entry, joined: bool) -> None:
        """An attempt (the queue, or the direct ring) is over. Unanswered, its
        time is added to the wait; answered, the answer has counted the wait."""
        if entry.answered_at is not None or entry.queue_started_at is None:
            return
        if joined:
            entry.entered_at = entry.entered_at or entry.queue_started_at
            entry.waited = entry.wait_until(utcnow())
        entry.queue_started_at = None

    async def _after_talk(self, connection, entry) -> None:
        """The agent hung up and the caller is still here (on to the survey)."""
        if entry.recording_day is not None:
            await connection.send(commands.stop_mixmonitor())
        await self.live.run(entry, self.live.talk_ended, "agent")

    # -- call-backs and the survey ------------------------------------------------------
    async def callback_offered(self, record: SessionRecord) -> bool:
        if record.caller is None:
            return False
        self.metrics.callbacks_offered.inc()
        return True

    async def request_callback(self, record: SessionRecord, action: RequestCallback) -> None:
        entry = self.live.get(record.uniqueid)
        if entry is None or entry.caller is None:
            log.info("call-back asked for by a caller without a number (%s): nothing booked", record.uniqueid)
            return
        entry.language = action.language
        booked = await self.live.run(entry, lambda e: callbacks.request(
            self.clients.sessions, self.clients.settings, e, language_chosen=action.language_chosen))
        if booked:
            self.metrics.callbacks_taken.inc()
            await self.nudge(self.clients, booked[1])

    async def store_answer(self, record: SessionRecord, action: StoreAnswer) -> None:
        entry = self.live.get(record.uniqueid)
        if entry is None:
            return
        stored = await self.live.run(entry, lambda e: survey.store_answer(self.clients.sessions, e,
                                                                          action.question, action.value))
        if stored:
            self.metrics.survey_answers.labels(action.question).inc()
            if action.question == "nps":
                self.metrics.nps_answer(action.value)
