"""A customer's messages as events (complaints) and on their 360: the filed
complaint's SMS and e-mail, the escalation's e-mail to the new owner (once,
even when the pass runs again), the 360's history with state, attempts and
the last error (numbers masked per role), and re-sending one message once
(a second quick re-send is refused, the re-send is audited, an agent who
may not open the customer gets 404)."""
import datetime as dt
import zoneinfo
from urllib.parse import unquote

import pytest
from sqlalchemy import select, update

from callcenter.complaints.escalation import EscalationLoop
from callcenter.models import AuditEntry, User, utcnow
from callcenter.notifications import history
from callcenter.notifications.exceptions import ResendRefused
from callcenter.notifications.models import Notification, NotificationAttempt
from callcenter.org.scope import load_scope
from callcenter.auth.tokens import Principal
from tests import factories as f
from tests.event_texts import add_event_texts
from tests.light_app import call, light_app, page

MOBILE = "+919812345678"


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    async with sessions() as s, s.begin():
        await add_event_texts(s)
        agent_n, exec2 = await s.get(User, app.rows["agent_n"]), await s.get(User, app.rows["exec2"])
        (await s.get(User, app.rows["lead_n"])).email = "lead@example.org"
        camp = await f.campaign(s, "Walk-ins")
        meera = await f.customer(s, MOBILE, "Meera Iyer")
        meera.email = "meera@example.com"
        await f.work_item(s, camp, meera, agent_n)
        await f.work_item(s, camp, await f.customer(s, "+919812345679", "Ravi"), exec2)
    app.ids = {"customer": meera.id}
    status, cat = await call(app, "POST", "/api/v1/complaint-categories", "admin",
                             {"code": "delivery", "name": "Late delivery", "sla_hours": 2})
    assert status == 201
    status, complaint = await call(app, "POST", "/api/v1/complaints", "agent_n", {
        "customer_id": meera.id, "category_id": cat["id"], "description": "Ring delivered late"})
    assert status == 201, complaint
    app.ids["complaint"] = complaint["id"]
    app.ticket = complaint["ticket"]
    yield app
    await app.client.close()


async def messages(sessions, **where):
    async with sessions() as s:
        return (await s.scalars(select(Notification).filter_by(**where).order_by(Notification.id))).all()


async def test_a_filed_complaint_texts_and_emails_the_customer(app, sessions):
    told = await messages(sessions, event="complaint.filed")
    assert sorted((n.channel, n.recipient) for n in told) == [("email", "meera@example.com"), ("sms", MOBILE)]
    assert all(app.ticket in n.body and n.customer_id == app.ids["customer"] for n in told)
    assert app.ticket in next(n for n in told if n.channel == "email").subject


async def test_an_escalation_emails_the_new_owner_once(app, sessions):
    later = utcnow() + dt.timedelta(hours=3)
    loop = EscalationLoop(sessions, app.services.settings, clock=lambda: later)
    (step,) = await loop.tick()
    assert step.owner_id == app.rows["lead_n"]
    assert await loop.tick() == []      # the pass again (a retry, a second server): nothing more
    told = await messages(sessions, event="complaint.escalated")
    assert sorted((n.channel, n.recipient) for n in told) == [("email", "lead@example.org"),
                                                              ("log", "user:lead_n")]
    email = next(n for n in told if n.channel == "email")
    assert app.ticket in email.subject and "Ring delivered late" in email.body and email.customer_id is None


async def test_the_360_lists_the_messages_and_one_is_sent_again_once(app, sessions):
    sms, mail = await messages(sessions, event="complaint.filed")
    sms, mail = (sms, mail) if sms.channel == "sms" else (mail, sms)
    async with sessions() as s, s.begin():
        await s.execute(update(Notification).where(Notification.id == sms.id).values(status="failed", attempts=2))
        await s.execute(update(Notification).where(Notification.id == mail.id).values(status="sent", attempts=1))
        s.add_all([NotificationAttempt(notification_id=sms.id, provider="http_sms", ok=False, error="HTTP 500"),
                   NotificationAttempt(notification_id=sms.id, provider="http_sms", ok=False,
                                       error="number barred")])
    status, body = await call(app, "GET", f"/api/v1/customers/{app.ids['customer']}/messages", "agent_n")
    assert status == 200
    listed = {m["channel"]: m for m in body["messages"]}
    assert [m["id"] for m in body["messages"]] == sorted([sms.id, mail.id], reverse=True)   # newest first
    assert (listed["sms"]["recipient"], listed["sms"]["status"], listed["sms"]["attempts"],
            listed["sms"]["last_error"]) == ("+91 98xxxxxx78", "failed", 2, "number barred")
    assert listed["sms"]["title"].startswith("Complaint registered") and app.ticket in listed["sms"]["body"]
    assert (listed["email"]["status"], listed["email"]["last_error"]) == ("sent", "")
    _, lead_view = await call(app, "GET", f"/api/v1/customers/{app.ids['customer']}/messages", "lead_n")
    assert {m["recipient"] for m in lead_view["messages"]} == {MOBILE, "meera@example.com"}
    resp, html = await page(app, "GET", f"/customers/{app.ids['customer']}/messages", "agent_n")
    assert resp.status == 200 and "number barred" in html and "+91 98xxxxxx78" in html and MOBILE not in html
    assert html.count('class="resend"') == 2

    for who in ("exec2",):    # an agent who may not open the customer
        status, body = await call(app, "GET", f"/api/v1/customers/{app.ids['customer']}/messages", who)
        assert (status, body["error"]) == (404, "customer_not_found")
        status, body = await call(app, "POST", f"/api/v1/notifications/{sms.id}/resend", who)
        assert status == 404
    status, again = await call(app, "POST", f"/api/v1/notifications/{sms.id}/resend", "agent_n")
    assert status == 201 and (again["channel"], again["status"], again["resent_from_id"]) == ("sms", "pending",
                                                                                              sms.id)
    status, body = await call(app, "POST", f"/api/v1/notifications/{sms.id}/resend", "agent_n")
    assert (status, body["error"]) == (409, "resend_refused")        # the double click
    copies = await messages(sessions, resent_from_id=sms.id)
    assert [(n.recipient, n.body, n.event, n.customer_id) for n in copies] == [
        (MOBILE, sms.body, "complaint.filed", app.ids["customer"])]
    async with sessions() as s:
        audit = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "notification.resend"))).one()
        assert (audit.actor, audit.entity, audit.entity_id, audit.details["notification_id"]) == (
            "agent_n", "customer", str(app.ids["customer"]), sms.id)
    # sent meanwhile: still not again within a minute of the re-send, then it may be
    async with sessions() as s, s.begin():
        await s.execute(update(Notification).where(Notification.id == copies[0].id).values(status="sent"))
        user = await s.get(User, app.rows["agent_n"])
        scope = await load_scope(s, Principal(user.name, user.role, user.id))
        with pytest.raises(ResendRefused):
            await history.resend(s, scope, "agent_n", copies[0].id, now=utcnow() + dt.timedelta(seconds=30))
        later = await history.resend(s, scope, "agent_n", copies[0].id, now=utcnow() + dt.timedelta(seconds=61))
        assert later.resent_from_id == sms.id        # a re-send of a re-send names the first message


