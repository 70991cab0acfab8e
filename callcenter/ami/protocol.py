"""The AMI wire protocol: panoramisk's asyncio protocol with our framing,
plus building and validating actions.  Only modules of :mod:`callcenter.ami`
import panoramisk; the connection manager is :class:`callcenter.ami.link.AmiLink`
(its module doc lists the panoramisk traps guarded).

What of panoramisk is used
--------------------------
* :class:`panoramisk.ami_protocol.AMIProtocol` is the base class of
  :class:`_Protocol` (transport bookkeeping, ``version`` from the banner); we
  override ``data_received``, ``send``, ``connection_lost`` and ``close``.
* :class:`panoramisk.actions.Action` generates the ``ActionID`` and serialises
  the action (including repeated ``Variable:`` lines) to the wire;
  :func:`build_action` validates every name and value first.
* panoramisk's :class:`~panoramisk.manager.Manager` is *not* used: its
  connect/login/ping/re-queue logic is what :class:`~callcenter.ami.link.AmiLink`
  replaces.

Inbound bytes go through :class:`~callcenter.ami.framing.Framer`; at most
:data:`SLICE` messages are handed to the link's ``_dispatch`` per event-loop
iteration (reading is paused while a backlog remains).
"""
from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol

from .errors import AmiError, AmiNotConnected
from .framing import Framer, FrameTooLarge

if TYPE_CHECKING:
    from .link import AmiLink

__all__ = ["SLICE", "build_action"]

# the link's logger, so records keep the name they had before the split
log = logging.getLogger("callcenter.ami.link")

#: messages handled per event-loop iteration before yielding
SLICE = 256

_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*\Z")
# A channel variable, or the one dialplan function a variable may set: a SIP
# header added to the channel's INVITE (the web phone's auto-answer, callcenter/webphone).
_VARIABLE_NAME = re.compile(r"(?:[A-Z][A-Z0-9_]*|PJSIP_HEADER\(add,X-[A-Za-z][A-Za-z0-9-]{0,40}\))\Z")
_RESERVED = {"action", "actionid", "variable"}


def _check_value(what: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a str, not {type(value).__name__}")
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"{what} contains CR, LF or NUL")
    return value


def build_action(name: str, headers: dict[str, str] | None = None,
                 variables: dict[str, str] | None = None) -> Action:
    """Validate and build a panoramisk ``Action`` (with a fresh ActionID).
    Raises ``ValueError`` on any unsafe name or value."""
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise ValueError(f"bad AMI action name {name!r}")
    fields: dict[str, Any] = {"Action": name}
    seen = set()
    for key, value in (headers or {}).items():
        if not isinstance(key, str) or not _HEADER_NAME.match(key):
            raise ValueError(f"bad AMI header name {key!r}")
        low = key.lower()
        if low in _RESERVED:
            raise ValueError(f"header {key!r} is set by the link")
        if low in seen:
            raise ValueError(f"header {key!r} given twice (names are case-insensitive)")
        seen.add(low)
        fields[key] = _check_value(f"header {key}", value)
    if variables:
        lines = []
        for key, value in variables.items():
            if not isinstance(key, str) or not _VARIABLE_NAME.match(key):
                raise ValueError(f"bad variable name {key!r}")
            lines.append(f"{key}={_check_value(f'variable {key}', value)}")
        fields["Variable"] = lines
    return Action(fields)


class _Pending:
    __slots__ = ("action_id", "future", "name", "multi", "items", "timer", "deadline", "proto",
                 "timeout")

    def __init__(self, action_id: str, future: asyncio.Future, name: str, multi: bool,
                 proto: "_Protocol", timeout: float) -> None:
        self.action_id = action_id
        self.future = future
        self.name = name
        self.multi = multi
        self.items: list[dict[str, str]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.proto = proto
        self.timeout = timeout
        self.deadline = 0.0


class _Protocol(AMIProtocol):
    """panoramisk's protocol with our framing, dispatch and no re-queueing."""

    def __init__(self, link: "AmiLink", loop: asyncio.AbstractEventLoop) -> None:
        self._link = link
        self._loop = loop
        self.framer = Framer()
        self.banner_future: asyncio.Future[str] = loop.create_future()
        self.gone = asyncio.Event()
        self.lost = False
        self._scheduled = False
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.log = log
        self.encoding = "utf-8"

    # -- inbound ---------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        framer = self.framer
        try:
            framer.feed(data)
        except FrameTooLarge as exc:
            log.error("AMI peer sent garbage (%s); dropping the connection", exc)
            self.transport.abort()
            return
        if framer.banner is not None and not self.banner_future.done():
            banner = framer.banner
            if banner.startswith("Asterisk Call Manager/"):
                self.version = banner.partition("/")[2].strip()
                self.banner_future.set_result(banner)
            else:
                self.banner_future.set_exception(AmiError(f"not an AMI banner: {banner[:80]!r}"))
                self.transport.abort()
                return
        if not self._scheduled and len(framer):
            self._drain()

    @property
    def backlog(self) -> int:
        return len(self.framer)

    def _drain(self) -> None:
        self._scheduled = False
        if self.lost:
            return
        framer = self.framer
        msgs = framer.pop(SLICE)
        if msgs:
            self._link._dispatch(msgs)
        if len(framer):
            if not self._paused:
                self._paused = True
                self.transport.pause_reading()
            self._scheduled = True
            self._loop.call_soon(self._drain)
        elif self._paused:
            self._paused = False
            self.transport.resume_reading()

    # -- outbound --------------------------------------------------------
    def send(self, data: Action, as_list: bool = False) -> None:  # type: ignore[override]
        """Write an already validated Action.  Unlike panoramisk, nothing is
        remembered for re-sending."""
        self.transport.write(str(data).encode("utf-8"))

    # -- end -------------------------------------------------------------
    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost:
            return
        # what was already received is handled, in order, before giving up
        framer = self.framer
        while len(framer):
            msgs = framer.pop(SLICE)
            if msgs:
                self._link._dispatch(msgs)
        self.lost = True
        self.closed = True
        if not self.banner_future.done():
            self.banner_future.set_exception(AmiNotConnected("connection closed before the banner"))
            self.banner_future.exception()  # mark retrieved
        framer.clear()
        self._link._connection_lost(self, exc)
        self.gone.set()

    def close(self) -> None:  # panoramisk's close() re-queues actions: never
        """Drop the connection now; what is still unprocessed is discarded."""
        if not self.closed:
            self.closed = True
            self.framer.clear()
            self.transport.abort()

