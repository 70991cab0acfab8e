"""Inbound calls through the real middleware and routes (no PBX:
tests/light_app.py): the day's calls in scope with masked numbers, the NPS
report API and its checks, a customer made from an unknown caller (API and
the form the screen pop opens), the inbound and NPS pages, and the hang-up
of a call that is not live."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from callcenter.customers.models import Customer
from callcenter.inbound.models import InboundCall
from callcenter.models import Call, User
from callcenter.queues.models import Queue
from callcenter.work.models import SurveyAnswer, WorkItem
from tests import factories as f
from tests.light_app import call, light_app, page

UNKNOWN = "+919812300005"


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    r = app.rows
    now = dt.datetime.now(dt.timezone.utc)
    async with sessions() as s, s.begin():
        trunk = await f.trunk(s)
        north_q = Queue(name="north-en", language="en", location_id=r["north"])
        south_q = Queue(name="south-kn", language="kn", location_id=r["south"])
        s.add_all([north_q, south_q])
        await s.flush()
        s.add_all([
            InboundCall(id="100.1", did="8062247000", caller=UNKNOWN, queue_id=north_q.id, agent_id=r["agent_n"],
                        call_id="a" * 32, started_at=now, answered_at=now, ended_at=now, wait_seconds=12.0,
                        talk_seconds=61.0, outcome="answered", language="en", flow="main"),
            InboundCall(id="100.2", did="8062247000", caller="+919812300006", queue_id=north_q.id, started_at=now,
                        ended_at=now, wait_seconds=30.0, outcome="abandoned", flow="main"),
            InboundCall(id="100.3", did="8062247000", caller="+919812300007", queue_id=south_q.id, started_at=now,
                        ended_at=now, outcome="callback", flow="main"),
        ])
        s.add(Call(id="a" * 32, agent_id=r["agent_n"], requested_by="inbound", mode="desktop", number=UNKNOWN,
                   trunk_id=trunk.id, caller_id="8062247000", channels=1, state="ended", requested_at=now,
                   customer_answered_at=now, ended_at=now, direction="inbound", inbound_call_id="100.1"))
        for question, score in (("nps", 10), ("agent_rating", 4)):
            s.add(SurveyAnswer(source="ivr", call_id="a" * 32, agent_id=r["agent_n"], question=question,
                               score=score))
    yield app
    await app.client.close()


async def test_the_days_calls_in_scope_with_masked_numbers(app):
    status, body = await call(app, "GET", "/api/v1/inbound/calls", "agent_n")
    assert status == 200 and [c["id"] for c in body["calls"]] == ["100.1"]  # the call that rang them
    assert body["calls"][0]["caller"] == "+91 98xxxxxx05" and body["calls"][0]["queue"] == "north-en"
    _, body = await call(app, "GET", "/api/v1/inbound/calls", "lead_n")
    assert sorted(c["id"] for c in body["calls"]) == ["100.1", "100.2"]      # and north's queue
    assert {c["caller"] for c in body["calls"]} == {UNKNOWN, "+919812300006"}
    _, body = await call(app, "GET", "/api/v1/inbound/calls", "manager_s")
    assert [c["id"] for c in body["calls"]] == ["100.3"]
    _, body = await call(app, "GET", "/api/v1/inbound/calls", "admin")
    assert len(body["calls"]) == 3
    status, body = await call(app, "GET", "/api/v1/inbound/calls?date=2020-01-01", "admin")
    assert status == 200 and body["calls"] == []
    status, body = await call(app, "GET", "/api/v1/inbound/calls?date=soon", "admin")
    assert status == 422 and body["error"] == "invalid_date"


async def test_the_nps_report_api(app):
    status, body = await call(app, "GET", "/api/v1/reports/nps?by=agent", "lead_n")
    assert status == 200 and body["total"]["nps"] == 100.0 and body["total"]["average_rating"] == 4.0
    assert [(r["name"], r["answers"], r["promoters"]) for r in body["rows"]] == [("Agent_N", 1, 1)]
    _, body = await call(app, "GET", "/api/v1/reports/nps?by=queue", "admin")
    assert [(r["name"], r["nps"]) for r in body["rows"]] == [("north-en", 100.0)]
    _, body = await call(app, "GET", "/api/v1/reports/nps?by=team", "manager_s")
    assert body["rows"] == [] and body["total"]["answers"] == 0             # not their location's agents
    assert (await call(app, "GET", "/api/v1/reports/nps", "agent_n"))[0] == 403
    status, body = await call(app, "GET", "/api/v1/reports/nps?by=store", "lead_n")
    assert (status, body["error"], body["field"]) == (422, "invalid_report", "by")
    status, body = await call(app, "GET", "/api/v1/reports/nps?date=2026-01-10&to=2026-01-09", "lead_n")
    assert (status, body["field"]) == (422, "to")
    status, body = await call(app, "GET", "/api/v1/reports/nps?date=2026-01-01&to=2026-12-31", "lead_n")
    assert (status, body["field"]) == (422, "to")


async def test_an_unknown_caller_made_a_customer_through_the_api(app, sessions):
    path = "/api/v1/inbound/calls/100.1/customer"
    assert (await call(app, "POST", path, "exec1", {"name": "Ravi"}))[0] == 404
    assert (await call(app, "POST", "/api/v1/inbound/calls/nope/customer", "agent_n", {"name": "R"}))[0] == 404
    status, body = await call(app, "POST", path, "agent_n", {"name": ""})
    assert (status, body["error"], body["field"]) == (422, "invalid_customer", "name")
    status, body = await call(app, "POST", path, "agent_n", {"name": "Ravi", "language": "ta", "city": "Delhi"})
    assert status == 201 and body["created"] and body["url"] == f"/customers/{body['customer_id']}?item=" \
                                                                f"{body['work_item_id']}"
    async with sessions() as s:
        customer = await s.get(Customer, body["customer_id"])
        item = await s.get(WorkItem, body["work_item_id"])
        linked = await s.get(Call, "a" * 32)
    assert (customer.mobile, customer.name, customer.language) == (UNKNOWN, "Ravi", "ta")
    assert item.agent_id == app.rows["agent_n"] and linked.work_item_id == item.id
    owed = await app.client.get("/api/v1/dispositions/owed", headers=app.headers("agent_n"))
    owed = (await owed.json())["call"]
    assert (owed["id"], owed["direction"]) == ("a" * 32, "inbound")   # the call is now theirs to dispose
    status, again = await call(app, "POST", path, "agent_n", {"name": "Someone else"})
    assert status == 200 and not again["created"] and again["customer_id"] == customer.id
    status, body = await call(app, "POST", "/api/v1/inbound/calls/100.1/hangup", "agent_n")
    assert (status, body["error"]) == (409, "call_not_live")


async def test_the_new_customer_form_and_the_pages(app, sessions):
    resp, html = await page(app, "GET", "/customers/new?inbound=100.1", "agent_n")
    assert resp.status == 200 and "+91 98xxxxxx05" in html and UNKNOWN not in html
    assert 'name="inbound" value="100.1"' in html and 'name="_csrf"' in html and "DEL01" in html
    assert (await page(app, "GET", "/customers/new?inbound=100.2", "agent_n"))[0].status == 404  # not theirs
    assert (await page(app, "GET", "/customers/new", "agent_n"))[0].status == 404
    resp, html = await page(app, "POST", "/customers/new", "agent_n", {"inbound": "100.1", "name": " ",
                                                                        "store_id": ""})
    assert resp.status == 422 and "name is required" in html
    resp, _ = await page(app, "POST", "/customers/new", "agent_n",
                         {"inbound": "100.1", "name": "Meena", "store_id": str(app.rows["s1"])})
    assert resp.status == 303
    location = resp.headers["Location"]
    assert re.fullmatch(r"/customers/\d+\?item=\d+", location), location
    resp, html = await page(app, "GET", location, "agent_n")  # the 360 page is theirs
    assert resp.status == 200 and "Meena" in html
    async with sessions() as s:
        meena = (await s.scalars(select(Customer).where(Customer.mobile == UNKNOWN))).one()
    assert meena.store_id == app.rows["s1"]

    resp, html = await page(app, "GET", "/inbound", "lead_n")
    assert resp.status == 200 and "north-en" in html and "Hung up waiting" in html and "1:01" in html
    assert "south-kn" not in html and 'href="/reports/nps?date=' in html
    resp, html = await page(app, "GET", "/reports/nps?by=queue", "lead_n")
    assert resp.status == 200 and "north-en" in html and "+100" in html
    assert (await page(app, "GET", "/reports/nps", "agent_n"))[0].status == 403
    async with sessions() as s:
        lead = (await s.scalars(select(User).where(User.name == "lead_n"))).one()
    assert lead.role == "teamlead"
