"""Two-leg click-to-call: validate → claim the agent → reserve trunk channels →
Originate (built here only) → the tracker follows the call from AMI events.

Nothing a client sends reaches AMI except the normalised E.164 digits of the
customer's number, as the value of one allow-listed channel variable.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
import uuid
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import bindparam, exists, insert, select, update

from callcenter.ami import AmiError, AmiNotConnected, AmiTimeout
from callcenter import audit
from callcenter.auth.tokens import Principal
from callcenter.calls import numbers
from callcenter.calls.control import CallControl
from callcenter.calls.tracker import agent_uniqueid
from callcenter.directory import Directory
from callcenter.customers.models import DndNumber
from callcenter.loops import stop_tasks
from callcenter.models import Call, Trunk, User
from callcenter.outages import RedisUnavailable
from callcenter.trunks.service import pick_caller_id
from callcenter.work.models import WorkItem
from dialer import exceptions as exc, routing
from dialer.phones import AgentPhones

log = logging.getLogger(__name__)

# What a caller may link a call to (a call placed from a bucket: callcenter/work/calling.py).
LINKS = ("work_item_id", "customer_id", "campaign_id")
_CALL_COLUMNS = ("id", "agent_id", "requested_by", "mode", "number", "trunk_id", "caller_id",
                 "channels", "state", "requested_at") + LINKS
# The call row is inserted only if the number is not on the DND list: one
# statement (INSERT ... SELECT ... WHERE NOT EXISTS, a primary-key lookup), so
# the DND check costs no extra round trip on the hot path; no row = DND.
_DND = DndNumber.__table__
_INSERT_CALL = insert(Call.__table__).from_select(
    _CALL_COLUMNS,
    select(*(bindparam(name, type_=Call.__table__.c[name].type) for name in _CALL_COLUMNS))
    .where(~exists().where(_DND.c.number == bindparam("number"))))
# A call placed from a work item counts as one of the item's attempts ("calls
# placed"), in the transaction that inserts the call row: every call counts,
# connected or not, and a call refused (DND) counts for nothing.
_ITEMS = WorkItem.__table__
COUNT_ATTEMPT = (update(_ITEMS).where(_ITEMS.c.id == bindparam("item_id"))
                 .values(attempts=_ITEMS.c.attempts + 1))
AGENT_CLAIM_SECONDS = 6 * 3600
C2C_CONTEXT = "cc-c2c"


@dataclass
class PlacedCall:
    """What the dialer keeps in memory about a call it placed."""
    call_id: str
    agent_id: int
    agent_name: str
    trunk: str
    mode: str
    channel: str
    dial: str
    caller_id: str
    requested_at: float
    originated_at: float | None = None
    work_item_id: int | None = None  # placed from a work item (the panel opens its form)
    customer_id: int | None = None
    node: str | None = None  # the PBX node it goes out through (its trunk's)


def to_datetime(ts: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc) if ts is not None else None


class ClickToCall:
    def __init__(self, settings, sessions, accounting, ami, tracker, metrics,
                 directory: Directory | None = None, control: CallControl | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        # active agents and trunks, kept in memory (refreshed by services)
        self.directory = directory or Directory(sessions)
        self._engine = sessions.kw["bind"]
        self.accounting = accounting
        self.ami = ami
        self.tracker = tracker
        # hangs calls up (callcenter/calls/control.py); services passes the process's one
        self.control = control or CallControl(ami, tracker)
        self.metrics = metrics
        self.placed: dict[str, PlacedCall] = {}
        self._waiters: dict[str, asyncio.Task] = {}
        self.channel_freed = asyncio.Event()
        # Calls whose Originate failed without a clear answer (link down, timeout):
        # never re-sent; any channel Asterisk did start for them is hung up.
        self.abandoned: dict[str, float] = {}
        # how each phone mode is rung; the web phone's feature adds its checks
        self.phones = AgentPhones()
        # the system's Asterisks (callcenter/pbx/nodes.py), set by services; None: the one link above
        self.nodes = None

    def link(self, node_name: str | None) -> tuple[object | None, CallControl | None]:
        """(AMI link, call control) of a node; (None, None) for a node this server does not know."""
        if self.nodes is None:
            return self.ami, self.control
        node = self.nodes.get(node_name)
        return (node.ami, node.control) if node is not None else (None, None)

    # -- placing a call -----------------------------------------------------
    async def place(self, principal: Principal, agent_name: str, raw_number: str,
                    mode: str | None = None, trunk_name: str | None = None,
                    link: dict[str, int] | None = None):
        """Place a call; returns (call, agent, trunk) as :meth:`get` does. The call
        is the row as inserted (not read back), with ``originated_at`` set once
        the Originate went out. ``link`` (keys of LINKS) is written with the row.
        A number on the DND list is refused (NumberDnd) before anything is dialled."""
        t0 = time.perf_counter()
        try:
            e164 = numbers.normalise(raw_number, self.settings.calls.default_region)
        except numbers.InvalidNumber as error:
            raise exc.InvalidNumber(str(error)) from None
        link = self._check_link(link)
        agent, trunk, mode = await self._agent_and_trunk(principal, agent_name, trunk_name, mode)
        channel = self.phones.channel(agent, mode, trunk)
        node = self.nodes.name_of(trunk.pbx_node) if self.nodes is not None else None
        ami, _control = self.link(node)
        if ami is None or not ami.connected:
            where = f" (node {node})" if self.nodes is not None and self.nodes.many else ""
            raise exc.PbxUnavailable(f"the PBX{where} is not reachable right now; try again shortly")
        call_id = uuid.uuid4().hex
        placed = PlacedCall(call_id, agent.id, agent.name, trunk.name, mode, channel,
                            numbers.dial_digits(e164), "", time.time(), None,
                            link.get("work_item_id"), link.get("customer_id"), node)
        legs = self._legs(placed)
        queueing = self.settings.calls.queue_wait > 0
        outcome, current = await self.accounting.start_call(  # claim the agent + reserve, atomically
            trunk.name, legs, agent.id, call_id, AGENT_CLAIM_SECONDS, placed.requested_at,
            claim_when_full=queueing)
        if outcome == "agent_busy":
            raise exc.AgentBusy(f"agent {agent.name} already has a call", call=current)
        reserved = outcome == "reserved"
        if not reserved:
            self.metrics.reservations_rejected.labels(trunk.name).inc()
            if not queueing:
                raise exc.TrunkFull(f"all channels of trunk {trunk.name} are in use", retry_after=5)
        try:
            placed.caller_id = await self._caller_id(trunk)
            call = await self._insert(principal, placed, trunk.id, e164,
                                      "agent_ringing" if reserved else "queued", link)
        except BaseException:
            await self.accounting.end_call(trunk.name, legs if reserved else [], agent.id, call_id)
            raise
        self.placed[call_id] = placed
        self.metrics.calls_requested.labels(mode).inc()
        self.tracker.expect(call_id, node).state = "agent_ringing" if reserved else "queued"
        if reserved:
            await self._originate(placed)
            self.metrics.request_to_originate.observe(time.perf_counter() - t0)
            call.originated_at = to_datetime(placed.originated_at)
        else:
            await self.accounting.queued(trunk.name, 1)
            self._waiters[call_id] = asyncio.create_task(self._wait_for_channels(placed))
        return call, agent, trunk

    @staticmethod
    def _check_link(link) -> dict:
        if link is None:
            return {}
        if not isinstance(link, dict) or set(link) - set(LINKS) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in link.values()):
            raise exc.InvalidRequest(f"a call may be linked only by ids of {', '.join(LINKS)}")
        return link

    async def _agent_and_trunk(self, principal: Principal, agent_name: str, trunk_name: str | None,
                               mode: str | None):
        return await routing.agent_and_trunk(self.directory, self.nodes, principal, agent_name, trunk_name, mode)

    @staticmethod
    def _legs(placed: PlacedCall) -> list[str]:
        legs = [f"{placed.call_id}:customer"]
        if placed.mode == "mobile":
            legs.append(f"{placed.call_id}:agent")
        return legs

    async def _caller_id(self, trunk) -> str:
        rotation = self.settings.calls.caller_id_rotation
        counter = 0 if rotation == "pilot" else await self.accounting.next_caller_id(trunk.name)
        return pick_caller_id(trunk, counter, rotation)

    async def _insert(self, principal: Principal, placed: PlacedCall, trunk_id: int, e164: str,
                      state: str, link: dict) -> Call:
        """Insert the call row unless the number is on the DND list (NumberDnd).
        Nothing has been sent to the PBX yet; the caller releases the agent
        and channels when this raises."""
        values = dict(id=placed.call_id, agent_id=placed.agent_id, requested_by=principal.name,
                      mode=placed.mode, number=e164, trunk_id=trunk_id, caller_id=placed.caller_id,
                      channels=len(self._legs(placed)), state=state,
                      requested_at=to_datetime(placed.requested_at),
                      **{name: link.get(name) for name in LINKS})
        async with self._engine.begin() as connection:  # Core, no ORM session
            inserted = await connection.execute(_INSERT_CALL, values)
            if inserted.rowcount == 1 and link.get("work_item_id") is not None:
                await connection.execute(COUNT_ATTEMPT, {"item_id": link["work_item_id"]})
        if inserted.rowcount != 1:
            log.info("call %s refused: the number is on the DND list", placed.call_id)
            raise exc.NumberDnd("this number is on the do-not-disturb list and may not be called")
        return Call(**values)

    @staticmethod
    def recording_name(placed: PlacedCall) -> str:
        """The call's recording in its node's recordings folder: YYYY/MM/DD/<id>.wav."""
        day = dt.datetime.fromtimestamp(placed.requested_at, dt.timezone.utc).strftime("%Y/%m/%d")
        return f"{day}/{placed.call_id}.wav"

    def recording_inner_path(self, placed: PlacedCall) -> str:
        return f"{self.settings.pbx.instance_dir}/recordings/{self.recording_name(placed)}"

    async def _originate(self, placed: PlacedCall) -> None:
        calls = self.settings.calls
        headers = {
            "Channel": placed.channel, "Context": C2C_CONTEXT, "Exten": "s", "Priority": "1",
            "Timeout": str(int(calls.agent_ring_timeout * 1000)),
            "CallerID": f"<{placed.dial if placed.mode != 'mobile' else placed.caller_id}>",
            "ChannelId": agent_uniqueid(placed.call_id), "Async": "true",
        }
        variables = {
            "CC_CALL_ID": placed.call_id, "CC_DIAL": placed.dial, "CC_TRUNK": placed.trunk,
            "CC_CALLERID": placed.caller_id, "CC_RING_TIMEOUT": str(int(calls.customer_ring_timeout)),
            "CC_RECFILE": self.recording_name(placed) if calls.record else "",  # in the node's recordings folder
            # Asterisk's own fence of the maximum call age (cc-c2c)
            "CC_MAX_SECONDS": str(int(calls.max_call_seconds + calls.pbx_margin_seconds)),
        }
        variables.update(self.phones.ring_variables(placed))
        placed.originated_at = time.time()
        ami, _control = self.link(placed.node)
        try:
            if ami is None:
                raise AmiNotConnected("no link to the call's PBX node")
            await ami.originate(headers, variables, timeout=calls.originate_timeout)
        except (AmiNotConnected, AmiTimeout, AmiError) as error:
            reason = {AmiNotConnected: "pbx_disconnected", AmiTimeout: "originate_timeout"}.get(
                type(error), "originate_failed")
            log.warning("originate of call %s failed: %s", placed.call_id, error)
            if isinstance(error, (AmiNotConnected, AmiTimeout)):
                # Asterisk may have got it all the same: whatever it started is hung up on reconcile
                self.abandoned[placed.call_id] = time.time()
            self.tracker.fail(placed.call_id, reason)

    async def _wait_for_channels(self, placed: PlacedCall) -> None:
        deadline = time.monotonic() + self.settings.calls.queue_wait
        try:
            while time.monotonic() < deadline:
                try:
                    reserved = await self.accounting.reserve(placed.trunk, self._legs(placed), time.time())
                except (RedisUnavailable, RedisError, OSError) as error:  # Redis away or emptied: wait on
                    log.warning("queued call %s: no channel to be had now (%s)", placed.call_id, error)
                    reserved = False
                if reserved:
                    self.tracker.expect(placed.call_id).state = "agent_ringing"
                    await self._originate(placed)
                    return
                self.channel_freed.clear()
                try:
                    await asyncio.wait_for(self.channel_freed.wait(), timeout=0.25)
                except asyncio.TimeoutError:
                    pass
            self.tracker.fail(placed.call_id, "trunk_full")
        except asyncio.CancelledError:
            self.tracker.fail(placed.call_id, "cancelled")
            raise
        finally:
            self._waiters.pop(placed.call_id, None)
            await self.accounting.queued(placed.trunk, -1)

    # -- reading and ending calls -----------------------------------------------
    async def get(self, principal: Principal, call_id: str, scope=None) -> tuple[Call, User, Trunk]:
        """The call if the caller may see it, else CallNotFound: an agent their
        own calls; with ``scope`` (callcenter.org.scope) a team lead their
        team's, a manager their location's. A service token (no user) keeps
        its role's reach: any role above agent sees every call."""
        if not re.fullmatch(r"[0-9a-f]{32}", call_id or ""):
            raise exc.CallNotFound("no such call")
        query = (select(Call, User, Trunk).join(User, Call.agent_id == User.id)
                 .join(Trunk, Call.trunk_id == Trunk.id).where(Call.id == call_id))
        if scope is not None and principal.user_id is not None:
            query = query.where(scope.calls())
        async with self.sessions() as session:
            row = (await session.execute(query)).first()
        if row is None or (principal.role == "agent" and row[1].id != principal.user_id):
            raise exc.CallNotFound("no such call")
        return tuple(row)

    async def hangup(self, principal: Principal, call_id: str, scope=None) -> None:
        call, _agent, trunk = await self.get(principal, call_id, scope)
        waiter = self._waiters.get(call_id)
        if waiter is not None:
            waiter.cancel()
            return
        tracked = self.tracker.calls.get(call_id)
        if call.state == "ended" or (tracked is not None and tracked.state == "ended"):
            raise exc.CallEnded("the call has already ended")
        await self.audit(principal, "call.hangup", call_id)
        node = tracked.node if tracked is not None and tracked.node else getattr(trunk, "pbx_node", None)
        ami, control = self.link(node)
        if ami is None or not ami.connected:
            raise exc.PbxUnavailable("the PBX is not reachable right now; try again shortly")
        await control.hang_up_outbound(call_id)

    async def audit(self, principal: Principal, action: str, call_id: str, **details) -> None:
        """An audit row for an action on a call. (Placing a call is recorded by the
        call row itself: requested_by and requested_at.)"""
        async with self.sessions() as session, session.begin():
            audit.record(session, principal.name, action, "call", call_id, **details)

    async def close(self) -> None:
        await stop_tasks(list(self._waiters.values()), "originate waiter")
