"""One notion of "ended": a call is said to be ended once its row says so.

A disposition checks the call's row (``callcenter/dispositions/service.py``,
on whichever server the request lands), while the tracker learns of the end
from AMI and the call writer (dialer/effects.py) writes the row a batch
later. So nothing may call a call ended before its row does:
``GET /api/v1/calls/{id}`` waits here for the row of a call its tracker has
seen end (the writer, hurried, writes it at once), and the live bus hears of
an ended call from here, once its row is written (callcenter/calls/live.py).
A server that does not follow the call reads its row only. This holds with
several servers: whatever says "ended" has seen, or waited for, the row.

Waiting on the row (rather than a disposition accepting what the local
tracker knows) keeps the rule true when the disposition lands on a server
whose tracker never saw the call."""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

log = logging.getLogger(__name__)
ENDED_WAIT_SECONDS = 2.0  # the longest a request waits for an ended call's row


class EndedRows:
    """Requests and listeners waiting for ended calls' rows; ``hurry`` is set
    while one waits (the writer then skips its batching delay)."""

    def __init__(self, calls: Callable[[], dict]) -> None:
        self._calls = calls  # the tracker's calls (an ended call leaves once its row is written)
        self._waiting: dict[str, asyncio.Event] = {}
        self._listeners: list[Callable] = []
        self.hurry = asyncio.Event()

    def listen(self, listener: Callable) -> None:
        """``listener(call)`` once each ended call's row is written (or, the
        database away too long, kept in the unwritten-calls file)."""
        self._listeners.append(listener)

    def unwritten(self, call_id: str) -> bool:
        """The tracker has seen the call end and its row is not written yet."""
        call = self._calls().get(call_id)
        return call is not None and call.state == "ended"

    async def wait(self, call_id: str, timeout: float = ENDED_WAIT_SECONDS) -> bool:
        """Wait until the ended call's row is written (True at once when no
        ended call waits for its row); False when ``timeout`` passed first."""
        if not self.unwritten(call_id):
            return True
        stored = self._waiting.setdefault(call_id, asyncio.Event())
        self.hurry.set()
        try:
            await asyncio.wait_for(stored.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def stored(self, call) -> None:
        """The writer wrote (or kept) the row of the ended ``call``."""
        waiting = self._waiting.pop(call.call_id, None)
        if waiting is not None:
            waiting.set()
        for listener in self._listeners:
            try:
                listener(call)
            except Exception:  # noqa: BLE001 - a listener's fault never stops the writer
                log.exception("call %s: a listener of its stored row failed", call.call_id)
