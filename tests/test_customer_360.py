"""The customer 360 (service, JSON API and page) and the disposition form of
the page, through the real middleware and routes (no PBX: tests/light_app.py).
Scope: nobody opens a customer, work item or history outside their place in
the hierarchy; mobiles are masked for agents; every view is audited."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import DndNumber
from callcenter.models import AuditEntry, Call, Recording, Trunk
from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem
from tests import factories as f
from tests.light_app import light_app

NOW = dt.datetime.now(dt.timezone.utc)
MOBILE = "+919812345678"


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    r = app.rows
    async with sessions() as s, s.begin():
        trunk = await f.trunk(s)
        camp = await f.campaign(s, "Birthdays", type="new_walkin_survey")
        camp.location_id = r["north"]
        from callcenter.org.models import Store
        from callcenter.models import User
        store1 = await s.get(Store, r["s1"])
        exec1, exec2 = await s.get(User, r["exec1"]), await s.get(User, r["exec2"])
        cust = await f.customer(s, MOBILE, "Meera Iyer", store=store1,
                                data={"last_purchase": "Gold chain, 12 g", "loyalty_tier": "Platinum"})
        item = await f.work_item(s, camp, cust, exec1, bucket="non_contact", attempts=1)
        other_cust = await f.customer(s, store=store1)
        other_item = await f.work_item(s, camp, other_cust, exec2)
        mine, theirs = uuid.uuid4().hex, uuid.uuid4().hex
        for call_id, agent, linked in ((mine, exec1, True), (theirs, exec2, False)):
            s.add(Call(id=call_id, agent_id=agent.id, requested_by=agent.name, mode="desktop", number=MOBILE,
                       trunk_id=trunk.id, caller_id="8062247000", channels=1, state="ended",
                       requested_at=NOW - dt.timedelta(hours=2), ended_at=NOW - dt.timedelta(hours=2),
                       talk_seconds=75.4, end_reason="completed",
                       work_item_id=item.id if linked else None, customer_id=cust.id if linked else None,
                       campaign_id=camp.id if linked else None, disposed_at=NOW if linked else None))
            await s.flush()
            rec = Recording(call_id=call_id, path=f"x/{call_id}.wav", size_bytes=10)
            s.add(rec)
            await s.flush()
            (await s.get(Call, call_id)).recording_id = rec.id
        d = Disposition(work_item_id=item.id, call_id=mine, agent_id=exec1.id, campaign_id=camp.id,
                        customer_id=cust.id, outcome="not_talked", reason="busy", bucket_after="non_contact",
                        answers={"talked": "no"}, remarks="call after 6")
        s.add(d)
        await s.flush()
        s.add(SurveyAnswer(source="agent", disposition_id=d.id, call_id=mine, customer_id=cust.id,
                           agent_id=exec1.id, campaign_id=camp.id, question="nps", score=9))
        s.add(Appointment(work_item_id=item.id, customer_id=cust.id, agent_id=exec1.id, store_id=store1.id,
                          at=NOW + dt.timedelta(days=2), remarks="bridal"))
        app.ids = {"customer": cust.id, "item": item.id, "other_customer": other_cust.id,
                   "other_item": other_item.id, "mine": mine, "theirs": theirs, "campaign": camp.id}
    yield app
    await app.client.close()


def fieldset_tag(html, key):
    start = html.index(f'data-q="{key}"')
    return html[start:html.index(">", start)]


async def get_json(app, path, who):
    resp = await app.client.get(path, headers=app.headers(who))
    return resp.status, await resp.json()


async def test_an_agent_sees_their_customers_360_masked_and_audited(app, sessions):
    status, view = await get_json(app, f"/api/v1/customers/{app.ids['customer']}", "exec1")
    assert status == 200, view
    c = view["customer"]
    assert c["name"] == "Meera Iyer" and c["mobile"] != MOBILE and c["mobile"].endswith("78") and c["mobile_masked"]
    assert view["store"]["code"] == "DEL01"
    assert view["data"] == {"last_purchase": "Gold chain, 12 g", "loyalty_tier": "Platinum"}
    assert [(i["id"], i["bucket"], i["attempts"]) for i in view["work_items"]] == [(app.ids["item"], "non_contact", 1)]
    # only their own call: the other executive's call to the same number is not theirs to see
    assert [call["id"] for call in view["calls"]] == [app.ids["mine"]]
    call = view["calls"][0]
    assert call["recording_url"] == f"/api/v1/calls/{app.ids['mine']}/recording"
    assert call["talk_seconds"] == 75.4 and "x" in call["number"]
    assert (call["disposition"]["outcome"], call["disposition"]["reason"], call["disposition"]["remarks"]) == (
        "not_talked", "busy", "call after 6")
    assert [a["remarks"] for a in view["appointments"]] == ["bridal"]
    assert [(s["question"], s["score"]) for s in view["survey_answers"]] == [("nps", 9)]
    async with sessions() as s:
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "customer.view"))).scalar_one()
    assert (entry.entity_id, entry.actor) == (str(app.ids["customer"]), "exec1")


async def test_a_manager_sees_the_location_unmasked_with_every_call(app):
    status, view = await get_json(app, f"/api/v1/customers/{app.ids['customer']}", "manager_n")
    assert status == 200
    assert view["customer"]["mobile"] == MOBILE and not view["customer"]["mobile_masked"]
    assert {c["id"] for c in view["calls"]} == {app.ids["mine"], app.ids["theirs"]}
    assert all(c["recording_url"] for c in view["calls"])


@pytest.mark.parametrize("who", ["exec2", "exec3", "manager_s", "lead_n"])
async def test_outside_the_scope_a_customer_is_not_found(app, who):
    status, error = await get_json(app, f"/api/v1/customers/{app.ids['customer']}", who)
    assert status == 404 and error["error"] == "customer_not_found"
    resp = await app.client.get(f"/customers/{app.ids['customer']}", headers=app.headers(who))
    assert resp.status == 404


async def test_unknown_and_malformed_ids_are_not_found(app):
    assert (await get_json(app, "/api/v1/customers/999999", "admin"))[0] == 404
    assert (await get_json(app, "/api/v1/customers/abc", "admin"))[0] == 404


async def test_an_agent_cannot_open_or_dispose_another_agents_work_item(app):
    resp = await app.client.get(f"/customers/{app.ids['customer']}?item={app.ids['other_item']}",
                                headers=app.headers("exec1"))
    assert resp.status == 404
    resp = await app.client.post(f"/api/v1/work/{app.ids['other_item']}/dispositions", headers=app.headers("exec1"),
                                 json={"answers": {"talked": "no", "not_talked_reason": "busy"}})
    assert resp.status == 404 and (await resp.json())["error"] == "work_item_not_found"
    resp = await app.client.post(f"/work/{app.ids['other_item']}/disposition", headers=app.headers("exec1"),
                                 data={"a.talked": "no", "a.not_talked_reason": "busy"})
    assert resp.status == 404


async def test_the_page_shows_profile_history_recordings_and_the_form(app):
    resp = await app.client.get(f"/customers/{app.ids['customer']}", headers=app.headers("exec1"))
    assert resp.status == 200
    html = await resp.text()
    assert "Meera Iyer" in html and MOBILE not in html
    assert "Gold chain, 12 g" in html and "Platinum" in html
    assert f'<audio controls preload="none" src="/api/v1/calls/{app.ids["mine"]}/recording"></audio>' in html
    assert 'id="call-button"' in html and f'data-url="/api/v1/work/{app.ids["item"]}/call"' in html
    assert 'action="/work/%d/disposition"' % app.ids["item"] in html
    assert "hidden" not in fieldset_tag(html, "talked")
    assert "hidden disabled" in fieldset_tag(html, "sp_greeting")
    assert "<script>" not in html and 'src="/static/disposition.js"' in html  # no inline script (CSP)
    assert "call after 6" in html and "bridal" in html
    assert "1 call placed" in html  # the item's attempts, in words


async def test_a_dnd_customer_page_shows_it_and_disables_the_call_button(app, sessions):
    async with sessions() as s, s.begin():
        s.add(DndNumber(number=MOBILE, added_by="test"))
    html = await (await app.client.get(f"/customers/{app.ids['customer']}", headers=app.headers("exec1"))).text()
    assert "do-not-disturb" in html
    button = html[html.index('id="call-button"'):]
    assert button[:button.index(">")].rstrip().endswith("disabled")


async def test_the_form_post_saves_and_returns_to_the_buckets_with_a_message(app, sessions):
    when = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).astimezone(
        dt.timezone(dt.timedelta(hours=5, minutes=30))).strftime("%Y-%m-%dT%H:%M")
    form = {"a.talked": "yes", "a.wished": "call_later", "a.followup_at": when, "a.visit": "",
            "a.appointment_at": "", "remarks": "after Diwali", "call_id": ""}
    resp = await app.client.post(f"/work/{app.ids['item']}/disposition", data=form, headers=app.headers("exec1"),
                                 allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/"
    assert "Future%20follow-up" in resp.cookies["cc_flash"].value
    async with sessions() as s:
        item = await s.get(WorkItem, app.ids["item"])
    assert item.bucket == "future_followup"


async def test_a_refused_form_comes_back_with_the_errors_and_nothing_lost(app, sessions):
    form = {"a.talked": "yes", "a.wished": "call_later", "a.followup_at": "2020-01-01T10:00",
            "remarks": "asked for Sunday"}
    resp = await app.client.post(f"/work/{app.ids['item']}/disposition", data=form, headers=app.headers("exec1"),
                                 allow_redirects=False)
    assert resp.status == 422
    html = await resp.text()
    assert "must be in the future" in html and "asked for Sunday" in html
    assert 'value="2020-01-01T10:00"' in html
    assert 'id="disposition"' in html and 'id="disposition" hidden' not in html  # the form stays open
    # the branch taken is shown, the others stay hidden
    assert "hidden" not in fieldset_tag(html, "followup_at")
    assert "hidden" not in fieldset_tag(html, "wished")
    assert "hidden disabled" in fieldset_tag(html, "visit")
    async with sessions() as s:
        assert (await s.get(WorkItem, app.ids["item"])).bucket == "non_contact"


async def add_call(sessions, item_id, agent, state):
    call_id = uuid.uuid4().hex
    async with sessions() as s, s.begin():
        item = await s.get(WorkItem, item_id)
        s.add(Call(id=call_id, agent_id=item.agent_id, requested_by=agent, mode="desktop", number=MOBILE,
                   trunk_id=(await s.execute(select(Trunk.id))).scalar_one(), caller_id="8062247000",
                   channels=1, state=state, requested_at=NOW, work_item_id=item.id,
                   customer_id=item.customer_id, campaign_id=item.campaign_id,
                   ended_at=NOW if state == "ended" else None))
    return call_id


async def customer_html(app, who="exec1"):
    resp = await app.client.get(f"/customers/{app.ids['customer']}?item={app.ids['item']}",
                                headers=app.headers(who))
    assert resp.status == 200
    return await resp.text()


CALL_LESS = "Record a disposition without a call"


async def test_no_disposition_without_a_call_while_a_call_is_live_or_another_is_owed(app, sessions):
    assert CALL_LESS in await customer_html(app)
    # this item's call is live: no note without a call, the form waits for the end of the call
    live = await add_call(sessions, app.ids["item"], "exec1", "connected")
    html = await customer_html(app)
    assert CALL_LESS not in html and "A call with this customer is in progress" in html
    assert 'id="disposition" hidden' in html and 'data-owed-call=""' in html
    resp = await app.client.post(f"/work/{app.ids['item']}/disposition", headers=app.headers("exec1"),
                                 data={"a.talked": "no", "a.not_talked_reason": "busy", "call_id": ""},
                                 allow_redirects=False)
    assert resp.status == 409 and "still going on" in await resp.text()
    resp = await app.client.post(f"/api/v1/work/{app.ids['item']}/dispositions", headers=app.headers("exec1"),
                                 json={"answers": {"talked": "no", "not_talked_reason": "busy"}})
    assert resp.status == 409 and (await resp.json())["error"] == "call_not_ended"
    # it ended: the form opens with the call; still no note without a call
    async with sessions() as s, s.begin():
        call = await s.get(Call, live)
        call.state, call.ended_at = "ended", NOW
    html = await customer_html(app)
    assert CALL_LESS not in html and f'data-owed-call="{live}"' in html
    assert 'id="disposition" hidden' not in html
    # another customer's page while this disposition is owed: no note there either
    async with sessions() as s, s.begin():
        from callcenter.models import User
        from callcenter.org.models import Store
        exec1 = await s.get(User, app.rows["exec1"])
        cust = await f.customer(s, store=await s.get(Store, app.rows["s1"]))
        other = await f.work_item(s, await s.get(Campaign, app.ids["campaign"]), cust, exec1)
    resp = await app.client.get(f"/customers/{cust.id}?item={other.id}", headers=app.headers("exec1"))
    html = await resp.text()
    assert resp.status == 200 and "still needs its disposition" in html and CALL_LESS not in html


async def test_campaign_form_api_is_scoped(app):
    status, body = await get_json(app, f"/api/v1/campaigns/{app.ids['campaign']}/form", "exec1")
    assert status == 200 and body["form"]["start"] == ["talked"]
    status, _ = await get_json(app, f"/api/v1/campaigns/{app.ids['campaign']}/form", "exec3")
    assert status == 404
