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
    outcome: str = "running"
    started: float = field(default_factory=time.time)
    ended: float | None = None


class IvrHooks:
    """What the IVR asks of the rest of the server. The defaults do nothing
    but log; ``ivr.service`` plugs in the customer look-up, and the queue,
    call-back and survey services of issue 4 replace the others."""

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
        flow = self.flows.get(record.flow) if record.flow else None
        walk = Walk(flow, languages=self.prompts.languages) if flow else None
        try:
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
        return record

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
                return await self.hooks.lookup(record.caller)
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
