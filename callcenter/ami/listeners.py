"""Who hears the AMI link: the core's call tracker and fence, and whatever
features subscribe (queue state, inbound calls...). The composition root
gives the link :meth:`PbxEvents.event` and :meth:`PbxEvents.connected`; a
feature's start subscribes with ``pbx_events.on_event(fn)`` (called
synchronously, in order, for every event) and ``pbx_events.on_connected(fn)``
(awaited after every (re)connect, after the core's reconciliation).
A listener that raises is logged and the others still hear the event.

With several Asterisks (callcenter/pbx/nodes.py) the link above is this
server's own node's; ``pbx_events.on_peer_event(fn)`` subscribes to the other
nodes' events as well (``fn(event)``, the trunk board's call counts), which
:meth:`PbxEvents.peer_event` passes on."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from callcenter.loops import RateLimitedLog

log = logging.getLogger(__name__)
failure_log = RateLimitedLog(log)


class PbxEvents:
    def __init__(self) -> None:
        self._on_event: list[Callable[[dict], None]] = []
        self._on_connected: list[Callable[[], Awaitable[None]]] = []
        self._on_peer_event: list[Callable[[dict], None]] = []

    def on_peer_event(self, fn: Callable[[dict], None]) -> None:
        self._on_peer_event.append(fn)

    def peer_event(self, event: dict) -> None:
        self._dispatch(self._on_peer_event, event)

    def on_event(self, fn: Callable[[dict], None]) -> None:
        self._on_event.append(fn)

    def on_connected(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._on_connected.append(fn)

    def event(self, event: dict) -> None:
        self._dispatch(self._on_event, event)

    @staticmethod
    def _dispatch(listeners, event: dict) -> None:
        for fn in listeners:
            try:
                fn(event)
            except Exception as error:  # noqa: BLE001 - one listener's bug never starves the others
                failure_log.warning(getattr(fn, "__qualname__", "listener"), "AMI listener %s failed on %s: %s",
                                  getattr(fn, "__qualname__", fn), event.get("Event"), error, exc_info=error)

    async def connected(self) -> None:
        for fn in self._on_connected:
            try:
                await fn()
            except Exception as error:  # noqa: BLE001 - the next listener still runs
                log.warning("after the AMI (re)connect, %s failed: %s", getattr(fn, "__qualname__", fn), error)
