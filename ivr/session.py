"""One caller's IVR session over one FastAGI connection: the only place where
the engine's actions turn into AGI commands, look-ups and hooks.

Caller values are validated before use (``ivr.caller_input``): the DID
argument (the dialplan passes only digits, and it is checked again), the
caller ID (E.164 or dropped), every digit received. Commands come only from
``ivr.commands``. Each finished session leaves a :class:`SessionRecord`
(flow, path of nodes and ways out, outcome) in the server's recent list and
one log line."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field

from ivr import caller_input, commands
from ivr.agi import AgiHangup, AgiProtocolError, arguments, script_of
from ivr.dids import DidMap
from ivr.engine import (CheckTime, Clock, Digits, Enqueue, HangUp, LookUpCaller, Lookup, Play, QueueOutcome,
                        Read, RequestCallback, SetLanguage, StoreAnswer, Walk)
from ivr.flows import Flow
from ivr.metrics import IvrMetrics
from ivr.prompts import PromptBook

log = logging.getLogger(__name__)

SCRIPT = "flow"
LOOKUP_TIMEOUT = 2.0
_UNIQUEID = re.compile(r"^[0-9]{1,12}\.[0-9]{1,9}$")
_CHANNEL = re.compile(r"^PJSIP/([a-z0-9][a-z0-9_-]{0,39})-[0-9a-f]{8}$")
# Asterisk's QUEUESTATUS -> the engine's queue outcome
QUEUE_STATUS = {"TIMEOUT": "timeout", "FULL": "full", "JOINEMPTY": "joinempty", "LEAVEEMPTY": "leaveempty",
                "JOINUNAVAIL": "unavailable", "LEAVEUNAVAIL": "unavailable", "CONTINUE": "answered"}


@dataclass
class SessionRecord:
    uniqueid: str | None
    did: str | None
    caller: str | None          # E.164, or None when absent or refused
    flow: str | None = None
    language: str | None = None
    path: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    callback_requested: bool = False
    channel: str | None = None      # agi_channel (PJSIP/<trunk>-<8 hex>), when well-formed
    trunk: str | None = None        # the PJSIP endpoint the call came in on
    customer_id: int | None = None  # from the look-up, when the caller is a known customer
    outcome: str = "running"
    started: float = field(default_factory=time.time)
    ended: float | None = None


class IvrHooks:
    """What the IVR asks of the rest of the server. The defaults do nothing
    but log; ``callcenter.inbound.hooks`` plugs in the customer look-up, the
    inbound-call records, routing, recording, call-backs and the survey store.

    ``started``, ``callback_offered`` and ``finished`` are bookkeeping: a
    failure there is logged and the caller's session goes on."""

    async def started(self, record: SessionRecord) -> None:
        """The session has its DID, flow and caller; nothing was played yet."""

    async def finished(self, record: SessionRecord) -> None:
        """The session is over (``record.outcome`` and ``record.path`` are final)."""

    async def callback_offered(self, record: SessionRecord) -> bool:
        """A call-back offer is about to be made; False skips it (as if the
        caller pressed nothing), e.g. for a caller without a number to call back."""
        return record.caller is not None

    async def lookup(self, caller: str) -> Lookup:
        return Lookup(False)

    async def enqueue(self, connection, action: Enqueue, record: SessionRecord) -> QueueOutcome:
        """Asterisk's own Queue() for the named queue (a queue service replaces this)."""
        await connection.send(commands.queue(action.queue, action.max_wait))
        status = (await connection.send(commands.get_variable("QUEUESTATUS"))).data or ""
        return QueueOutcome(QUEUE_STATUS.get(status, "unavailable"))

    async def request_callback(self, record: SessionRecord, action: RequestCallback) -> None:
        log.info("call-back requested by %s on %s (node %s, %s): no call-back service yet",
                 record.caller or "a withheld number", record.did, action.node, action.language)

    async def store_answer(self, record: SessionRecord, action: StoreAnswer) -> None:
        log.info("survey answer %s=%d from %s (no survey store yet)", action.question, action.value,
                 record.uniqueid)


