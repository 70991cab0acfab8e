"""The pages' sockets: one WebSocket per open page, fed by the live bus
(callcenter/live.py: Redis pub/sub, so every serve process's browsers hear
every event); each page gets what its viewer may see (``live.sees``).
Each message also carries ``now`` (the server's time, ISO 8601 UTC) so a page
can correct its clock for timers.

Each socket has a bounded send queue served by its own task: a slow or dead
browser is dropped (it reconnects and recovers from the ``hello`` message)
and never holds anyone else up. Heartbeat pings find dead sockets; a socket
whose browser session ends (logout, user disabled or re-roled) is closed with
code 4001, which tells the page to go to the login page."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from callcenter.auth.tokens import Principal
from callcenter.calls.view import CallSteps
from callcenter.clock import utc_iso
from callcenter.live import LiveBus, sees
from callcenter.loops import stop_tasks
from callcenter.org.scope import Scope

log = logging.getLogger(__name__)

QUEUE_MAX = 64
HEARTBEAT_SECONDS = 20.0
REVALIDATE_SECONDS = 10.0
SESSION_ENDED = 4001
TOO_SLOW = 4008


@dataclass(eq=False)
class Client:
    ws: web.WebSocketResponse
    principal: Principal
    scope: Scope
    session_id: str | None
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    dropped: bool = False


class Hub:
    """The open pages' sockets; ``still_valid(session id)`` says whether a
    page's browser session still holds (checked every REVALIDATE_SECONDS)."""

    def __init__(self, bus: LiveBus, still_valid: Callable[[str], Awaitable[bool]]) -> None:
        self.bus = bus
        self.still_valid = still_valid
        self.clients: set[Client] = set()
        self._steps = CallSteps()  # several processes report the same call: each step goes out once
        self._tasks: list[asyncio.Task] = []
        bus.receive(self.dispatch)

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._revalidate())]

    async def close_sockets(self) -> None:
        """Close every open page's socket (server shutting down: pages reconnect elsewhere)."""
        await asyncio.gather(*(c.ws.close(code=1001, message=b"server going away")
                               for c in list(self.clients)), return_exceptions=True)

    async def close(self) -> None:
        await self.close_sockets()
        await stop_tasks(list(self._tasks), "live socket task")

    # -- dispatching what the bus receives ---------------------------------------
    def dispatch(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            event = message["event"]
        except (ValueError, KeyError, TypeError):
            log.warning("live hub: ignoring an unreadable message")
            return
        if event.get("type") == "call":
            call = event.get("call") or {}
            if not self._steps.advances(call.get("id"), call.get("state")):
                return  # several processes report the same call: each step goes out once
        text = None
        for client in list(self.clients):
            if client.dropped or not sees(client.scope, message):
                continue
            if text is None:
                text = json.dumps({**event, "now": utc_iso(time.time())}, separators=(",", ":"))
            try:
                client.queue.put_nowait(text)
            except asyncio.QueueFull:
                self._drop(client, TOO_SLOW, "too slow")

    def _drop(self, client: Client, code: int, why: str) -> None:
        if client.dropped:
            return
        client.dropped = True
        self.clients.discard(client)
        log.info("live hub: dropping %s's socket (%s)", client.principal.name, why)
        task = asyncio.create_task(client.ws.close(code=code, message=why.encode()))
        self._tasks.append(task)
        task.add_done_callback(lambda t: t in self._tasks and self._tasks.remove(t))

    async def _revalidate(self) -> None:
        while True:
            await asyncio.sleep(REVALIDATE_SECONDS)
            for client in [c for c in self.clients if c.session_id]:
                try:
                    if not await self.still_valid(client.session_id):
                        self._drop(client, SESSION_ENDED, "session ended")
                except Exception:  # noqa: BLE001 - try again next round
                    log.exception("live hub: checking a session failed")

    # -- one page's socket -----------------------------------------------------------
    async def serve(self, request: web.Request, principal: Principal, scope: Scope,
                    session_id: str | None, hello: Callable[[], Awaitable[dict]]) -> web.WebSocketResponse:
        """Run one page's socket until it closes: what ``hello()`` returns first
        (made after the socket is registered, so no event falls in between), then events."""
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=4096)
        await ws.prepare(request)
        client = Client(ws, principal, scope, session_id)
        self.clients.add(client)
        sender = asyncio.create_task(self._send(client, hello))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data == "ping":  # the page checking the line
                    try:
                        client.queue.put_nowait('{"type":"pong"}')
                    except asyncio.QueueFull:
                        pass
        finally:
            self.clients.discard(client)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return ws

    async def _send(self, client: Client, hello: Callable[[], Awaitable[dict]]) -> None:
        try:
            first = await hello()
            await client.ws.send_str(json.dumps({**first, "now": utc_iso(time.time())}, separators=(",", ":")))
            while not client.ws.closed:
                await client.ws.send_str(await client.queue.get())
        except (ConnectionError, RuntimeError) as error:
            log.debug("live hub: send to %s failed: %s", client.principal.name, error)
            self._drop(client, 1011, "send failed")
