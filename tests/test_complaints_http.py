"""Complaints through the real middleware and routes (no PBX: tests/light_app.py):
the JSON API (scope, validation, status changes, filters), the categories and
notifications admin API, the pages (list with overdue highlighted, detail,
forms, the 360 fragment, categories), and an escalation reaching the new
owner's open panel through the dispatcher."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select, update

from callcenter.complaints.escalation import EscalationLoop
from callcenter.complaints.models import Complaint
from callcenter.models import Call, utcnow
from callcenter.notifications.dispatcher import Dispatcher, panel_push
from callcenter.notifications.models import Notification
from tests import factories as f
from tests.event_texts import add_event_texts
from tests.light_app import call, light_app, page

MOBILE = "+919812345678"


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    r = app.rows
    async with sessions() as s, s.begin():
        from callcenter.models import User
        await add_event_texts(s)
        camp = await f.campaign(s, "Walk-ins")
        agent_n, exec2 = await s.get(User, r["agent_n"]), await s.get(User, r["exec2"])
        cust = await f.customer(s, MOBILE, "Meera Iyer")
        other = await f.customer(s, "+919812345679", "Ravi")
        await f.work_item(s, camp, cust, agent_n)
        await f.work_item(s, camp, other, exec2)
        trunk = await f.trunk(s)
        calls = {}
        for key, agent, c in (("call", agent_n, cust), ("other_call", exec2, other)):
            calls[key] = uuid.uuid4().hex
            s.add(Call(id=calls[key], agent_id=agent.id, requested_by=agent.name, mode="desktop", number=c.mobile,
                       trunk_id=trunk.id, caller_id="8062247000", channels=1, state="ended", customer_id=c.id,
                       requested_at=utcnow() - dt.timedelta(minutes=5)))
    app.ids = {"customer": cust.id, "other": other.id, **calls}
    status, cat = await call(app, "POST", "/api/v1/complaint-categories", "admin",
                             {"code": "delivery", "name": "Late delivery", "sla_hours": 2})
    assert status == 201
    app.ids["category"] = cat["id"]
    yield app
    await app.client.close()


async def file(app, who="agent_n", **fields):
    body = {"customer_id": app.ids["customer"], "category_id": app.ids["category"],
            "description": "Ring delivered late", **fields}
    return await call(app, "POST", "/api/v1/complaints", who, body)


async def test_categories_are_managed_by_admins_and_listed_for_everyone(app):
    assert (await call(app, "POST", "/api/v1/complaint-categories", "manager_n",
                       {"code": "x", "name": "X", "sla_hours": 1}))[0] == 403
    status, body = await call(app, "POST", "/api/v1/complaint-categories", "admin",
                              {"code": "Delivery", "name": "Again", "sla_hours": 1})
    assert (status, body["error"]) == (409, "duplicate_category")
    for bad in ({"code": "has space", "name": "x"}, {"code": "ok", "name": ""},
                {"code": "ok", "name": "x", "sla_hours": 0}, {"code": "ok", "name": "x", "sla_hours": "lots"},
                {"code": "ok", "name": "x", "colour": "red"}):
        status, body = await call(app, "POST", "/api/v1/complaint-categories", "admin", bad)
        assert status == 422, bad
    cid = app.ids["category"]
    status, body = await call(app, "PATCH", f"/api/v1/complaint-categories/{cid}", "admin",
                              {"sla_hours": 4, "active": False})
    assert (status, body["sla_hours"], body["active"]) == (200, 4.0, False)
    assert (await call(app, "GET", "/api/v1/complaint-categories", "agent_n"))[1]["categories"] == []
    everything = (await call(app, "GET", "/api/v1/complaint-categories?all=true", "admin"))[1]["categories"]
    assert [c["code"] for c in everything] == ["delivery"]
    status, body = await file(app)  # a retired category takes no new complaint
    assert (status, body["error"], body["field"]) == (422, "invalid_complaint", "category_id")


async def test_an_agent_files_a_complaint_and_the_customer_gets_the_ticket(app):
    status, body = await file(app, call_id=app.ids["call"], priority="high")
    assert status == 201, body
    assert body["ticket"].startswith("TK-") and body["status"] == "open" and body["level"] == "agent"
    assert body["owner"] == "Agent_N" and body["customer"] == "Meera Iyer" and body["overdue"] is False
    assert body["customer_mobile"] == "+91 98xxxxxx78"  # agents see it masked
    assert [e["action"] for e in body["events"]] == ["created"]
    assert (await call(app, "GET", "/api/v1/notifications", "manager_n"))[0] == 403
    status, outbox = await call(app, "GET", f"/api/v1/notifications?entity=complaint&entity_id={body['id']}",
                                "admin")
    (sms,) = outbox["notifications"]
    assert (sms["channel"], sms["recipient"], sms["status"]) == ("sms", MOBILE, "pending")
    assert body["ticket"] in sms["body"] and sms["attempt_log"] == []
    status, seen = await call(app, "GET", f"/api/v1/complaints/{body['id']}", "manager_n")
    assert status == 200 and seen["customer_mobile"] == MOBILE


async def test_scope_and_validation_of_the_api(app):
    assert (await file(app, who="exec2"))[1]["error"] == "customer_not_found"
    assert (await file(app, call_id=app.ids["other_call"]))[1]["error"] == "call_not_found"
    for fields, field in (({"priority": "panic"}, "priority"), ({"description": ""}, "description"),
                          ({"customer_id": "7"}, "customer_id"), ({"category_id": None}, "category_id")):
        status, body = await file(app, **fields)
        assert (status, body["error"], body["field"]) == (422, "invalid_complaint", field)
    status, body = await file(app, urgency="now")
    assert (status, body["error"]) == (422, "invalid_request")
    resp = await app.client.post("/api/v1/complaints", headers=app.headers("agent_n"), data=b"{nope")
    assert resp.status == 422
    _, mine = await file(app)
    _, theirs = await file(app, who="exec2", customer_id=app.ids["other"])
    for who, expected in (("agent_n", {mine["id"]}), ("lead_n", {mine["id"]}), ("exec2", {theirs["id"]}),
                          ("manager_n", {mine["id"], theirs["id"]}), ("manager_s", set()),
                          ("admin", {mine["id"], theirs["id"]})):
        listed = (await call(app, "GET", "/api/v1/complaints", who))[1]
        assert {c["id"] for c in listed["complaints"]} == expected, who
    for path in (f"/api/v1/complaints/{theirs['id']}", "/api/v1/complaints/999", "/api/v1/complaints/x1"):
        status, body = await call(app, "GET", path, "agent_n")
        assert (status, body["error"]) == (404, "complaint_not_found")
    status, body = await call(app, "PATCH", f"/api/v1/complaints/{theirs['id']}", "agent_n", {"comment": "hi"})
    assert status == 404


async def test_status_changes_filters_and_overdue(app, sessions):
    _, one = await file(app)
    _, two = await file(app)
    path = f"/api/v1/complaints/{one['id']}"
    status, body = await call(app, "PATCH", path, "agent_n", {"status": "resolved"})
    assert (status, body["field"]) == (422, "resolution")
    status, body = await call(app, "PATCH", path, "agent_n", {"status": "in_progress", "comment": "On it"})
    assert status == 200 and [e["action"] for e in body["events"]] == ["created", "commented", "in_progress"]
    status, body = await call(app, "PATCH", path, "lead_n", {"status": "resolved", "resolution": "Refunded"})
    assert (status, body["status"], body["resolution"]) == (200, "resolved", "Refunded")
    status, body = await call(app, "PATCH", path, "lead_n", {"status": "closed"})
    status, body = await call(app, "PATCH", path, "lead_n", {"status": "open"})
    assert (status, body["error"]) == (409, "invalid_status_change")
    status, body = await call(app, "PATCH", path, "lead_n", {"status": 3})
    assert status == 422
    async with sessions() as s, s.begin():  # the second one's SLA passed an hour ago
        await s.execute(update(Complaint).where(Complaint.id == two["id"])
                        .values(due_at=utcnow() - dt.timedelta(hours=1)))
    listed = lambda q: call(app, "GET", f"/api/v1/complaints{q}", "agent_n")  # noqa: E731
    assert [c["id"] for c in (await listed("?overdue=true"))[1]["complaints"]] == [two["id"]]
    assert (await listed("?overdue=true"))[1]["complaints"][0]["overdue"] is True
    assert [c["id"] for c in (await listed("?status=closed"))[1]["complaints"]] == [one["id"]]
    assert [c["id"] for c in (await listed("?status=active&level=agent"))[1]["complaints"]] == [two["id"]]
    assert (await listed("?level=boss"))[0] == 422 and (await listed("?status=lost"))[0] == 422
    assert (await listed("?overdue=maybe"))[0] == 422


async def test_the_pages(app, sessions):
    resp, html = await page(app, "GET", f"/customers/{app.ids['customer']}", "agent_n")
    assert resp.status == 200 and f'hx-get="/customers/{app.ids["customer"]}/complaints"' in html
    resp, html = await page(app, "GET", f"/customers/{app.ids['customer']}/complaints", "agent_n")
    assert resp.status == 200 and "New complaint" in html and 'name="category_id"' in html
    assert f'<option value="{app.ids["call"]}" selected>' in html  # the call of a few minutes ago
    assert (await page(app, "GET", f"/customers/{app.ids['other']}/complaints", "agent_n"))[0].status == 404
    form = {"customer_id": str(app.ids["customer"]), "call_id": app.ids["call"],
            "category_id": str(app.ids["category"]), "priority": "urgent", "description": "Wrong size"}
    resp, _ = await page(app, "POST", "/complaints", "agent_n", {**form, "description": " "})
    assert resp.status == 422
    resp, _ = await page(app, "POST", "/complaints", "agent_n", form)
    assert resp.status == 303
    complaint_path = resp.headers["Location"]
    resp, html = await page(app, "GET", complaint_path, "agent_n")
    async with sessions() as s:
        complaint = (await s.scalars(select(Complaint))).one()
    assert resp.status == 200 and complaint.ticket in html and "Wrong size" in html
    resp, html = await page(app, "POST", complaint_path, "agent_n", {"status": "resolved", "comment": ""})
    assert resp.status == 422 and "resolution note" in html
    resp, _ = await page(app, "POST", complaint_path, "agent_n", {"status": "in_progress", "comment": "Called"})
    assert resp.status == 303
    resp, html = await page(app, "GET", complaint_path, "agent_n")
    assert "Called" in html and "in progress" in html
    async with sessions() as s, s.begin():
        await s.execute(update(Complaint).values(due_at=utcnow() - dt.timedelta(minutes=1)))
    resp, html = await page(app, "GET", "/complaints", "agent_n")
    assert resp.status == 200 and complaint.ticket in html and 'class="overdue priority-urgent"' in html
    assert ">overdue<" in html
    resp, html = await page(app, "GET", "/complaints?status=closed", "agent_n")
    assert complaint.ticket not in html
    assert (await page(app, "GET", complaint_path, "exec2"))[0].status == 404
    assert (await page(app, "GET", "/admin/complaint-categories", "manager_n"))[0].status == 403
    resp, _ = await page(app, "POST", "/admin/complaint-categories", "admin",
                         {"code": "billing", "name": "Billing", "sla_hours": "12"})
    assert resp.status == 303
    resp, html = await page(app, "GET", "/admin/complaint-categories", "admin")
    assert "billing" in html and 'value="12"' in html


class FakeHub:
    def __init__(self):
        self.published = []

    async def publish(self, event, user_ids=None, **_):
        self.published.append((event, user_ids))


async def test_an_escalation_reaches_the_new_owners_panel(app, sessions):
    _, body = await file(app)
    services = app.services
    hub = FakeHub()
    later = utcnow() + dt.timedelta(hours=3)
    (step,) = await EscalationLoop(sessions, services.settings, clock=lambda: later).tick()
    assert (step.to_level, step.owner_id) == ("teamlead", app.rows["lead_n"])
    d = Dispatcher(services.settings.notifications, sessions, push=panel_push(sessions, hub), clock=lambda: later)
    assert (await d.tick()).get("sent") == 3  # the customer's SMS, the team lead, the agent
    (event, users), *_ = [p for p in hub.published if p[1] == [app.rows["lead_n"]]]
    assert event["type"] == "reminder" and body["ticket"] in event["title"]
    assert event["url"] == f"/complaints/{body['id']}"
    assert any(users == [app.rows["agent_n"]] for _, users in hub.published)
    async with sessions() as s:
        assert {n.status for n in (await s.scalars(select(Notification))).all()} == {"sent"}
    await d.close()
