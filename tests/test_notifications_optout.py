"""Opting out of promotional messages: the SMS gateway forwards a customer's
STOP / START reply (POST /api/v1/sms/replies, a service token), staff flip the
360's "No promotional messages" switch, every change is audited, and
``may_send`` lets service messages through but no promotion to an opted-out
customer, and nothing to an erased one (tests/light_app.py: no PBX)."""
import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from callcenter.auth.tokens import create_token
from callcenter.customers.models import Customer
from callcenter.models import AuditEntry, User
from callcenter.notifications.optout import may_send
from callcenter.org.models import Store
from tests import factories as f
from tests.light_app import page, running_light_app

MOBILE = "+919812345678"


@pytest.fixture
async def app(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        async with sessions() as s, s.begin():
            cust = await f.customer(s, MOBILE, "Meera Iyer", store=await s.get(Store, app.rows["s1"]))
            camp = await f.campaign(s, "Offers")
            await f.work_item(s, camp, cust, await s.get(User, app.rows["exec1"]))
            app.tokens["gateway"] = await create_token(s, "sms-gateway", role="teamlead", actor="test")
        app.customer_id = cust.id
        yield app


async def customer(sessions, customer_id):
    async with sessions() as s:
        return await s.get(Customer, customer_id)


async def opt_out_audit(sessions):
    async with sessions() as s:
        rows = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "customer.messages_opt_out")
                                .order_by(AuditEntry.id))).all()
    return [(r.actor, r.entity_id, r.details["opted_out"], r.details["source"]) for r in rows]


async def reply(app, who="gateway", **kwargs):
    resp = await app.client.post("/api/v1/sms/replies", headers=app.headers(who), **kwargs)
    return resp.status, await resp.json()


async def test_a_stop_reply_opts_out_and_start_opts_back_in(app, sessions):
    cid = str(app.customer_id)
    assert await reply(app, json={"from": "919812345678", "text": "stop please"}) == (200, {"action": "opted_out"})
    c = await customer(sessions, app.customer_id)
    assert c.messages_opt_out_at is not None and c.messages_opt_out_source == "stop"
    assert await reply(app, data={"from": MOBILE, "text": "STOP ALL"}) == (200, {"action": "unchanged"})
    assert await reply(app, data={"from": MOBILE, "text": "Start"}) == (200, {"action": "opted_in"})
    c = await customer(sessions, app.customer_id)
    assert c.messages_opt_out_at is None and c.messages_opt_out_source is None
    assert await reply(app, data={"from": "+91 98123 45678", "text": "बंद"}) == (200, {"action": "opted_out"})
    assert await reply(app, json={"from": 919812345678, "text": "UNSUBSCRIBE."}) == (200, {"action": "unchanged"})
    assert await opt_out_audit(sessions) == [("token:sms-gateway", cid, True, "stop"),
                                             ("token:sms-gateway", cid, False, "stop"),
                                             ("token:sms-gateway", cid, True, "stop")]


async def test_unknown_numbers_and_other_texts_are_answered_200_and_change_nothing(app, sessions):
    assert await reply(app, json={"from": "+919800000001", "text": "STOP"}) == (200, {"action": "ignored"})
    assert await reply(app, json={"from": MOBILE, "text": "please stop calling"}) == (200, {"action": "ignored"})
    assert await reply(app, json={"from": "not a number", "text": "STOP"}) == (200, {"action": "ignored"})
    assert (await customer(sessions, app.customer_id)).messages_opt_out_at is None
    assert await opt_out_audit(sessions) == []
    status, body = await reply(app, json={"text": "STOP"})
    assert status == 422 and body["error"] == "invalid_notification"
    assert (await reply(app, "exec1", json={"from": MOBILE, "text": "STOP"}))[0] == 403   # agents may not


async def test_the_360_switch_sets_and_clears_the_opt_out_for_who_may_see_the_customer(app, sessions):
    path = f"/customers/{app.customer_id}"
    resp, html = await page(app, "GET", path, "exec1")
    assert resp.status == 200 and "All messages" in html and 'name="opt_out" value="1"' in html
    resp, _ = await page(app, "POST", f"{path}/messages-opt-out", "exec1", {"opt_out": "1"})
    assert resp.status == 303 and resp.headers["Location"].startswith(path)
    c = await customer(sessions, app.customer_id)
    assert c.messages_opt_out_at is not None and c.messages_opt_out_source == "staff"
    resp, html = await page(app, "GET", path, "exec1")
    assert "No promotional messages" in html and "marked by staff" in html and 'value="0"' in html
    resp, _ = await page(app, "POST", f"{path}/messages-opt-out", "manager_n", {"opt_out": "0"})
    assert resp.status == 303 and (await customer(sessions, app.customer_id)).messages_opt_out_at is None
    resp, _ = await page(app, "POST", f"{path}/messages-opt-out", "exec3", {"opt_out": "1"})  # not theirs
    assert resp.status == 404
    resp, _ = await page(app, "POST", f"{path}/messages-opt-out", "exec1", {"opt_out": "yes"})
    assert resp.status == 422
    assert (await customer(sessions, app.customer_id)).messages_opt_out_at is None
    cid = str(app.customer_id)
    assert await opt_out_audit(sessions) == [("exec1", cid, True, "staff"), ("manager_n", cid, False, "staff")]


def test_may_send():
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    everyone = SimpleNamespace(erased_at=None, messages_opt_out_at=None)
    opted_out = SimpleNamespace(erased_at=None, messages_opt_out_at=now)
    erased = SimpleNamespace(erased_at=now, messages_opt_out_at=None)
    assert may_send(everyone, "promotional") and may_send(everyone, "service")
    assert not may_send(opted_out, "promotional") and may_send(opted_out, "service")
    assert not may_send(erased, "service") and not may_send(erased, "promotional")
    with pytest.raises(ValueError):
        may_send(everyone, "marketing")
