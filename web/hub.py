"""The live layer: one WebSocket per open page, fed through Redis pub/sub so
that every serve process's browsers hear every event.

``await services.hub.publish(event, user_ids=None, agent_id=None, everyone=False)``
sends a small JSON event (``{"type": ..., ...}``) to:
- the users in ``user_ids`` (all their open pages), and/or
- when ``agent_id`` is given, everyone whose scope sees that agent: the agent,
  their team lead, their location's manager, admins;
- every page when ``everyone``.
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
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web
from sqlalchemy import select

from callcenter.auth.tokens import Principal
from callcenter.calls.view import CallSteps
from callcenter.clock import utc_iso  # noqa: F401 - also re-exported for the modules that import it from here
from callcenter.loops import RateLimitedLog
from callcenter.models import User
from callcenter.org.scope import Scope

log = logging.getLogger(__name__)
trouble_log = RateLimitedLog(log)  # Redis away: one line a minute, not one per retry

QUEUE_MAX = 64
HEARTBEAT_SECONDS = 20.0
REVALIDATE_SECONDS = 10.0
PLACEMENT_SECONDS = 30.0
SESSION_ENDED = 4001
TOO_SLOW = 4008


def sees(scope: Scope, message: dict) -> bool:
    """May the holder of ``scope`` receive this published message?"""
    if message.get("everyone"):
        return True
    if scope.user_id is not None and scope.user_id in (message.get("users") or ()):
        return True
    agent = message.get("agent")
    if not agent:
        return False
    if scope.sees_all or (scope.user_id is not None and scope.user_id == agent.get("id")):
        return True
    if scope.role == "manager" and scope.location_id is not None:
        return agent.get("location_id") == scope.location_id
    if scope.role == "teamlead" and scope.team_id is not None:
        return agent.get("team_id") == scope.team_id
    return False


@dataclass(eq=False)
class Client:
    ws: web.WebSocketResponse
    principal: Principal
    scope: Scope
    session_id: str | None
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    dropped: bool = False


class Hub:
    def __init__(self, services) -> None:
        self.services = services
        self.channel = f"{services.settings.redis.key_prefix}web:live"
        self.clients: set[Client] = set()
        self._placements: dict[int, tuple[float, dict]] = {}
        self._steps = CallSteps()  # several processes report the same call: each step goes out once
        self._tasks: list[asyncio.Task] = []
        self._subscribed = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._revalidate())]
        try:
            await asyncio.wait_for(self._subscribed.wait(), 5)
        except TimeoutError:
            log.warning("live hub: not yet subscribed to Redis; events will flow once it is")

    async def close_sockets(self) -> None:
        """Close every open page's socket (server shutting down: pages reconnect elsewhere)."""
        await asyncio.gather(*(c.ws.close(code=1001, message=b"server going away")
                               for c in list(self.clients)), return_exceptions=True)

    async def close(self) -> None:
        await self.close_sockets()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- publishing --------------------------------------------------------------
    async def publish(self, event: dict, user_ids: Iterable[int] | None = None, *,
                      agent_id: int | None = None, everyone: bool = False) -> None:
        """Send ``event`` to the pages that may see it (see the module's doc)."""
        message = {"event": event, "users": sorted(set(user_ids)) if user_ids else None,
                   "agent": await self.placement(agent_id) if agent_id is not None else None,
                   "everyone": everyone}
        await self.services.redis.publish(self.channel, json.dumps(message, separators=(",", ":")))

    async def placement(self, agent_id: int) -> dict:
        """{id, team_id, location_id} of a user, cached for PLACEMENT_SECONDS."""
        now = time.monotonic()
        hit = self._placements.get(agent_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self.services.sessions() as session:
            row = (await session.execute(select(User.team_id, User.location_id)
                                         .where(User.id == agent_id))).first()
        placement = {"id": agent_id, "team_id": row.team_id if row else None,
                     "location_id": row.location_id if row else None}
        if len(self._placements) > 10_000:
            self._placements.clear()
        self._placements[agent_id] = (now + PLACEMENT_SECONDS, placement)
        return placement

    # -- receiving from Redis and dispatching -------------------------------------
    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self.services.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                backoff = 0.2
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is not None and message.get("type") == "message":
                        self.dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis gone: retry with backoff
                trouble_log.warning("subscription", "live hub: Redis subscription lost (%s); retrying", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001
                    pass

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
        from web import sessions  # imported here: web.sessions reads the app's keys
        while True:
            await asyncio.sleep(REVALIDATE_SECONDS)
            for client in [c for c in self.clients if c.session_id]:
                try:
                    if not await sessions.still_valid(self.services, client.session_id):
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
