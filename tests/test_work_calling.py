"""Calling from a work item against the real stack (Asterisk, Redis, sipp):
the call row is linked to the item, a disposition is owed before the next
call, a DND number is refused before any AMI action (also through the plain
call API), a campaign that is not callable is refused, and nobody reaches
another agent's items, calls or recordings by id."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from callcenter.auth.tokens import create_token
from callcenter.customers.models import DndNumber
from callcenter.models import Call, Trunk, User
from callcenter.work.models import WorkItem
from tests import factories as f
from tests.harness import Agent, TrunkSpec
from tests.test_click_to_call import CARRIER_IP, PHONE_IP

pytestmark = pytest.mark.pbx


@pytest.fixture
def lines(sipp):
    from tests.stack import free_port

    def start(carrier_args=("-d", "1000")):
        carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), list(carrier_args))
        phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False))
        return carrier, phone
    return start


async def start_world(call_server, carrier, phone):
    """asha (desktop, team A) with three fresh items; ravi (team A), lead A,
    lead B (another team), a manager of another location; tokens for all."""
    server = await call_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                               trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    today = dt.date.today()
    w = {}
    async with server.services.sessions() as s, s.begin():
        north, south = await f.location(s, "north"), await f.location(s, "south")
        store = await f.store(s, north)
        team_a, team_b = await f.team(s, north), await f.team(s, north)
        asha = (await s.execute(select(User).where(User.name == "asha"))).scalar_one()
        asha.location_id, asha.team_id, asha.store_id = north.id, team_a.id, store.id
        ravi = await f.user(s, "ravi", store=store, team=team_a)
        lead_a = await f.user(s, "leada", role="teamlead", team=team_a)
        lead_b = await f.user(s, "leadb", role="teamlead", team=team_b)
        boss_south = await f.user(s, "bosss", role="manager", loc=south)
        trunk = (await s.execute(select(Trunk).where(Trunk.name == "carrier"))).scalar_one()
        camp = await f.campaign(s, loc=north, trunk_id=trunk.id)
        expired = await f.campaign(s, loc=north, trunk_id=trunk.id, starts_on=today - dt.timedelta(days=10),
                                   expires_on=today - dt.timedelta(days=1))
        paused = await f.campaign(s, loc=north, trunk_id=trunk.id)
        paused.status = "paused"
        for key, campaign in (("item1", camp), ("item2", camp), ("dnd_item", camp),
                              ("expired_item", expired), ("paused_item", paused)):
            customer = await f.customer(s, store=store)
            w[key] = (await f.work_item(s, campaign, customer, asha)).id
            w[key + "_customer"] = customer.id
            w[key + "_mobile"] = customer.mobile
        w["ravi_item"] = (await f.work_item(s, camp, await f.customer(s, store=store), ravi)).id
        s.add(DndNumber(number=w["dnd_item_mobile"], added_by="test"))
        w["campaign"] = camp.id
        for user in (ravi, lead_a, lead_b, boss_south):
            w[f"tok_{user.name}"] = await create_token(s, f"tok-{user.name}", user_id=user.id, actor="test")
    w["tok_asha"] = server.agent_tokens["asha"]
    return server, w


async def post(server, path, token, body=None):
    resp = await server.client.post(path, json=body if body is not None else {}, headers=server.headers(token))
    return resp.status, await resp.json()


async def get(server, path, token):
    resp = await server.client.get(path, headers=server.headers(token))
    return resp.status, (await resp.json() if resp.content_type == "application/json" else await resp.read())


def tomorrow_at(hour: int) -> str:
    return (dt.date.today() + dt.timedelta(days=1)).isoformat() + f"T{hour:02d}:00"


async def test_call_from_a_work_item_is_linked_and_a_disposition_is_owed_before_the_next(call_server, lines):
    carrier, phone = lines()
    server, w = await start_world(call_server, carrier, phone)
    asha = w["tok_asha"]

    status, first = await post(server, f"/api/v1/work/{w['item1']}/call", asha)
    assert status == 202, first
    assert first["work_item_id"] == w["item1"] and first["agent"] == "asha" and first["trunk"] == "carrier"
    assert first["number"] != w["item1_mobile"] and "x" in first["number"]  # masked for an agent

    # a second call while the first is live: the disposition is owed already
    status, error = await post(server, f"/api/v1/work/{w['item2']}/call", asha)
    assert status == 409 and error["error"] == "disposition_required"
    assert (error["call_id"], error["work_item_id"]) == (first["id"], w["item1"])

    call = await server.wait_state(first["id"], "ended")
    assert call["end_reason"] == "completed"
    async with server.services.sessions() as s:
        row = await s.get(Call, first["id"])
    assert (row.work_item_id, row.customer_id, row.campaign_id) == (
        w["item1"], w["item1_customer"], w["campaign"])
    assert row.disposed_at is None

    status, error = await post(server, f"/api/v1/work/{w['item2']}/call", asha)
    assert status == 409 and error["error"] == "disposition_required" and error["call_state"] == "ended"
    status, owed = await get(server, "/api/v1/dispositions/owed", asha)
    assert status == 200 and owed["call"]["id"] == first["id"]

    # an answer that does not fit the form changes nothing
    status, error = await post(server, f"/api/v1/work/{w['item1']}/dispositions", asha,
                               {"call_id": first["id"], "answers": {"talked": "yes"}})
    assert status == 422 and error["error"] == "invalid_answers" and error["errors"] == {"wished": "required"}

    status, done = await post(server, f"/api/v1/work/{w['item1']}/dispositions", asha,
                              {"call_id": first["id"], "remarks": "busy at work",
                               "answers": {"talked": "yes", "wished": "call_later",
                                           "followup_at": tomorrow_at(11)}})
    assert status == 201, done
    assert done["work_item"]["bucket"] == "future_followup" and done["disposition"]["call_id"] == first["id"]
    assert done["work_item"]["attempts"] == 1  # the connected call was an attempt: calls placed
    status, owed = await get(server, "/api/v1/dispositions/owed", asha)
    assert owed == {"call": None}

    status, second = await post(server, f"/api/v1/work/{w['item2']}/call", asha)
    assert status == 202, second
    await server.wait_state(second["id"], "ended")
    status, done = await post(server, f"/api/v1/work/{w['item2']}/dispositions", asha,
                              {"answers": {"talked": "no", "not_talked_reason": "busy"}})
    assert status == 201 and done["disposition"]["call_id"] == second["id"]  # the owed call, found
    async with server.services.sessions() as s:
        item2 = await s.get(WorkItem, w["item2"])
    assert (item2.bucket, item2.attempts, item2.last_call_id) == ("non_contact", 1, second["id"])

    # --- scope: nobody reaches another agent's item, call or recording by id
    for _ in range(50):
        if (await server.call(first["id"]))["recording_url"]:
            break
        await asyncio.sleep(0.1)
    recording = f"/api/v1/calls/{first['id']}/recording"
    ravi = w["tok_ravi"]
    assert (await post(server, f"/api/v1/work/{w['item1']}/call", ravi))[0] == 404
    assert (await post(server, f"/api/v1/work/{w['item1']}/dispositions", ravi,
                       {"answers": {"talked": "no", "not_talked_reason": "busy"}}))[0] == 404
    assert (await get(server, f"/api/v1/calls/{first['id']}", ravi))[0] == 404
    assert (await get(server, recording, ravi))[0] == 404
    assert (await get(server, recording, w["tok_leadb"]))[0] == 404    # another team's lead
    assert (await get(server, recording, w["tok_bosss"]))[0] == 404    # another location's manager
    assert (await get(server, f"/api/v1/calls/{first['id']}", w["tok_leadb"]))[0] == 404
    status, audio = await get(server, recording, w["tok_leada"])       # asha's own lead
    assert status == 200 and audio[:4] == b"RIFF"
    assert (await get(server, recording, asha))[0] == 200


async def test_dnd_and_campaigns_that_are_not_callable_are_refused_before_any_ami_action(
        call_server, lines, monkeypatch):
    carrier, phone = lines()
    server, w = await start_world(call_server, carrier, phone)
    asha = w["tok_asha"]
    originates = []
    real_originate = server.services.ami.originate

    async def spy(*args, **kwargs):
        originates.append(args)
        return await real_originate(*args, **kwargs)
    monkeypatch.setattr(server.services.ami, "originate", spy)

    status, error = await post(server, f"/api/v1/work/{w['dnd_item']}/call", asha)
    assert status == 422 and error["error"] == "number_dnd", error
    # the plain call API refuses it too, whoever asks (an agent, a manager's token)
    resp = await server.place("asha", w["dnd_item_mobile"], token=asha)
    assert resp.status == 422 and (await resp.json())["error"] == "number_dnd"
    resp = await server.place("asha", w["dnd_item_mobile"])
    assert resp.status == 422 and (await resp.json())["error"] == "number_dnd"

    status, error = await post(server, f"/api/v1/work/{w['expired_item']}/call", asha)
    assert status == 409 and error["error"] == "campaign_not_callable" and "expired" in error["message"]
    status, error = await post(server, f"/api/v1/work/{w['paused_item']}/call", asha)
    assert status == 409 and error["error"] == "campaign_not_callable" and "paused" in error["message"]
    assert originates == []
    async with server.services.sessions() as s:
        assert (await s.execute(select(Call))).scalars().all() == []

    # the refusals left the agent free and the channels unreserved
    status, call = await post(server, f"/api/v1/work/{w['item1']}/call", asha)
    assert status == 202, call
    assert len(originates) == 1
    async with server.services.sessions() as s:  # only the call placed counts as an attempt
        assert [(await s.get(WorkItem, w[k])).attempts for k in ("item1", "dnd_item", "expired_item")] == [1, 0, 0]
    await server.wait_state(call["id"], "ended")
    assert (await server.trunks())["carrier"]["reserved"] == 0
