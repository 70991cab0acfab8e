"""The live layer against the real stack: a real call's steps reach the page of
the agent who placed it (and their team lead), never another agent's page or
another team's lead; a page that connects mid-call learns the call from the
hello message; a socket dies with its session."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from callcenter.calls.tracker import STATES
from tests import factories
from tests.browser import WebClient, WebUser, add_web_user
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
ASHA_IP, BALA_IP = "127.0.0.10", "127.0.0.11"


async def receive(ws, timeout: float = 20.0) -> dict:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def calls_until_ended(ws, call_id: str) -> list[dict]:
    seen = []
    while not seen or seen[-1]["state"] != "ended":
        message = await receive(ws)
        if message["type"] == "call" and message["call"]["id"] == call_id:
            seen.append(message["call"])
    return seen


async def nothing_about_calls(ws, wait: float = 0.5) -> None:
    while True:
        try:
            msg = await ws.receive(timeout=wait)
        except asyncio.TimeoutError:
            return
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        assert json.loads(msg.data)["type"] != "call", msg.data


async def open_socket(client: WebClient, origin: str | None = None):
    ws = await client.http.ws_connect(client.url("/ws"), origin=origin or client.base, heartbeat=None)
    hello = await receive(ws)
    assert hello["type"] == "hello" and hello["now"]
    return ws, hello


async def team_setup(server):
    async with server.services.sessions() as session:
        north = await factories.location(session, "north")
        team_a = await factories.team(session, north, "team-a")
        team_b = await factories.team(session, north, "team-b")
        await session.commit()
        return north.id, team_a.id, team_b.id


async def test_a_call_goes_live_to_its_agent_and_their_lead_only(web_server, web_client, sipp, monkeypatch):
    monkeypatch.setattr("web.hub.REVALIDATE_SECONDS", 0.5)
    # the test reads one socket at a time (a browser answers pings at once): a server
    # ping left unanswered while it reads the others must not close this one (1006)
    monkeypatch.setattr("web.hub.HEARTBEAT_SECONDS", 300.0)
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 3000])
    asha_phone = sipp("uas_answer", ASHA_IP, free_port(ASHA_IP, tcp=False))
    server = await web_server(
        agents=[Agent("asha", contact=f"sip:{ASHA_IP}:{asha_phone.port}"),
                Agent("bala", contact=f"sip:{BALA_IP}:5999")],
        trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    north, team_a, team_b = await team_setup(server)
    users = {"asha": WebUser("asha", fields={"team_id": team_a, "location_id": north}),
             "bala": WebUser("bala", fields={"team_id": team_b, "location_id": north}),
             "lead": WebUser("lead", "teamlead", fields={"team_id": team_a, "location_id": north}),
             "other": WebUser("other", "teamlead", fields={"team_id": team_b, "location_id": north})}
    clients, sockets, ids = {}, {}, {}
    for name, user in users.items():
        ids[name] = await add_web_user(server, user)
        clients[name] = web_client(server)
        assert (await clients[name].login(name, user.password)).status == 303
        sockets[name], hello = await open_socket(clients[name])
        assert hello["calls"] == [] and hello["user"]["name"] == name

    # a page on another site cannot open the socket with the agent's cookie
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await clients["asha"].http.ws_connect(clients["asha"].url("/ws"), origin="https://evil.example")
    assert refused.value.status == 403

    # asha places a call from her page (cookie + CSRF header)
    asha = clients["asha"]
    resp = await asha.http.post(asha.url("/api/v1/calls"), json={"agent": "asha", "number": "9876543210"},
                                headers={"X-CSRF-Token": asha.csrf, "Origin": asha.base})
    assert resp.status == 202, await resp.text()
    call_id = (await resp.json())["id"]

    seen = []
    while not seen or seen[-1]["state"] != "connected":
        message = await receive(sockets["asha"])
        if message["type"] == "call":
            seen.append(message["call"])
    # a page opened now (a reconnect) learns the call from hello
    late, hello = await open_socket(asha)
    assert [c["id"] for c in hello["calls"]] == [call_id]
    assert hello["calls"][0]["state"] == "connected" and hello["calls"][0]["connected_at"]
    seen += await calls_until_ended(sockets["asha"], call_id)

    states = [c["state"] for c in seen]
    assert states == sorted(states, key=STATES.index) and len(set(states)) == len(states), states
    assert {"connected", "ended"} <= set(states)
    ended = seen[-1]
    assert ended["id"] == call_id and ended["agent"] == "asha" and ended["agent_id"] == ids["asha"]
    assert ended["end_reason"] == "completed" and ended["talk_seconds"] >= 2
    assert ended["connected_at"] and ended["ended_at"] and ended["requested_at"]
    assert (await calls_until_ended(late, call_id))[-1]["state"] == "ended"

    lead_seen = await calls_until_ended(sockets["lead"], call_id)
    assert lead_seen[-1]["end_reason"] == "completed"
    await nothing_about_calls(sockets["bala"])
    await nothing_about_calls(sockets["other"])

    # logging out closes the page's socket with "session ended"
    assert (await asha.post("/logout")).status == 303
    msg = await sockets["asha"].receive(timeout=5)
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await sockets["asha"].receive(timeout=5)
    # the close frame's code is what a browser's page reads (aiohttp's client, replying to
    # it, records 1006 instead when the server has already let go of the connection)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 4001), msg
    with pytest.raises(aiohttp.WSServerHandshakeError) as gone:
        await asha.http.ws_connect(asha.url("/ws"), origin=asha.base)
    assert gone.value.status == 401
    for ws in (*sockets.values(), late):
        await ws.close()
