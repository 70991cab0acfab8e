"""The work API through the real middleware with bearer tokens: buckets,
work items, allocation, reassignment, re-allocation, reminders and store
appointments; roles, scope (404 outside it) and clear 422s."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace as Row

import pytest

from callcenter.models import utcnow
from callcenter.work.models import Appointment, WorkItem
from tests import factories as f
from tests.light_app import light_app


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    async with sessions() as s:
        north = Row(id=app.rows["north"])
        app.rows["camp"] = (await f.campaign(s, "north-bday", loc=north)).id
        app.rows["camp_s"] = (await f.campaign(s, "south-bday", loc=Row(id=app.rows["south"]))).id
        app.rows["agent_n2"] = (await f.user(s, "agent_n2", team=Row(id=app.rows["team"],
                                                                     location_id=app.rows["north"]))).id
        await s.commit()
    app.sessions = sessions
    yield app
    await app.client.close()


async def items(app, n=1, agent=None, store="s1", camp="camp", mobile=None, **fields):
    out = []
    async with app.sessions() as s:
        for _ in range(n):
            cust = await f.customer(s, mobile=mobile, store=Row(id=app.rows[store]))
            item = await f.work_item(s, Row(id=app.rows[camp]), cust,
                                     Row(id=app.rows[agent]) if agent else None, **fields)
            out.append(item.id)
        await s.commit()
    return out


async def get(app, who, url, status=200):
    resp = await app.client.get(url, headers=app.headers(who))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def post(app, who, url, body, status=200):
    resp = await app.client.post(url, json=body, headers=app.headers(who))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_an_agent_sees_their_buckets_masked(app):
    [mine] = await items(app, agent="exec1", mobile="+919812345678")
    await items(app, 2, agent="exec2")
    counts = await get(app, "exec1", "/api/v1/buckets")
    assert counts["buckets"]["fresh"] == 1 and counts["labels"]["fresh"] == "Fresh calls"
    page = await get(app, "exec1", "/api/v1/buckets/fresh?per_page=10")
    assert page["total"] == 1 and page["items"][0]["id"] == mine
    assert page["items"][0]["mobile"] == "+91 98xxxxxx78"
    assert page["items"][0]["campaign"]["expires_on"]  # dates as ISO text
    item = await get(app, "exec1", f"/api/v1/work/{mine}")
    assert item["callable"] is True and item["mobile"] == "+91 98xxxxxx78"


async def test_an_agent_gets_404_for_another_agents_item_or_buckets(app):
    [theirs] = await items(app, agent="exec2")
    body = await get(app, "exec1", f"/api/v1/work/{theirs}", 404)
    assert body["error"] == "work_item_not_found"
    await get(app, "exec1", f"/api/v1/buckets?agent={app.rows['exec2']}", 404)
    await get(app, "exec1", f"/api/v1/buckets/fresh?agent={app.rows['exec2']}", 404)
    await get(app, "exec1", f"/api/v1/reminders?agent={app.rows['exec2']}", 404)
    await get(app, "exec1", "/api/v1/work/nope", 404)


async def test_a_team_lead_sees_their_team_unmasked_and_per_agent(app):
    await items(app, 2, agent="agent_n", mobile=None)
    await items(app, 1, agent="exec1")  # not in the team
    page = await get(app, "lead_n", f"/api/v1/buckets/fresh?agent={app.rows['agent_n']}")
    assert page["total"] == 2 and page["items"][0]["mobile"].startswith("+9198")
    assert (await get(app, "lead_n", "/api/v1/buckets"))["buckets"]["fresh"] == 2
    per_agent = await get(app, "lead_n", "/api/v1/buckets?by=agent")
    assert per_agent["agents"] == [{"agent_id": app.rows["agent_n"], "buckets": {
        "fresh": 2, "non_contact": 0, "future_followup": 0, "pending_followup": 0, "appointment": 0}}]
    await get(app, "lead_n", f"/api/v1/buckets?agent={app.rows['exec1']}", 404)


@pytest.mark.parametrize("url, error", [
    ("/api/v1/buckets/closed", "unknown_bucket"),
    ("/api/v1/buckets/everything", "unknown_bucket"),
    ("/api/v1/buckets/fresh?page=0", "invalid_request"),
    ("/api/v1/buckets/fresh?per_page=101", "invalid_request"),
    ("/api/v1/buckets/fresh?per_page=0", "invalid_request"),
    ("/api/v1/buckets/fresh?page=two", "invalid_request"),
    ("/api/v1/buckets/fresh?q=12", "invalid_request"),
    ("/api/v1/buckets?campaign=x", "invalid_request"),
    ("/api/v1/buckets?by=store", "invalid_request"),
])
async def test_bad_parameters_are_clear_422s(app, url, error):
    body = await get(app, "exec1", url, 422)
    assert body["error"] == error and body["message"]


async def test_allocation_roles_scope_and_result(app):
    await items(app, 3, store="s1")
    await items(app, 1, store="s2")
    url = f"/api/v1/campaigns/{app.rows['camp']}/allocate"
    assert (await app.client.post(url, json={"how": "store"}, headers=app.headers("exec1"))).status == 403
    assert (await app.client.post(url, json={"how": "store"}, headers=app.headers("lead_n"))).status == 403
    assert (await post(app, "manager_s", url, {"how": "store"}, 404))["error"] == "campaign_not_found"
    assert (await post(app, "manager_n", url, {"how": "anyhow"}, 422))["error"] == "invalid_allocation"
    assert (await post(app, "manager_n", url, {"how": "round_robin", "agent_ids": "1"}, 422))["field"] \
        == "agent_ids"
    resp = await app.client.post(url, data=b"how=store", headers=app.headers("manager_n"))
    assert resp.status == 422
    result = await post(app, "manager_n", url, {"how": "store"})
    assert result == {"allocated": 4, "unallocated": 0, "reasons": {},
                      "per_agent": {str(app.rows["exec1"]): 3, str(app.rows["exec2"]): 1}}
    south = f"/api/v1/campaigns/{app.rows['camp_s']}/allocate"
    await post(app, "manager_n", south, {"how": "store"}, 404)


async def test_reassign_and_reallocate_within_the_team(app):
    ids = await items(app, 3, agent="agent_n", bucket="future_followup",
                      followup_at=utcnow() + dt.timedelta(days=1))
    [outside] = await items(app, agent="exec1")
    out = await post(app, "lead_n", "/api/v1/work/reassign", {"item_ids": ids[:1], "agent_id": app.rows["agent_n2"]})
    assert out["allocated"] == 1
    await post(app, "lead_n", "/api/v1/work/reassign", {"item_ids": [outside], "agent_id": app.rows["agent_n2"]}, 404)
    await post(app, "lead_n", "/api/v1/work/reassign", {"item_ids": ids, "agent_id": app.rows["exec1"]}, 404)
    assert (await post(app, "lead_n", "/api/v1/work/reassign", {"item_ids": [], "agent_id": 1}, 422))["field"] \
        == "item_ids"
    assert (await app.client.post("/api/v1/work/reassign", json={"item_ids": ids, "agent_id": 1},
                                  headers=app.headers("agent_n"))).status == 403
    moved = await post(app, "lead_n", f"/api/v1/agents/{app.rows['agent_n']}/reallocate",
                       {"how": "balanced", "to_agent_ids": [app.rows["agent_n2"]]})
    assert moved["moved"] == 2 and moved["stayed"] == 0
    await post(app, "lead_n", f"/api/v1/agents/{app.rows['exec1']}/reallocate",
               {"how": "balanced", "to_agent_ids": [app.rows["agent_n2"]]}, 404)
    async with app.sessions() as s:
        rows = [await s.get(WorkItem, i) for i in ids]
    assert {r.agent_id for r in rows} == {app.rows["agent_n2"]}
    assert {r.bucket for r in rows} == {"future_followup"} and all(r.followup_at for r in rows)


async def test_reminders_and_store_appointments(app):
    now = utcnow()
    [soon] = await items(app, agent="exec1", bucket="future_followup", followup_at=now + dt.timedelta(minutes=5))
    [gone] = await items(app, agent="exec1", bucket="pending_followup", followup_at=now - dt.timedelta(hours=2))
    body = await get(app, "exec1", "/api/v1/reminders")
    assert [r["item_id"] for r in body["due_soon"]] == [soon]
    assert [r["item_id"] for r in body["missed"]] == [gone]
    [booked] = await items(app, agent="exec1", bucket="appointment", appointment_at=now + dt.timedelta(minutes=1))
    async with app.sessions() as s:
        item = await s.get(WorkItem, booked)
        s.add(Appointment(work_item_id=booked, customer_id=item.customer_id, agent_id=app.rows["exec1"],
                          store_id=app.rows["s1"], at=now + dt.timedelta(minutes=1)))
        await s.commit()
    out = await get(app, "exec1", f"/api/v1/stores/{app.rows['s1']}/appointments")
    shown = [a["work_item_id"] for day in out["days"] for a in day["appointments"]]
    assert shown == [booked]
    await get(app, "exec1", f"/api/v1/stores/{app.rows['s2']}/appointments", 404)
    await get(app, "manager_s", f"/api/v1/stores/{app.rows['s1']}/appointments", 404)
    await get(app, "manager_n", f"/api/v1/stores/{app.rows['s1']}/appointments")


async def test_every_work_route_is_closed_without_a_token(app):
    for method, url in (("GET", "/api/v1/buckets"), ("GET", "/api/v1/buckets/fresh"),
                        ("GET", "/api/v1/work/1"), ("POST", "/api/v1/campaigns/1/allocate"),
                        ("POST", "/api/v1/work/reassign"), ("POST", "/api/v1/agents/1/reallocate"),
                        ("GET", "/api/v1/reminders"), ("GET", "/api/v1/stores/1/appointments")):
        resp = await app.client.request(method, url)
        assert resp.status == 401, (method, url)
