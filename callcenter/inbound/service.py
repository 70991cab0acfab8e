"""The rows of an inbound call: the InboundCall from the IVR's first answer
to the end (language, customer, queue, the agent offered and the one who
answered, wait, talk, outcome) and, once an agent answers, the Call row of
direction 'inbound' that the 360 page, recordings and dispositions use.

Each function writes in its own transaction; the answer is written once even
if two servers hear of it (a conditional update on the InboundCall)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from callcenter import audit, event_log
from callcenter.clock import utc_iso
from callcenter.customers.models import Customer
from callcenter.inbound.models import InboundCall
from callcenter.models import Call, Recording, Trunk, User
from callcenter.inbound import items

log = logging.getLogger(__name__)
OUTCOMES = ("ivr_only", "answered", "abandoned", "callback", "closed", "failed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class LiveCall:
    """What this server knows of an inbound call while its IVR session runs."""
    id: str                          # the caller channel's uniqueid = linkedid = InboundCall.id
    call_id: str                     # the Call row's id once answered (and the recording's name)
    did: str | None
    caller: str | None               # E.164 or None
    flow: str | None
    channel: str = ""
    trunk: str | None = None
    trunk_id: int | None = None
    started_at: dt.datetime = field(default_factory=utcnow)
    customer_id: int | None = None
    language: str | None = None
    queue: str | None = None
    queue_id: int | None = None
    queue_location_id: int | None = None
    queue_started_at: dt.datetime | None = None  # this attempt (queue or direct ring) began
    entered_at: dt.datetime | None = None        # first time the caller waited for an agent
    waited: float = 0.0                          # seconds waited in earlier attempts
    direct: object | None = None                 # routing.DirectAgent being rung now
    direct_tried: bool = False
    recording_day: str | None = None             # YYYYMMDD once MixMonitor was started
    offered_to: int | None = None
    agent_id: int | None = None
    agent_name: str | None = None
    agent_channel: str | None = None
    answered_at: dt.datetime | None = None
    talk_ended_at: dt.datetime | None = None
    work_item_id: int | None = None
    campaign_id: int | None = None
    callback_item_id: int | None = None
    popped: set = field(default_factory=set)     # agents whose page got the screen pop
    chain: object | None = None                  # the last queued job (live.py runs them in order)

    @property
    def in_conversation(self) -> bool:
        """Answered by an agent whose channel is known, and the talk not over yet."""
        return self.answered_at is not None and self.talk_ended_at is None and bool(self.agent_channel)

    def wait_until(self, moment: dt.datetime) -> float:
        if self.queue_started_at is None:
            return self.waited
        return self.waited + max(0.0, (moment - self.queue_started_at).total_seconds())


def outcome_of(entry: LiveCall, record) -> str:
    """How the call ended, in InboundCall's words."""
    if entry.answered_at is not None:
        return "answered"
    if record.callback_requested:
        return "callback"
    if record.outcome in ("error", "cancelled", "no_flow"):
        return "failed"
    if entry.entered_at is not None:
        return "abandoned"
    if any(way == "closed" for _node, way in record.path):
        return "closed"
    return "ivr_only"


async def trunk_id(session, name: str | None, did: str | None) -> int | None:
    """The trunk the call came in on: by its endpoint name, else by the DID range."""
    if name:
        found = await session.scalar(select(Trunk.id).where(Trunk.name == name, Trunk.removed_at.is_(None)))
        if found is not None:
            return found
    if did:
        for t in (await session.execute(select(Trunk.id, Trunk.did_start, Trunk.did_end)
                                        .where(Trunk.removed_at.is_(None)))).all():
            if len(t.did_start) == len(did) and t.did_start <= did <= t.did_end:
                return t.id
    return None


async def start(sessions, entry: LiveCall) -> None:
    async with sessions() as session, session.begin():
        entry.trunk_id = await trunk_id(session, entry.trunk, entry.did)
        if entry.caller is not None:
            entry.customer_id = await session.scalar(select(Customer.id).where(Customer.mobile == entry.caller))
        if await session.get(InboundCall, entry.id) is not None:
            log.warning("inbound call %s is known already: not recorded twice", entry.id)
            return
        session.add(InboundCall(id=entry.id, did=entry.did or "", caller=entry.caller, flow=entry.flow or "",
                                customer_id=entry.customer_id, trunk_id=entry.trunk_id, started_at=entry.started_at))


async def offer(sessions, settings, entry: LiveCall, agent: User) -> dict:
    """The call rings ``agent``: they hold the caller's inbound item (so the
    360 page is theirs to open) and the InboundCall names them. Returns what
    the screen pop needs (customer_id, customer_name, work_item_id)."""
    async with sessions() as session, session.begin():
        await session.execute(update(InboundCall).where(InboundCall.id == entry.id, InboundCall.answered_at.is_(None))
                              .values(agent_id=agent.id, customer_id=entry.customer_id))
        out = {"customer_id": entry.customer_id, "customer_name": None, "work_item_id": None}
        if entry.customer_id is not None:
            customer = await session.get(Customer, entry.customer_id)
            campaign = await items.inbound_campaign(session, agent.location_id, settings)
            item = await items.customer_item(session, campaign, customer, agent.id, reason="inbound call rings")
            entry.work_item_id, entry.campaign_id = item.id, campaign.id
            out.update(customer_name=customer.name, work_item_id=item.id)
    entry.offered_to = agent.id
    return out


