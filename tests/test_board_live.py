"""The board's live updates cost no database query per event: with 50 boards
open on the real socket hub (web/hub.py), the call steps published on the live
bus reach the boards whose scope sees the agent (the bus's ``sees``, in
memory) and no other, and the database is not asked anything meanwhile."""
from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from callcenter.auth.tokens import Principal
from callcenter.live import LiveBus
from callcenter.org.scope import load_scope
from tests.light_app import organisation
from web.hub import Hub

BOARDS = 50


class LoopbackRedis:
    """Redis pub/sub folded into one process: what is published is received at once."""

    def __init__(self) -> None:
        self.bus: LiveBus | None = None

    async def publish(self, _channel: str, data: str) -> int:
        self.bus._deliver(data)
        return 1

    def pipeline(self, transaction: bool = True) -> "LoopbackRedis.Pipeline":
        return LoopbackRedis.Pipeline(self)

    class Pipeline:
        def __init__(self, redis: "LoopbackRedis") -> None:
            self.redis, self.queued = redis, []

        def publish(self, channel: str, data: str) -> "LoopbackRedis.Pipeline":
            self.queued.append((channel, data))
            return self

        async def execute(self) -> list[int]:
            return [await self.redis.publish(channel, data) for channel, data in self.queued]


@pytest.fixture
async def boards(sessions):
    async with sessions() as s:
        rows = {k: v.id for k, v in (await organisation(s)).items()}
        await s.commit()
    redis = LoopbackRedis()
    bus = redis.bus = LiveBus(redis, sessions, "cc:", topics=("call", "queue"))

    async def still_valid(_session_id: str) -> bool:
        return True

    hub = Hub(bus, still_valid)
    names = {v: k for k, v in rows.items()}

    async def ws(request: web.Request) -> web.StreamResponse:
        user_id = int(request.query["user"])
        async with sessions() as s:
            role = "teamlead" if names[user_id].startswith("lead") else "manager"
            principal = Principal(names[user_id], role, user_id)
            scope = await load_scope(s, principal)

        async def hello() -> dict:
            return {"type": "hello", "calls": []}
        return await hub.serve(request, principal, scope, None, hello)

    app = web.Application()
    app.router.add_get("/ws", ws)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client, bus, hub, rows, sessions.kw["bind"]
    await hub.close()
    await client.close()


async def receive(socket) -> dict:
    msg = await socket.receive(timeout=10)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def test_fifty_boards_add_no_query_per_event(boards):
    client, bus, hub, rows, engine = boards
    viewers = ["lead_n"] * 20 + ["manager_s"] * 20 + ["manager_n"] * 10
    sockets = []
    for who in viewers:
        socket = await client.ws_connect(f"/ws?user={rows[who]}")
        assert (await receive(socket))["type"] == "hello"
        sockets.append((who, socket))
    assert len(hub.clients) == BOARDS
    await bus.placement(rows["agent_n"])  # where the agent sits: read once, kept for 30 s by the bus

    queries = []
    listener = lambda *args: queries.append(args[2])  # noqa: E731 - the statement
    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        steps = ("agent_ringing", "customer_ringing", "connected", "ended")
        for state in steps:
            await bus.publish({"type": "call", "call": {"id": "f" * 32, "state": state, "agent_id": rows["agent_n"],
                                                        "agent": "agent_n", "work_item_id": None}},
                              agent_id=rows["agent_n"])
        await bus.publish({"type": "queue", "queue": {"name": "sales", "members": []}}, everyone=True)
        for who, socket in sockets:
            got = [await receive(socket) for _ in range(len(steps) + 1 if who != "manager_s" else 1)]
            if who == "manager_s":  # another location: only the message for everyone
                assert [m["type"] for m in got] == ["queue"], who
            else:
                assert [m["call"]["state"] for m in got[:-1]] == list(steps), who
                assert got[-1]["type"] == "queue"
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    assert queries == [], f"{len(queries)} queries while {BOARDS} boards followed {len(steps) + 1} events"
    for _who, socket in sockets:
        await socket.close()


async def test_a_burst_of_call_steps_published_at_once_reaches_the_boards_in_order(boards):
    client, bus, hub, rows, _engine = boards
    lead = await client.ws_connect(f"/ws?user={rows['lead_n']}")
    other = await client.ws_connect(f"/ws?user={rows['manager_s']}")
    for socket in (lead, other):
        assert (await receive(socket))["type"] == "hello"
    steps = ("agent_ringing", "customer_ringing", "connected", "ended")
    calls = ("a" * 32, "b" * 32)
    await bus.publish_agents([({"type": "call", "call": {"id": call, "state": state, "agent_id": rows["agent_n"],
                                                         "agent": "agent_n", "work_item_id": None}},
                               rows["agent_n"]) for state in steps for call in calls])
    got = [await receive(lead) for _ in range(len(steps) * len(calls))]
    assert [(m["call"]["id"], m["call"]["state"]) for m in got] == [(c, s) for s in steps for c in calls]
    await bus.publish({"type": "queue", "queue": {"name": "sales", "members": []}}, everyone=True)
    assert (await receive(other))["type"] == "queue"  # another location's manager saw none of the steps
    await lead.close()
    await other.close()