class IvrSession:
    def __init__(self, connection, flows: dict[str, Flow], dids: DidMap, prompts: PromptBook,
                 hooks: IvrHooks, metrics: IvrMetrics, recent: deque, region: str = "IN", clock=None) -> None:
        self.conn = connection
        self.flows, self.dids, self.prompts = flows, dids, prompts
        self.hooks, self.metrics, self.recent = hooks, metrics, recent
        self.region = region
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))

    async def run(self) -> SessionRecord:
        env = self.conn.env
        if script_of(env) != SCRIPT:
            raise AgiProtocolError(f"unknown AGI script {caller_input.printable(script_of(env))}")
        args = arguments(env)
        uniqueid = env.get("agi_uniqueid", "")
        record = SessionRecord(uniqueid if _UNIQUEID.fullmatch(uniqueid) else None,
                               caller_input.did(args[0]) if args else None,
                               caller_input.caller_id(env.get("agi_callerid"), self.region))
        record.flow = self.dids.flow_for(record.did)
        record.trunk = _endpoint(env.get("agi_channel", ""))
        record.channel = env.get("agi_channel") if record.trunk else None
        flow = self.flows.get(record.flow) if record.flow else None
        walk = Walk(flow, languages=self.prompts.languages) if flow else None
        try:
            if walk is not None:
                await self._quietly("started", self.hooks.started(record))
            if walk is None:
                log.warning("no IVR flow for DID %s: hanging up", record.did)
                await self.conn.send(commands.hangup())
                record.outcome = "no_flow"
                return record
            await self._walk(walk, record)
            record.outcome = "completed"
        except AgiHangup:
            if walk is not None:
                walk.caller_hung_up()
            record.outcome = "caller_hangup"
        except asyncio.CancelledError:
            record.outcome = "cancelled"
            raise
        except BaseException:
            record.outcome = "error"
            raise
        finally:
            self._finish(walk, record)
            if walk is not None:
                await self._quietly("finished", asyncio.shield(self.hooks.finished(record)))
        return record

    async def _quietly(self, what: str, awaitable) -> None:
        """A bookkeeping hook: its failure is logged, never the caller's problem."""
        try:
            await awaitable
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            self.metrics.errors.labels("hook").inc()
            log.exception("IVR hook %s failed", what)

    async def _walk(self, walk: Walk, record: SessionRecord) -> None:
        await self.conn.send(commands.answer())
        actions = walk.start()
        while True:
            answer = None
            for action in actions:
                answer = await self._carry_out(action, walk, record)
            self._count(walk)
            if walk.done:
                return
            actions = walk.feed(answer)

    async def _carry_out(self, action, walk: Walk, record: SessionRecord):
        send = self.conn.send
        if isinstance(action, Play):
            prompt = self._prompt(action.prompt, action.language)
            if prompt is not None:
                result = await send(commands.stream_file(prompt))
                if result.failed:
                    log.warning("prompt %s (%s) did not play", action.prompt, action.language)
        elif isinstance(action, Read):
            if walk.node is not None and walk.node.kind == "callback_offer" \
                    and not await self.hooks.callback_offered(record):
                return Digits("")
            return Digits(await self._read(action))
        elif isinstance(action, SetLanguage):
            record.language = action.language
            await send(commands.set_language(action.language))
        elif isinstance(action, LookUpCaller):
            return await self._lookup(record)
        elif isinstance(action, CheckTime):
            return Clock(self.clock())
        elif isinstance(action, Enqueue):
            self._count(walk)
            return await self.hooks.enqueue(self.conn, action, record)
        elif isinstance(action, StoreAnswer):
            record.answers[action.question] = action.value
            await self.hooks.store_answer(record, action)
        elif isinstance(action, RequestCallback):
            record.callback_requested = True
            await self.hooks.request_callback(record, action)
        elif isinstance(action, HangUp):
            await send(commands.hangup())
        else:
            raise AssertionError(action)
        return None

    def _prompt(self, name: str, language: str) -> str | None:
        prompt = self.prompts.resolve(name, language)
        if prompt is None:
            log.warning("prompt %s has no recording for %s or English", name, language)
        return prompt

    async def _read(self, action: Read) -> str:
        """Digits pressed ('' for none; '?' when something that is not DTMF came)."""
        prompt = self._prompt(action.prompt, action.language)
        timeout_ms = int(action.timeout * 1000)
        if action.max_digits == 1:
            if prompt is not None:
                result = await self.conn.send(commands.stream_file(prompt, caller_input.DTMF_DIGITS))
                if result.code and result.code > 0:
                    return caller_input.dtmf_from_code(result.code) or "?"
            result = await self.conn.send(commands.wait_for_digit(timeout_ms))
            if result.failed:
                raise AgiHangup("WAIT FOR DIGIT failed")
            return "" if not result.code else (caller_input.dtmf_from_code(result.code) or "?")
        result = await self.conn.send(commands.get_data(prompt or "silence/1", timeout_ms, action.max_digits))
        if result.failed:
            raise AgiHangup("GET DATA failed")
        digits = caller_input.dtmf(result.result)
        return "?" if digits is None else digits

    async def _lookup(self, record: SessionRecord) -> Lookup:
        if record.caller is None:
            return Lookup(False)
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT):
                found = await self.hooks.lookup(record.caller)
            record.customer_id = found.customer_id if found.known else None
            return found
        except Exception as error:  # noqa: BLE001 - an unknown caller rather than a dead IVR
            self.metrics.errors.labels("lookup").inc()
            log.warning("customer look-up failed (%s): treating the caller as unknown", error)
            return Lookup(False)

    def _count(self, walk: Walk) -> None:
        for event in walk.drain_events():
            if event[0] == "visit":
                self.metrics.node_visits.labels(walk.flow.name, event[1]).inc()
            else:
                self.metrics.node_exits.labels(walk.flow.name, event[1], event[2]).inc()

    def _finish(self, walk: Walk | None, record: SessionRecord) -> None:
        record.ended = time.time()
        if walk is not None:
            self._count(walk)
            record.path = list(walk.path)
            record.language = walk.language
        self.metrics.sessions.labels(record.outcome).inc()
        self.recent.append(record)
        log.info("IVR session %s did=%s caller=%s flow=%s outcome=%s path=%s", record.uniqueid, record.did,
                 "known-format" if record.caller else "none", record.flow, record.outcome,
                 " > ".join(f"{node}:{way}" for node, way in record.path))


def _endpoint(channel: str) -> str | None:
    """'PJSIP/carrier-0000002a' -> 'carrier' (None for anything else)."""
    match = _CHANNEL.fullmatch(channel) if isinstance(channel, str) else None
    return match.group(1) if match else None
