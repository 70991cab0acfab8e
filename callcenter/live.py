"""The live bus: small events for open pages, through Redis pub/sub so that
every serve process's browsers hear every event. The domain publishes here;
the web layer's socket hub (web/hub.py) subscribes and sends each page what
its viewer may see (:func:`sees`).

``await live.publish(event, user_ids=None, agent_id=None, everyone=False)``
sends a small JSON event (``{"type": ..., ...}``, ``type`` one of the topics
the features declare) to:
- the users in ``user_ids`` (all their open pages), and/or
- when ``agent_id`` is given, everyone whose scope sees that agent: the agent,
  their team lead, their location's manager, admins;
- every page when ``everyone``.
``supervisors_only=True`` with ``agent_id``: those who see the agent but never
the agent themselves (a silent listen the board shows its supervisors)."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable

from sqlalchemy import select

from callcenter.loops import RateLimitedLog, stop_tasks
from callcenter.models import User
from callcenter.org.scope import Scope

log = logging.getLogger(__name__)
trouble_log = RateLimitedLog(log)  # Redis away: one line a minute, not one per retry

PLACEMENT_SECONDS = 30.0


def sees(scope: Scope, message: dict) -> bool:
    """May the holder of ``scope`` receive this published message?"""
    if message.get("everyone"):
        return True
    if scope.user_id is not None and scope.user_id in (message.get("users") or ()):
        return True
    agent = message.get("agent")
    if not agent:
        return False
    if scope.user_id is not None and scope.user_id == agent.get("id"):
        return not message.get("supervisors_only")
    if scope.sees_all:
        return True
    if scope.role == "manager" and scope.location_id is not None:
        return agent.get("location_id") == scope.location_id
    if scope.role == "teamlead" and scope.team_id is not None:
        return agent.get("team_id") == scope.team_id
    return False


class LiveBus:
    def __init__(self, redis, sessions, key_prefix: str, topics=None) -> None:
        self.redis = redis
        # the message types the features declare (Feature.topics); None: any
        self.topics = set(topics) if topics is not None else None
        self.sessions = sessions
        self.channel = f"{key_prefix}web:live"
        self._placements: dict[int, tuple[float, dict]] = {}
        self._receivers: list[Callable[[bytes | str], None]] = []
        self._task: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    def receive(self, fn: Callable[[bytes | str], None]) -> None:
        """``fn(raw message)`` for every message published by any process."""
        self._receivers.append(fn)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        try:
            await asyncio.wait_for(self._subscribed.wait(), 5)
        except TimeoutError:
            log.warning("live bus: not yet subscribed to Redis; events will flow once it is")

    async def close(self) -> None:
        await stop_tasks([self._task], "live bus listener")

    async def publish(self, event: dict, user_ids: Iterable[int] | None = None, *,
                      agent_id: int | None = None, everyone: bool = False,
                      supervisors_only: bool = False) -> None:
        """Send ``event`` to the pages that may see it (see the module's doc)."""
        await self.redis.publish(self.channel, await self._message(event, user_ids, agent_id, everyone,
                                                                   supervisors_only))

    async def publish_agents(self, items: list[tuple[dict, int]]) -> None:
        """Several ``(event, agent_id)`` in one Redis round trip, in order: a
        busy publisher (a call step per AMI event) keeps up with the PBX."""
        pipe = self.redis.pipeline(transaction=False)
        for event, agent_id in items:
            pipe.publish(self.channel, await self._message(event, None, agent_id, False, False))
        await pipe.execute()

    async def _message(self, event: dict, user_ids, agent_id, everyone: bool, supervisors_only: bool) -> str:
        if self.topics is not None and event.get("type") not in self.topics:
            raise ValueError(f"live message type {event.get('type')!r} is declared by no feature (Feature.topics)")
        message = {"event": event, "users": sorted(set(user_ids)) if user_ids else None,
                   "agent": await self.placement(agent_id) if agent_id is not None else None,
                   "everyone": everyone, "supervisors_only": supervisors_only}
        return json.dumps(message, separators=(",", ":"))

    async def placement(self, agent_id: int) -> dict:
        """{id, team_id, location_id} of a user, cached for PLACEMENT_SECONDS."""
        now = time.monotonic()
        hit = self._placements.get(agent_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self.sessions() as session:
            row = (await session.execute(select(User.team_id, User.location_id)
                                         .where(User.id == agent_id))).first()
        placement = {"id": agent_id, "team_id": row.team_id if row else None,
                     "location_id": row.location_id if row else None}
        if len(self._placements) > 10_000:
            self._placements.clear()
        self._placements[agent_id] = (now + PLACEMENT_SECONDS, placement)
        return placement

    def _deliver(self, raw) -> None:
        for receiver in self._receivers:
            try:
                receiver(raw)
            except Exception:  # noqa: BLE001 - one receiver's bug never stops the others
                log.exception("live bus: a receiver failed")

    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                backoff = 0.2
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is not None and message.get("type") == "message":
                        self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - Redis gone: retry with backoff
                trouble_log.warning("subscription", "live bus: Redis subscription lost (%s); retrying", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001
                    pass
