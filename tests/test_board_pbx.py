"""The board against the real server and Asterisk: a real click-to-call shows on
the team lead's board snapshot (GET /api/v1/board) as the agent ringing, then
on a call (both legs up, on the trunk, one channel in use), then gone when it
ends; the lead of another team never sees it."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import update

from callcenter.auth.tokens import create_token
from callcenter.models import User
from tests import factories
from tests.browser import WebUser
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP, PHONE_IP = "127.0.0.2", "127.0.0.10"
CUSTOMER = "+91 98765 43210"
LEAD = WebUser("lena", "teamlead", password="lena-password-1")
OTHER_LEAD = WebUser("omar", "teamlead", password="omar-password-1")


async def board_team(server, extra_agents: int = 0) -> dict:
    """asha and lena in team-a, omar leading team-b; ``extra_agents`` more
    agents (no phone) in team-a. Bearer tokens of the two leads."""
    async with server.services.sessions() as session, session.begin():
        north = await factories.location(session, "north")
        team_a, team_b = await factories.team(session, north, "team-a"), await factories.team(session, north, "team-b")
        await session.execute(update(User).where(User.name.in_(["asha", "lena"]))
                              .values(team_id=team_a.id, location_id=north.id))
        await session.execute(update(User).where(User.name == "omar").values(team_id=team_b.id, location_id=north.id))
        for n in range(extra_agents):
            session.add(User(name=f"agent{n:02d}", role="agent", display_name=f"Agent {n:02d}",
                             team_id=team_a.id, location_id=north.id, languages="en"))
        tokens = {"lena": await create_token(session, "board-lena", user_id=server.user_ids["lena"], actor="test"),
                  "omar": await create_token(session, "board-omar", user_id=server.user_ids["omar"], actor="test")}
    return tokens


async def board(server, token: str) -> dict:
    resp = await server.client.get("/api/v1/board", headers=server.headers(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def board_until(server, token: str, agent: str, state: str, timeout: float = 20.0) -> dict:
    """The board once ``agent``'s tile is in ``state``."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = await board(server, token)
        tile = next(a for a in snapshot["agents"] if a["name"] == agent)
        if tile["state"] == state:
            return snapshot
        assert time.monotonic() < deadline, f"{agent} never {state} on the board: {tile}"
        await asyncio.sleep(0.05)


async def test_a_real_call_on_the_team_leads_board(web_server, sipp):
    phone = sipp("uas_ring_answer", PHONE_IP, free_port(PHONE_IP, tcp=False), ["-d", 2500], timeout=90)
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 3000], timeout=90)
    server = await web_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                              trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)], users=[LEAD, OTHER_LEAD])
    tokens = await board_team(server)
    before = await board(server, tokens["lena"])
    assert [a["state"] for a in before["agents"]] == ["logged_out"] and before["calls"] == []

    resp = await server.place("asha", CUSTOMER)
    assert resp.status == 202, await resp.text()
    call_id = (await resp.json())["id"]

    ringing = await board_until(server, tokens["lena"], "asha", "ringing")
    assert ringing["counts"]["ringing"] == 1
    [call] = ringing["calls"]
    assert call["id"] == call_id and call["agent_leg"] in ("dialing", "ringing") and call["trunk"] == "carrier"

    talking = await board_until(server, tokens["lena"], "asha", "on_call")
    [tile] = talking["agents"]
    assert tile["call"]["id"] == call_id and tile["call"]["number"] == "+919876543210"
    assert tile["call"]["direction"] == "outbound" and tile["call"]["since"]
    [call] = talking["calls"]
    assert call["agent_leg"] == "up" and call["state"] in ("customer_ringing", "connected")
    [trunk] = talking["trunks"]
    assert trunk["name"] == "carrier" and trunk["in_use"] >= 1 and trunk["ours"] >= 1

    other = await board(server, tokens["omar"])
    assert other["agents"] == [] and other["calls"] == []

    await server.wait_state(call_id, "ended", timeout=30)
    after = await board_until(server, tokens["lena"], "asha", "logged_out")
    assert after["calls"] == [] and after["counts"]["logged_out"] == 1

    # the trunk's last hour counts the call once (the per-minute ring in Redis, every 2 s)
    deadline = time.monotonic() + 20
    while True:
        [trunk] = (await board(server, tokens["lena"]))["trunks"]
        if sum(trunk.get("last_hour") or ()) >= 1:
            break
        assert time.monotonic() < deadline, trunk
        await asyncio.sleep(0.2)
    assert sum(trunk["last_hour"]) == 1 and len(trunk["last_hour"]) == 60
    assert trunk["rejected_15min"] == 0 and trunk["in_use"] == 0
