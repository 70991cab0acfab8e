"""Bulk views of personal data leave an audit row (who, which view, the
filters, how many rows were sent), through the real middleware and routes
(no PBX: tests/light_app.py): bucket lists (API and page), a store's
appointments, the day's inbound calls (API and page), report CSV exports and
an upload's row report. A view that fails sends nothing and audits nothing."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from callcenter.inbound.models import InboundCall
from callcenter.models import AuditEntry, User
from callcenter.org.models import Location, Store
from callcenter.queues.models import Queue
from callcenter.work.models import Appointment
from tests import factories as f
from tests.light_app import call, light_app, page
from tests.test_uploads_customers import GOOD, messy_csv, upload


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    r = app.rows
    now = dt.datetime.now(dt.timezone.utc)
    async with sessions() as s, s.begin():
        north, s1 = await s.get(Location, r["north"]), await s.get(Store, r["s1"])
        exec1 = await s.get(User, r["exec1"])
        camp = await f.campaign(s, "Birthdays", loc=north)
        items = [await f.work_item(s, camp, await f.customer(s, store=s1), exec1) for _ in range(3)]
        s.add(Appointment(work_item_id=items[0].id, customer_id=items[0].customer_id, agent_id=exec1.id,
                          store_id=s1.id, at=now + dt.timedelta(hours=20), created_at=now))
        queue = Queue(name="north-en", language="en", location_id=r["north"])
        s.add(queue)
        await s.flush()
        s.add_all([InboundCall(id=f"100.{n}", did="8062247000", caller=f"+91981230000{n}", queue_id=queue.id,
                               started_at=now, ended_at=now, wait_seconds=3.0, outcome="abandoned", flow="main")
                   for n in range(2)])
    app.rows["campaign"] = camp.id
    yield app
    await app.client.close()


async def audited(app, action: str) -> list[AuditEntry]:
    async with app.services.sessions() as s:
        return list((await s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(AuditEntry.id))).all())


async def test_a_bucket_list_is_audited_with_who_filters_and_rows(app):
    campaign = app.rows["campaign"]
    status, body = await call(app, "GET", f"/api/v1/buckets/fresh?campaign={campaign}&per_page=2", "exec1")
    assert status == 200 and len(body["items"]) == 2
    resp, _ = await page(app, "GET", f"/buckets?bucket=fresh&q=Customer&campaign={campaign}", "exec1")
    assert resp.status == 200
    api, web_page = await audited(app, "buckets.viewed_list")
    assert (api.actor, api.entity, api.entity_id) == ("exec1", "view", "/api/v1/buckets/fresh")
    assert api.details == {"rows": 2, "filters": {"bucket": "fresh", "campaign": campaign, "page": 1,
                                                  "per_page": 2}}
    assert (web_page.actor, web_page.entity_id) == ("exec1", "/buckets")
    assert web_page.details == {"rows": 3, "filters": {"bucket": "fresh", "campaign": campaign, "page": 1,
                                                       "q": "Customer"}}


async def test_a_refused_bucket_list_is_not_audited(app):
    status, _ = await call(app, "GET", "/api/v1/buckets/nonsense", "exec1")
    assert status == 422
    assert await audited(app, "buckets.viewed_list") == []


async def test_a_stores_appointments_are_audited(app):
    store = app.rows["s1"]
    status, _ = await call(app, "GET", f"/api/v1/stores/{store}/appointments", "exec1")
    assert status == 200
    resp, _ = await page(app, "GET", f"/appointments?store={store}", "manager_n")
    assert resp.status == 200
    api, web_page = await audited(app, "customers.viewed_list")
    assert (api.actor, api.entity_id, api.details) == (
        "exec1", f"/api/v1/stores/{store}/appointments",
        {"rows": 1, "filters": {"list": "appointments", "store": store}})
    assert (web_page.actor, web_page.entity_id, web_page.details["rows"]) == ("manager_n", "/appointments", 1)


async def test_the_inbound_list_is_audited(app):
    today = dt.datetime.now(dt.timezone.utc).date()
    status, body = await call(app, "GET", "/api/v1/inbound/calls", "lead_n")
    assert status == 200 and len(body["calls"]) == 2
    resp, _ = await page(app, "GET", "/inbound", "manager_n")
    assert resp.status == 200
    api, web_page = await audited(app, "inbound.viewed_list")
    assert (api.actor, api.entity_id, api.details["rows"]) == ("lead_n", "/api/v1/inbound/calls", 2)
    assert set(api.details["filters"]) == {"date", "to"}
    assert abs(dt.date.fromisoformat(api.details["filters"]["date"]) - today) <= dt.timedelta(days=1)
    assert (web_page.actor, web_page.entity_id, web_page.details["rows"]) == ("manager_n", "/inbound", 2)


def csv_lines(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_report_csv_exports_are_audited_and_json_views_are_not(app):
    resp = await app.client.get("/api/v1/reports/agents?date=2024-11-05&format=csv",
                                headers=app.headers("manager_n"))
    assert resp.status == 200
    lines = csv_lines(await resp.read())
    resp = await app.client.get(f"/api/v1/reports/overview?format=csv&team={app.rows['team']}",
                                headers=app.headers("lead_n"))
    assert resp.status == 200
    overview = csv_lines(await resp.read())
    status, _ = await call(app, "GET", "/api/v1/reports/agents?date=2024-11-05", "manager_n")
    assert status == 200
    agents, team = await audited(app, "report.exported")
    assert (agents.actor, agents.entity_id) == ("manager_n", "/api/v1/reports/agents")
    assert agents.details == {"rows": len(lines) - 1, "filters": {"report": "agents", "date": "2024-11-05"}}
    assert len(lines) > 1
    assert team.actor == "lead_n" and team.details["rows"] == len(overview) - 1
    assert team.details["filters"]["report"] == "overview" and team.details["filters"]["team"] == app.rows["team"]


async def test_an_uploads_row_report_download_is_audited(app):
    out = await (await upload(app, messy_csv(GOOD))).json()
    resp = await app.client.get(f"/api/v1/uploads/{out['id']}/report.csv", headers=app.headers("manager_n"))
    assert resp.status == 200
    await resp.read()
    [row] = await audited(app, "report.exported")
    assert (row.actor, row.entity_id) == ("manager_n", f"/api/v1/uploads/{out['id']}/report.csv")
    assert row.details == {"rows": out["total"], "filters": {"report": "upload", "upload": out["id"],
                                                             "kind": "customers"}}


async def test_the_dnd_list_and_the_reassign_list_are_audited(app):
    status, body = await call(app, "POST", "/api/v1/dnd", "manager_n", {"number": "+919812300001"})
    assert status == 201
    status, body = await call(app, "GET", "/api/v1/dnd?q=98123", "manager_n")
    assert status == 200 and len(body["numbers"]) == 1
    resp, _ = await page(app, "GET", "/dnd", "admin")
    assert resp.status == 200
    api, web_page = await audited(app, "customers.viewed_list")
    assert (api.actor, api.entity_id, api.details) == (
        "manager_n", "/api/v1/dnd", {"rows": 1, "filters": {"list": "dnd", "q": "98123", "offset": 0}})
    assert (web_page.actor, web_page.entity_id, web_page.details["rows"]) == ("admin", "/dnd", 1)

    resp, text = await page(app, "GET", f"/work/reassign?agent={app.rows['exec1']}", "manager_n")
    assert resp.status == 200
    [reassign] = await audited(app, "buckets.viewed_list")
    assert (reassign.actor, reassign.entity_id) == ("manager_n", "/work/reassign")
    assert reassign.details == {"rows": 3, "filters": {"bucket": "fresh", "agent": app.rows["exec1"], "page": 1}}
