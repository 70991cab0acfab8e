"""The AMI link: one authenticated connection, kept up forever.

Everything else gets Asterisk events as plain ``dict[str, str]`` (header names
exactly as Asterisk sends them) through ``on_event`` and sends actions through
:meth:`AmiLink.action`, :meth:`AmiLink.action_list` and
:meth:`AmiLink.originate` (the style of cacofonisk's ``runners/ami_runner.py``).
Only modules of :mod:`callcenter.ami` import panoramisk. This module keeps
the connection (connect, login, ping, reconnect) and routes what arrives;
sending actions and matching their replies is :mod:`callcenter.ami.actions`.

What of panoramisk is used
--------------------------
Its asyncio protocol class and action serialiser, through
:mod:`callcenter.ami.protocol` (``_Protocol``, :func:`build_action`; see that
module).  panoramisk's :class:`~panoramisk.manager.Manager` is *not* used: its
connect/login/ping/re-queue logic is exactly what the traps below are about;
:class:`AmiLink` replaces it.

panoramisk traps and how they are guarded
-----------------------------------------
* **Re-sending after reconnect.**  ``AMIProtocol.close`` puts unanswered
  actions on ``Manager.awaiting_actions`` and the Manager re-sends them after
  ``FullyBooted`` (an Originate placed minutes late).  We keep our own pending
  table; on connection loss every pending action fails with
  :class:`AmiNotConnected` and nothing is ever re-sent.  Actions while
  disconnected fail immediately.  Every action has a timeout
  (``settings.action_timeout`` by default): :class:`AmiTimeout`, and the entry
  is dropped so a late reply is ignored.
* **Header injection.**  panoramisk writes values verbatim; a CR/LF in a value
  would inject headers or whole actions.  Header names must match
  ``^[A-Za-z][A-Za-z0-9-]*$``, variable names ``^[A-Z][A-Z0-9_]*$``, values
  must hold no CR, LF or NUL; otherwise ``ValueError`` before anything is
  written (:func:`~callcenter.ami.protocol.build_action`).  (Names
  differing only in case are also refused: ``Action`` is a case-insensitive
  dict and would silently merge them.)
* **Dead peers.**  panoramisk's ping never checks for a reply.  We send
  ``Ping`` every ``settings.ping_interval``; without a reply within
  ``settings.ping_timeout`` the transport is aborted and we reconnect.  A
  peer that accepts TCP but never sends the banner or never answers Login
  times out after ``settings.action_timeout`` and is retried.  Reconnects
  back off exponentially up to ``settings.reconnect_backoff_max``, forever.
* **Split multi-byte characters.**  panoramisk decodes every TCP chunk on its
  own with ``errors='ignore'``, dropping a character split across chunks.  We
  frame on bytes (:mod:`callcenter.ami.framing`, fed by
  :mod:`callcenter.ami.protocol`) and decode whole messages.
* **Event-loop stalls and speed.**  panoramisk parses every message into a
  ``CaseInsensitiveDict`` and matches every event against fnmatch regexes.
  Our hot path is a byte framer plus a ``str.partition`` loop into a plain
  dict, and at most :data:`SLICE` messages are handled per loop iteration: with
  a backlog we pause reading and continue with ``loop.call_soon``, so a huge
  ``CoreShowChannels`` reply or an event burst doesn't starve other tasks.
* **Secrets.**  The Login action is never logged.

Callbacks: ``on_event(dict)`` is called synchronously, in order; an exception
is logged and the link goes on.  ``on_connected()`` (may be a coroutine) runs
after each successful login, in its own task; ``on_disconnected()`` is called
once each time an authenticated link goes down (including :meth:`close`).
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

from callcenter.config import AmiSettings

from .actions import AmiActions
from .errors import AmiError, AmiNotConnected, AmiTimeout
from .protocol import SLICE, _Pending, _Protocol, build_action

__all__ = ["AmiLink", "AmiError", "AmiNotConnected", "AmiTimeout", "SLICE"]

log = logging.getLogger(__name__)

#: first reconnect delay (seconds); doubles up to settings.reconnect_backoff_max
BACKOFF_BASE = 0.25

class AmiLink(AmiActions):
    """One authenticated AMI connection, kept up forever (see module doc);
    sending actions and matching replies: :class:`~callcenter.ami.actions.AmiActions`."""

    def __init__(self, settings: AmiSettings, *, username: str | None = None, secret: str | None = None,
                 on_event: Callable[[dict[str, str]], None] | None = None,
                 on_connected: Callable[[], Awaitable[None] | None] | None = None,
                 on_disconnected: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self._username = settings.username if username is None else username
        self._secret = settings.secret if secret is None else secret
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._protocol: _Protocol | None = None
        self._logged_in = False
        self._pending: dict[str, _Pending] = {}
        self._connected_event = asyncio.Event()
        self._supervisor: asyncio.Task | None = None
        self._pinger: asyncio.Task | None = None
        self._callback_task: asyncio.Task | None = None
        self._closing = False
        self.banner: str | None = None
        # metrics
        self.reconnects = 0
        self.logins = 0
        self.disconnects = 0
        self.events_received = 0
        self.actions_sent = 0
        self.actions_by_name: dict[str, int] = {}  # per Action name, for tests and metrics
        self.action_timeouts = 0
        self.ping_failures = 0
        self.connect_failures = 0
        self.handler_errors = 0

    # ------------------------------------------------------------------ state
    @property
    def connected(self) -> bool:
        """TCP up and logged in."""
        p = self._protocol
        return self._logged_in and p is not None and not p.lost

    def __repr__(self) -> str:
        s = self.settings
        return f"<AmiLink {self._username}@{s.host}:{s.port} connected={self.connected}>"

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Begin connecting in the background (returns at once)."""
        if self._supervisor is not None:
            return
        self._closing = False
        self._supervisor = asyncio.get_running_loop().create_task(
            self._run(), name=f"ami-link-{self.settings.host}:{self.settings.port}")

    async def wait_connected(self, timeout: float) -> None:
        if self.connected:
            return
        try:
            await asyncio.wait_for(self._connected_event.wait(), timeout)
        except asyncio.TimeoutError:
            raise AmiNotConnected(f"AMI not connected after {timeout}s") from None
        if not self.connected:
            raise AmiNotConnected("AMI link went down again")

    async def close(self) -> None:
        """Stop reconnecting, drop the connection, fail pending actions and
        wait for every task of the link to end."""
        self._closing = True
        current = asyncio.current_task()
        tasks = [t for t in (self._supervisor, self._pinger, self._callback_task)
                 if t is not None and t is not current]
        for t in tasks:
            t.cancel()
        proto = self._protocol
        if proto is not None:
            proto.close()
            self._connection_lost(proto, None)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if proto is not None:
            try:
                await asyncio.wait_for(proto.gone.wait(), 1.0)
            except asyncio.TimeoutError:  # pragma: no cover
                log.warning("AMI transport did not report its close")
        self._supervisor = self._pinger = self._callback_task = None

    async def _run(self) -> None:
        s = self.settings
        attempt = 0
        while not self._closing:
            proto = None
            try:
                proto = await self._connect_once()
            except asyncio.CancelledError:
                if self._protocol is not None:
                    self._protocol.close()
                raise
            except (OSError, asyncio.TimeoutError, AmiError) as exc:
                self.connect_failures += 1
                log.warning("AMI connection to %s:%s failed: %s", s.host, s.port,
                            exc or type(exc).__name__)
                stale = self._protocol
                if stale is not None:
                    stale.close()
                    await stale.gone.wait()
            else:
                up_since = time.monotonic()
                await proto.gone.wait()
                if time.monotonic() - up_since >= max(1.0, s.reconnect_backoff_max):
                    attempt = 0  # a flapping peer keeps backing off
            if self._closing:
                break
            delay = min(s.reconnect_backoff_max, BACKOFF_BASE * (2 ** min(attempt, 30)))
            delay *= random.uniform(0.8, 1.0)
            attempt += 1
            log.info("AMI reconnecting to %s:%s in %.2fs", s.host, s.port, delay)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> _Protocol:
        s = self.settings
        loop = asyncio.get_running_loop()
        timeout = s.action_timeout
        _, proto = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(self, loop), s.host, s.port), timeout)
        self._protocol = proto
        try:
            self.banner = await asyncio.wait_for(asyncio.shield(proto.banner_future), timeout)
        except asyncio.TimeoutError:
            raise AmiTimeout(f"no AMI banner within {timeout}s") from None
        log.debug("AMI banner %r", self.banner)
        action = build_action("Login", {"Username": self._username, "Secret": self._secret,
                                        "Events": "on"})
        try:
            await self._send(proto, action, False, timeout)
        except AmiTimeout:
            raise AmiTimeout(f"no answer to Login within {timeout}s") from None
        except AmiNotConnected:
            raise
        except AmiError as exc:
            raise AmiError(f"login as {self._username!r} refused: {exc.message}", exc.response) from None
        if proto.lost:
            raise AmiNotConnected("connection lost during login")
        self._logged_in = True
        self.logins += 1
        if self.logins > 1:
            self.reconnects += 1
        log.info("AMI logged in to %s:%s as %s (%s)", s.host, s.port, self._username, self.banner)
        self._connected_event.set()
        self._pinger = loop.create_task(self._ping_loop(proto), name="ami-ping")
        if self._on_connected is not None:
            old = self._callback_task
            if old is not None and not old.done():
                old.cancel()
            self._callback_task = loop.create_task(self._run_on_connected(), name="ami-on-connected")
        return proto

    async def _run_on_connected(self) -> None:
        try:
            result = self._on_connected()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("AMI on_connected handler failed")

    async def _ping_loop(self, proto: _Protocol) -> None:
        s = self.settings
        while True:
            await asyncio.sleep(s.ping_interval)
            if proto.lost:
                return
            try:
                await self._send(proto, build_action("Ping"), False, s.ping_timeout)
            except AmiTimeout:
                self.ping_failures += 1
                log.warning("AMI peer did not answer Ping within %.1fs; dropping the connection",
                            s.ping_timeout)
                proto.close()
                return
            except AmiNotConnected:
                return
            except AmiError as exc:  # an error reply is still a sign of life
                log.debug("AMI Ping answered with an error: %s", exc.message)

    def _connection_lost(self, proto: _Protocol, exc: Exception | None) -> None:
        if proto is not self._protocol:
            return
        self._protocol = None
        was_up = self._logged_in
        self._logged_in = False
        self._connected_event.clear()
        pinger = self._pinger
        if pinger is not None and pinger is not asyncio.current_task():
            pinger.cancel()
        self._pinger = None
        pending = [p for p in self._pending.values() if p.proto is proto]
        for p in pending:
            self._finish(p, exc=AmiNotConnected(f"AMI connection lost while waiting for {p.name}"))
        if was_up:
            self.disconnects += 1
            log.log(logging.INFO if self._closing else logging.WARNING,
                    "AMI connection to %s:%s %s%s", self.settings.host, self.settings.port,
                    "closed" if self._closing else "lost", f": {exc}" if exc else "")
            if self._on_disconnected is not None:
                try:
                    self._on_disconnected()
                except Exception:
                    log.exception("AMI on_disconnected handler failed")

    # --------------------------------------------------------------- inbound
    def _dispatch(self, msgs: list[dict[str, str]]) -> None:
        """Hot path: route replies to pending actions, events to on_event."""
        on_event = self._on_event
        pending = self._pending
        events = 0
        for m in msgs:
            if "Event" in m:
                events += 1
                if pending:
                    aid = m.get("ActionID")
                    if aid is not None:
                        p = pending.get(aid)
                        if p is not None and p.multi:
                            self._list_item(p, m)
                            continue
                if on_event is not None:
                    try:
                        on_event(m)
                    except Exception:
                        self.handler_errors += 1
                        log.exception("AMI event handler failed on %s", m.get("Event"))
            elif "Response" in m:
                aid = m.get("ActionID")
                p = pending.get(aid) if aid is not None else None
                if p is None:
                    log.debug("AMI reply for unknown or expired action %r ignored", aid)
                    continue
                self._reply(p, m)
        self.events_received += events
