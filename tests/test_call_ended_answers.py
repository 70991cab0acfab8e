"""One notion of "ended" against the real Asterisk and sipp: an integrator
who disposes a call the moment ``GET /api/v1/calls/{id}`` first says
``"ended"`` is never refused (the disposition checks the row, and the GET
says "ended" only once the row does), with four agents calling at once; the
call carries its direction; a recording URL, once shown, plays."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from callcenter.models import Trunk, User
from tests import factories as f
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port
from tests.test_click_to_call import CARRIER_IP, PHONE_IP

pytestmark = [pytest.mark.pbx, pytest.mark.timeout(120)]

AGENTS = ("asha", "ravi", "meera", "kiran")
CALLS = 50
NOT_TALKED = {"talked": "no", "not_talked_reason": "busy"}


async def world(call_server, sipp):
    """Four desktop agents on one sipp phone, a carrier that hangs up 0.2 s
    after answering (no audio), and 50 fresh items shared out between them."""
    carrier = sipp("uas_answer_bye_nortp", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 200],
                   timeout=120)
    phone = sipp("uas_answer_nortp", PHONE_IP, free_port(PHONE_IP, tcp=False), timeout=120)
    contact = f"sip:{PHONE_IP}:{phone.port}"
    server = await call_server(agents=[Agent(name, contact=contact) for name in AGENTS],
                               trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    items: dict[str, list[int]] = {name: [] for name in AGENTS}
    async with server.services.sessions() as s, s.begin():
        north = await f.location(s, "north")
        store = await f.store(s, north)
        team = await f.team(s, north)
        trunk = (await s.execute(select(Trunk).where(Trunk.name == "carrier"))).scalar_one()
        camp = await f.campaign(s, loc=north, trunk_id=trunk.id)
        agents = (await s.execute(select(User).where(User.name.in_(AGENTS)))).scalars().all()
        for n in range(CALLS):
            agent = agents[n % len(agents)]
            agent.location_id, agent.team_id, agent.store_id = north.id, team.id, store.id
            items[agent.name].append((await f.work_item(s, camp, await f.customer(s, store=store), agent)).id)
    return server, items


async def dispose_on_first_ended(server, agent: str, item_id: int) -> tuple[dict, int, dict]:
    """Call from the item, poll the call until it first says ended, dispose at
    once: (the call as first seen ended, the disposition's status, its body).
    A refusal is disposed again a moment later, so the agent's next call goes
    out and every refusal is counted."""
    headers = server.headers(server.agent_tokens[agent])
    resp = await server.client.post(f"/api/v1/work/{item_id}/call", json={}, headers=headers)
    assert resp.status == 202, await resp.text()
    call_id = (await resp.json())["id"]
    deadline = time.monotonic() + 20
    while True:
        resp = await server.client.get(f"/api/v1/calls/{call_id}", headers=headers)
        call = await resp.json()
        if call["state"] == "ended":
            break
        assert time.monotonic() < deadline, call
        await asyncio.sleep(0.01)
    dispose = {"call_id": call_id, "answers": NOT_TALKED}
    resp = await server.client.post(f"/api/v1/work/{item_id}/dispositions", headers=headers, json=dispose)
    first = resp.status, await resp.json()
    if resp.status != 201:
        await asyncio.sleep(1)
        resp = await server.client.post(f"/api/v1/work/{item_id}/dispositions", headers=headers, json=dispose)
    return call, *first


async def test_fifty_calls_disposed_on_the_first_ended_answer_are_never_refused(call_server, sipp):
    server, items = await world(call_server, sipp)

    async def agent_works(name: str):
        return [await dispose_on_first_ended(server, name, item) for item in items[name]]

    started = time.monotonic()
    done = [one for per_agent in await asyncio.gather(*(agent_works(n) for n in AGENTS)) for one in per_agent]
    assert len(done) == CALLS
    refusals = [(status, body) for _call, status, body in done if status != 201]
    assert refusals == [], f"{len(refusals)} of {CALLS} refused: {refusals[:3]}"
    assert all(call["end_reason"] and call["ended_at"] for call, _s, _b in done)
    assert all(call["direction"] == "outbound" for call, _s, _b in done)
    assert time.monotonic() - started < 90
    call = done[0][0]
    profile = await (await server.client.get(f"/api/v1/customers/{call['customer_id']}",
                                             headers=server.headers(server.agent_tokens[call["agent"]]))).json()
    assert [(c["id"], c["direction"]) for c in profile["calls"]] == [(call["id"], "outbound")]

    # a recording URL appears with its row: the first time it is shown, it plays
    for call, _status, _body in done[-len(AGENTS):]:
        headers = server.headers(server.agent_tokens[call["agent"]])
        deadline = time.monotonic() + 10
        while not call["recording_url"]:
            assert time.monotonic() < deadline, call
            await asyncio.sleep(0.05)
            call = await (await server.client.get(f"/api/v1/calls/{call['id']}", headers=headers)).json()
        resp = await server.client.get(call["recording_url"], headers=headers)
        assert resp.status == 200 and (await resp.read())[:4] == b"RIFF"