async def test_the_360s_resend_button_sends_once_and_says_so(app, sessions):
    (sms,) = await messages(sessions, event="complaint.filed", channel="sms")
    async with sessions() as s, s.begin():
        await s.execute(update(Notification).where(Notification.id == sms.id).values(status="sent"))
    path = f"/customers/{app.ids['customer']}/messages/{sms.id}/resend"
    resp, _ = await page(app, "POST", path, "agent_n", data={})
    assert resp.status == 303 and resp.headers["Location"] == f"/customers/{app.ids['customer']}#messages"
    assert "sent again" in unquote(resp.cookies["cc_flash"].value)
    resp, _ = await page(app, "POST", path, "agent_n", data={})
    assert resp.status == 303 and "Not sent again" in unquote(resp.cookies["cc_flash"].value)
    assert len(await messages(sessions, resent_from_id=sms.id)) == 1


async def test_an_sms_sent_again_in_the_quiet_hours_waits_for_the_morning(app, sessions):
    sms, mail = sorted(await messages(sessions, event="complaint.filed"), key=lambda n: n.channel != "sms")
    async with sessions() as s, s.begin():
        await s.execute(update(Notification).where(Notification.id.in_([sms.id, mail.id]))
                        .values(status="failed", attempts=3))
    settings = app.services.settings
    zone = zoneinfo.ZoneInfo(settings.web.timezone)
    local = utcnow().astimezone(zone)     # the quiet hours around this moment, whenever the test runs
    settings.notifications.quiet_from = f"{(local - dt.timedelta(hours=1)):%H:%M}"
    settings.notifications.quiet_until = f"{(local + dt.timedelta(hours=2)):%H:%M}"
    status, again = await call(app, "POST", f"/api/v1/notifications/{sms.id}/resend", "agent_n")
    assert status == 201
    status, mail_again = await call(app, "POST", f"/api/v1/notifications/{mail.id}/resend", "agent_n")
    assert status == 201
    async with sessions() as s:
        sms_row, mail_row = await s.get(Notification, again["id"]), await s.get(Notification, mail_again["id"])
    quiet_ends = local.replace(second=0, microsecond=0) + dt.timedelta(hours=2)
    assert sms_row.next_attempt_at.replace(tzinfo=dt.timezone.utc) == quiet_ends    # not in the night
    assert mail_row.next_attempt_at.replace(tzinfo=dt.timezone.utc) <= utcnow()     # an e-mail goes at once


async def test_a_long_history_comes_a_page_at_a_time(app, sessions):
    async with sessions() as s, s.begin():
        for n in range(150):
            row = Notification(channel="sms", recipient=MOBILE, subject="", body=f"offer {n}", status="sent",
                               attempts=1, next_attempt_at=utcnow(), customer_id=app.ids["customer"],
                               event="customer.birthday")
            s.add(row)
    path = f"/api/v1/customers/{app.ids['customer']}/messages"
    status, first = await call(app, "GET", path, "agent_n")
    assert status == 200 and len(first["messages"]) == 100 and first["messages"][0]["body"] == "offer 149"
    assert first["more"] is True
    status, rest = await call(app, "GET", f"{path}?before={first['messages'][-1]['id']}", "agent_n")
    assert status == 200 and rest["more"] is False
    everything = first["messages"] + rest["messages"]
    assert len(everything) == 152 and len({m["id"] for m in everything}) == 152   # 150 + the complaint's two
    resp, html = await page(app, "GET", f"/customers/{app.ids['customer']}/messages", "agent_n")
    assert f"messages?before={first['messages'][-1]['id']}" in html and "Older messages" in html
    resp, html = await page(app, "GET", f"/customers/{app.ids['customer']}/messages?before={everything[-1]['id']}",
                            "agent_n")
    assert resp.status == 200 and "Older messages" not in html
    status, body = await call(app, "GET", f"{path}?before=x", "agent_n")
    assert (status, body["field"]) == (422, "before")