async def waiting(sessions, entry: LiveCall, joined_at: dt.datetime) -> None:
    """The caller joined a queue: its queue and language on the row at once
    (the day's list, on any server, shows them waiting), and the first time
    they waited; answer and finish write the rest."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(InboundCall).where(InboundCall.id == entry.id, InboundCall.answered_at.is_(None))
            .values(queue_id=entry.queue_id, language=entry.language,
                    entered_queue_at=func.coalesce(InboundCall.entered_queue_at, joined_at))
            .execution_options(synchronize_session=False))


async def answer(sessions, settings, entry: LiveCall, agent: User) -> Call | None:
    """The agent answered: InboundCall answered (once), the Call row written."""
    now = entry.answered_at
    async with sessions() as session, session.begin():
        claimed = await session.execute(
            update(InboundCall).where(InboundCall.id == entry.id, InboundCall.answered_at.is_(None))
            .values(answered_at=now, agent_id=agent.id, call_id=entry.call_id, queue_id=entry.queue_id,
                    language=entry.language, customer_id=entry.customer_id, entered_queue_at=entry.entered_at,
                    wait_seconds=round(entry.wait_until(now), 1)).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            return None
        if entry.trunk_id is None:
            log.warning("inbound call %s answered by %s but its trunk is unknown: no call row", entry.id, agent.name)
            return None
        if entry.customer_id is not None:
            customer = await session.get(Customer, entry.customer_id)
            campaign = await items.inbound_campaign(session, agent.location_id, settings)
            item = await items.customer_item(session, campaign, customer, agent.id, reason="inbound call answered")
            entry.work_item_id, entry.campaign_id = item.id, campaign.id
        # a mobile agent's leg is a second trunk channel (callcenter.queues.conf.mobile_interface)
        mobile = agent.phone_mode == "mobile" or (entry.agent_channel or "").startswith("Local/")
        call = Call(id=entry.call_id, agent_id=agent.id, requested_by="inbound", mode=agent.phone_mode or "desktop",
                    number=entry.caller or "", trunk_id=entry.trunk_id, caller_id=entry.did or "",
                    channels=2 if mobile else 1, state="connected", agent_channel=entry.agent_channel,
                    customer_channel=entry.channel or None, requested_at=now, agent_answered_at=now,
                    customer_answered_at=now, work_item_id=entry.work_item_id, customer_id=entry.customer_id,
                    campaign_id=entry.campaign_id, direction="inbound", inbound_call_id=entry.id)
        session.add(call)
        audit.record(session, "inbound", "call.inbound_answered", "call", call.id, agent=agent.name,
                     inbound_call_id=entry.id, queue=entry.queue, work_item_id=entry.work_item_id)
    return call


async def end_talk(sessions, entry: LiveCall, hangup_by: str) -> Call | None:
    now = entry.talk_ended_at
    talk = round((now - entry.answered_at).total_seconds(), 1)
    async with sessions() as session, session.begin():
        call = await session.get(Call, entry.call_id)
        if call is None:
            return None
        if call.state != "ended":
            call.state, call.ended_at, call.talk_seconds = "ended", now, talk
            call.end_reason, call.hangup_by = "completed", hangup_by
            # completed (agent, customer, queue) by the webhooks as they hand it on
            event_log.record(session, "call.ended", {
                "call_id": call.id, "ended_at": utc_iso(now), "end_reason": "completed",
                "talk_seconds": talk, "ring_seconds": None, "hangup_by": hangup_by}, entity_id=call.id, now=now)
        await session.execute(update(InboundCall).where(InboundCall.id == entry.id).values(talk_seconds=talk))
    return call


async def finish(sessions, entry: LiveCall, outcome: str, ended_at: dt.datetime) -> None:
    values = {"ended_at": ended_at, "outcome": outcome, "language": entry.language,
              "customer_id": entry.customer_id}
    if entry.answered_at is None:
        values.update(agent_id=entry.offered_to, queue_id=entry.queue_id)
        if entry.entered_at is not None:
            values.update(entered_queue_at=entry.entered_at, wait_seconds=round(entry.wait_until(ended_at), 1))
    async with sessions() as session, session.begin():
        await session.execute(update(InboundCall).where(InboundCall.id == entry.id).values(**values))


async def add_recording(sessions, call_id: str, relative: str, size: int) -> int | None:
    async with sessions() as session, session.begin():
        call = await session.get(Call, call_id)
        if call is None or call.recording_id is not None:
            return None
        recording = Recording(call_id=call_id, path=relative, size_bytes=size)
        session.add(recording)
        await session.flush()
        call.recording_id = recording.id
        return recording.id
