"""The socket's hello after a page reload, without the PBX: a live inbound call
carries its direction and its own hang-up route (the panel's Hang up button
posts there, not to the click-to-call route); an outbound call says outbound
and has none, so the panel falls back to /api/v1/calls/{id}/hangup."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from callcenter.calls.tracker import TrackedCall
from callcenter.inbound.models import InboundCall
from callcenter.models import Call, Trunk, User
from callcenter.org.scope import Scope
from tests.light_app import light_app
from web.live_calls import hello_calls


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    agent = app.rows["agent_n"]
    now = dt.datetime.now(dt.timezone.utc)
    async with sessions() as s, s.begin():
        trunk = Trunk(name="t1", host="127.0.0.1", port=5060, max_channels=10, did_start="8062247000",
                      did_end="8062247749", pilot="8062247000")
        s.add(trunk)
        await s.flush()
        s.add(InboundCall(id="1712.7", did="8062247000", caller="+919812300006", agent_id=agent,
                          call_id="i" * 32, started_at=now, answered_at=now, flow="main"))
        common = dict(agent_id=agent, mode="desktop", trunk_id=trunk.id, caller_id="8062247000", channels=1,
                      state="connected", requested_at=now, agent_answered_at=now, customer_answered_at=now)
        s.add(Call(id="i" * 32, requested_by="inbound", number="+919812300006", direction="inbound",
                   inbound_call_id="1712.7", **common))
        s.add(Call(id="o" * 32, requested_by="agent_n", number="+919812300007", **common))
    yield app
    await app.client.close()


async def hello_of(app, who: str, tracked: dict | None = None) -> dict:
    async with app.services.sessions() as s:
        user = await s.get(User, app.rows[who])
    scope = Scope(role=user.role, user_id=user.id, team_id=user.team_id, location_id=user.location_id,
                  store_id=user.store_id)
    services = SimpleNamespace(sessions=app.services.sessions, tracker=SimpleNamespace(calls=tracked or {}))
    return {c["id"]: c for c in await hello_calls(services, scope)}


async def test_a_reloaded_page_gets_the_inbound_calls_own_hangup_route(app):
    calls = await hello_of(app, "agent_n")
    inbound, outbound = calls["i" * 32], calls["o" * 32]
    assert inbound["direction"] == "inbound" and inbound["inbound_call_id"] == "1712.7"
    assert inbound["hangup_url"] == "/api/v1/inbound/calls/1712.7/hangup"
    assert inbound["state"] == "connected"
    assert outbound["direction"] == "outbound" and "hangup_url" not in outbound
    # the team lead's page gets the same view of the agent's call
    assert (await hello_of(app, "lead_n"))["i" * 32]["hangup_url"] == inbound["hangup_url"]

    # the route is the inbound hang-up: it finds the call in scope and answers that this
    # server has no conversation to end (the click-to-call route would not know the id)
    resp = await app.client.post(inbound["hangup_url"], headers=app.headers("agent_n"))
    assert resp.status == 409 and (await resp.json())["error"] == "call_not_live"


async def test_the_trackers_state_keeps_the_direction(app):
    tracked = TrackedCall(call_id="i" * 32)
    tracked.state = "connected"
    view = (await hello_of(app, "agent_n", {"i" * 32: tracked}))["i" * 32]
    assert view["direction"] == "inbound" and view["hangup_url"].endswith("/1712.7/hangup")
