"""Erasing a customer (right to erasure, DPDP Act 2023) through the JSON API
and the 360 page, on the real routes and middleware (tests/light_app.py):
the 360 shows a tombstone, calls stay counted in the reports with the number
masked, recordings leave the disk and their URL answers 404, work items are
closed, remarks and complaint texts cleared, the number goes on the DND list
(a later upload leaves it out), a ``customer.erased`` event and an audit entry
are written; only admins erase, twice is a 409, the page's form needs its
CSRF token (the last test, against the real server)."""
import datetime as dt
import io
import json
import uuid
import zoneinfo

import aiohttp
import pytest
from sqlalchemy import func, select

from callcenter.calls.recordings import recording_path
from callcenter.complaints.models import Complaint, ComplaintCategory, ComplaintEvent
from callcenter.customers import erasure_files
from callcenter.customers.feature import FEATURE as CUSTOMERS
from callcenter.customers.models import Customer, DndNumber, OwedDeletion
from callcenter.inbound.models import InboundCall
from callcenter.models import AuditEntry, Call, Event, Recording, User
from callcenter.org.models import Store
from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem
from tests import factories as f
from tests.browser import WebUser
from tests.light_app import call, light_app, page

NOW = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
MOBILE = "+919812345678"
OTHER = "+919800000099"


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    r = app.rows
    recordings = settings.pbx.recordings_dir
    async with sessions() as s, s.begin():
        trunk = await f.trunk(s)
        camp = await f.campaign(s, "Birthdays", type="new_walkin_survey")
        camp.location_id = r["north"]
        exec1 = await s.get(User, r["exec1"])
        store1 = await s.get(Store, r["s1"])
        cust = await f.customer(s, MOBILE, "Meera Iyer", store=store1, data={"loyalty_tier": "Platinum"})
        cust.email, cust.city, cust.birthday = "meera@example.com", "Delhi", dt.date(1990, 3, 5)
        cust.alternate_mobile = "+919812300000"
        item = await f.work_item(s, camp, cust, exec1, bucket="future_followup",
                                 followup_at=NOW + dt.timedelta(days=1))
        other = await f.customer(s, OTHER, "Ravi Kumar", store=store1)
        other_item = await f.work_item(s, camp, other, exec1, bucket="fresh")
        calls = {}
        for key, customer, work in (("call", cust, item), ("other_call", other, other_item)):
            call_id = uuid.uuid4().hex
            s.add(Call(id=call_id, agent_id=exec1.id, requested_by=exec1.name, mode="desktop",
                       number=customer.mobile, trunk_id=trunk.id, caller_id="8062247000", channels=1,
                       state="ended", requested_at=NOW, ended_at=NOW, customer_answered_at=NOW,
                       talk_seconds=61.0, end_reason="completed", work_item_id=work.id,
                       customer_id=customer.id, campaign_id=camp.id, disposed_at=NOW))
            await s.flush()
            relative = f"2026/{call_id}.wav"
            (recordings / "2026").mkdir(parents=True, exist_ok=True)
            (recordings / relative).write_bytes(b"RIFF....WAVE")
            rec = Recording(call_id=call_id, path=relative, size_bytes=12)
            s.add(rec)
            await s.flush()
            (await s.get(Call, call_id)).recording_id = rec.id
            calls[key], calls[key + "_file"] = call_id, recordings / relative
        d = Disposition(work_item_id=item.id, call_id=calls["call"], agent_id=exec1.id, campaign_id=camp.id,
                        customer_id=cust.id, outcome="call_later", bucket_after="future_followup",
                        answers={"talked": "yes", "alternate_number": "+919812311111", "x": "y"}, remarks="Meera asked to call after her daughter's wedding")
        s.add(d)
        await s.flush()
        s.add(SurveyAnswer(source="agent", disposition_id=d.id, call_id=calls["call"], customer_id=cust.id,
                           agent_id=exec1.id, campaign_id=camp.id, question="feedback", text="lovely staff"))
        s.add(Appointment(work_item_id=item.id, customer_id=cust.id, agent_id=exec1.id, store_id=store1.id,
                          at=NOW + dt.timedelta(days=2), remarks="bridal set for Meera"))
        category = ComplaintCategory(code="billing", name="Billing")
        s.add(category)
        await s.flush()
        complaint = Complaint(ticket="CMP-1", customer_id=cust.id, category_id=category.id,
                              description="Meera was overcharged at DEL01", due_at=NOW + dt.timedelta(days=1))
        s.add(complaint)
        await s.flush()
        s.add(ComplaintEvent(complaint_id=complaint.id, actor="exec1", action="created", note="angry"))
        s.add(InboundCall(id="in-1", did="8062247000", caller=MOBILE, customer_id=cust.id))
        app.ids = {"customer": cust.id, "other": other.id, "item": item.id, "other_item": other_item.id,
                   "campaign": camp.id, "complaint": complaint.id, **calls}
    yield app
    await app.client.close()


async def erase(app, who="admin", reason="DPDP request #42", customer=None):
    return await call(app, "POST", f"/api/v1/customers/{customer or app.ids['customer']}/erase", who,
                      {"reason": reason} if reason is not None else {})


async def played(sessions, settings, call_id):
    """The file GET /api/v1/calls/{id}/recording would play (None: 404)."""
    async with sessions() as s:
        row = await s.get(Call, call_id)
    return await recording_path(sessions, settings.pbx.recordings_dir, row)


async def exec1_attempts(app, settings) -> tuple[int, float]:
    day = NOW.astimezone(zoneinfo.ZoneInfo(settings.web.timezone)).date().isoformat()
    status, report = await call(app, "GET", f"/api/v1/reports/agents?date={day}", "admin")
    assert status == 200, report
    row = next(r for r in report["agents"] if r["agent"]["name"] == "exec1")
    return row["attempts"], row["talk_seconds"]


async def test_an_admin_erases_a_customer_through_the_api(app, sessions, settings):
    before = await exec1_attempts(app, settings)
    status, out = await erase(app)
    assert status == 200, out
    assert out["erased"] and out["calls_masked"] == 1 and out["recordings_deleted"] == 1
    assert out["work_items_closed"] == 1 and out["recordings_owed"] == 0

    status, view = await call(app, "GET", f"/api/v1/customers/{app.ids['customer']}", "admin")
    assert status == 200
    c = view["customer"]
    assert c["name"] == f"Erased customer #{app.ids['customer']}" and c["erased"]
    assert (c["mobile"], c["alternate_mobile"], c["email"], c["city"], c["birthday"]) == (None,) * 5
    assert view["data"] == {}
    assert "Meera" not in json.dumps(view) and "5678" not in json.dumps(view["customer"])
    assert [(i["bucket"]) for i in view["work_items"]] == ["closed"]
    assert [(x["id"], x["recording_url"], x["number"]) for x in view["calls"]] == [
        (app.ids["call"], None, "xxxxxx5678")]
    assert [a["status"] for a in view["appointments"]] == ["cancelled"]
    assert all(not a["remarks"] for a in view["appointments"])

    # the calls still count; the recording left the disk and has no path to play (the URL's 404:
    # the last test, on the real server)
    assert await exec1_attempts(app, settings) == before
    assert not app.ids["call_file"].exists() and app.ids["other_call_file"].exists()
    assert await played(sessions, settings, app.ids["call"]) is None
    assert await played(sessions, settings, app.ids["other_call"]) == app.ids["other_call_file"].resolve()

    async with sessions() as s:
        d = (await s.scalars(select(Disposition))).one()
        assert d.remarks == "" and d.outcome == "call_later" and d.answers == {"talked": "yes"}
        assert (await s.scalars(select(SurveyAnswer.text))).all() == [None]
        complaint = await s.get(Complaint, app.ids["complaint"])
        assert "Meera" not in complaint.description and complaint.status == "closed"
        assert (await s.scalars(select(ComplaintEvent.note))).all() == [""]
        assert (await s.get(InboundCall, "in-1")).caller == "xxxxxx5678"
        assert await s.scalar(select(func.count()).select_from(Recording)) == 1
        dnd = {n.number: n.source for n in (await s.scalars(select(DndNumber))).all()}
        assert dnd == {MOBILE: "erasure", "+919812300000": "erasure"}
        event = (await s.scalars(select(Event).where(Event.kind == "customer.erased"))).one()
        assert event.entity_id == str(app.ids["customer"])
        assert event.payload["customer_id"] == app.ids["customer"] and event.payload["by"] == "admin"
        assert event.payload["reason_given"] is True and dt.datetime.fromisoformat(event.payload["erased_at"])
        entry = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erase"))).one()
        assert entry.actor == "admin" and entry.details["reason"] == "DPDP request #42"
        assert MOBILE not in json.dumps(entry.details) and "Meera" not in json.dumps(entry.details)
        assert not (await s.scalars(select(AuditEntry).where(AuditEntry.action == "dnd.add"))).all()
        # the other customer is untouched
        other = await s.get(Customer, app.ids["other"])
        assert (other.name, other.mobile, other.erased_at) == ("Ravi Kumar", OTHER, None)
        assert (await s.get(WorkItem, app.ids["other_item"])).bucket == "fresh"
        assert (await s.get(Call, app.ids["other_call"])).number == OTHER


async def test_the_old_number_finds_nothing_and_the_erased_work_cannot_be_called(app):
    status, found = await call(app, "GET", "/api/v1/buckets/future_followup?q=5678", "exec1")
    assert status == 200 and found["total"] == 1
    await erase(app)
    for bucket in ("future_followup", "fresh", "pending_followup", "non_contact", "appointment"):
        status, found = await call(app, "GET", f"/api/v1/buckets/{bucket}?q=5678", "exec1")
        assert status == 200 and found["total"] == 0, (bucket, found)
        status, found = await call(app, "GET", f"/api/v1/buckets/{bucket}?q=Meera", "exec1")
        assert found["total"] == 0
    status, out = await call(app, "POST", f"/api/v1/work/{app.ids['item']}/call", "exec1", {})
    assert status == 409 and out["error"] == "work_item_closed"
    status, out = await call(app, "GET", "/api/v1/dnd/%2B919812345678", "manager_n")
    assert out["dnd"] is True


async def test_an_upload_with_the_erased_number_leaves_it_out_as_dnd(app, sessions):
    await erase(app)
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"Mobile,Customer Name,Store Code\n98123 45678,Meera Iyer,DEL01\n"),
                   filename="again.csv", content_type="text/csv")
    resp = await app.client.post(f"/api/v1/campaigns/{app.ids['campaign']}/uploads", data=form,
                                 headers=app.headers("manager_n"))
    out = await resp.json()
    assert resp.status == 201, out
    assert (out["total"], out["dnd"], out["to_commit"], out["new"]) == (1, 1, 0, 0)
    async with sessions() as s:
        assert (await s.scalars(select(Customer.name).where(Customer.name.like("%Meera%")))).all() == []


@pytest.mark.parametrize("who", ["manager_n", "lead_n", "exec1"])
async def test_only_an_admin_erases(app, sessions, who):
    status, out = await erase(app, who=who)
    assert status == 403, out
    resp, html = await page(app, "POST", f"/customers/{app.ids['customer']}/erase", who,
                            {"reason": "x", "confirm": "5678"})
    assert resp.status == 403
    resp, html = await page(app, "GET", f"/customers/{app.ids['customer']}", "manager_n")
    assert resp.status == 200 and 'action="/customers/%d/erase"' % app.ids["customer"] not in html
    async with sessions() as s:
        assert (await s.get(Customer, app.ids["customer"])).name == "Meera Iyer"
    assert app.ids["call_file"].exists()


async def test_erasing_twice_is_a_clear_conflict_and_bad_requests_change_nothing(app, sessions):
    status, out = await erase(app, reason="  ")
    assert status == 422 and out["error"] == "invalid_erasure" and "reason" in out["message"]
    status, out = await erase(app, reason=None)
    assert status == 422 and out["error"] == "invalid_erasure"
    status, out = await call(app, "POST", f"/api/v1/customers/{app.ids['customer']}/erase", "admin",
                             {"reason": "ok", "mobile": MOBILE})
    assert status == 422 and out["error"] == "invalid_erasure"
    assert (await erase(app, customer=999999))[0] == 404
    async with sessions() as s:
        assert (await s.get(Customer, app.ids["customer"])).erased_at is None
    assert (await erase(app))[0] == 200
    status, out = await erase(app)
    assert status == 409 and out["error"] == "customer_already_erased"
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Event)) == 1


async def test_no_erasure_while_a_call_with_the_customer_is_in_progress(app, sessions):
    async with sessions() as s:
        live = await s.get(Call, app.ids["call"])
        live.state, live.ended_at, live.requested_at = "connected", None, dt.datetime.now(dt.timezone.utc)
        await s.commit()
    status, out = await erase(app)
    assert status == 409 and out["error"] == "customer_on_call"
    resp, html = await page(app, "POST", f"/customers/{app.ids['customer']}/erase", "admin",
                            {"reason": "DPDP request #8", "confirm": "5678"})
    assert resp.status == 409 and "in progress" in html
    async with sessions() as s:
        assert (await s.get(Customer, app.ids["customer"])).erased_at is None
        # a row a crash left unended blocks only as long as a call may last ([calls] max_call_seconds)
        (await s.get(Call, app.ids["call"])).requested_at = NOW - dt.timedelta(hours=5)
        await s.commit()
    assert (await erase(app))[0] == 200


async def test_the_360_page_erases_after_the_last_4_digits_are_typed(app, sessions):
    path = f"/customers/{app.ids['customer']}"
    resp, html = await page(app, "GET", path, "admin")
    assert resp.status == 200 and f'action="{path}/erase"' in html and 'name="confirm"' in html
    resp, html = await page(app, "POST", f"{path}/erase", "admin", {"reason": "DPDP request #7", "confirm": "1234"})
    assert resp.status == 422 and "last 4 digits" in html and 'value="DPDP request #7"' in html
    async with sessions() as s:
        assert (await s.get(Customer, app.ids["customer"])).erased_at is None
    resp, html = await page(app, "POST", f"{path}/erase", "admin", {"reason": "DPDP request #7", "confirm": "5678"})
    assert resp.status == 303 and resp.headers["Location"] == f"{path}?erased=1"
    resp, html = await page(app, "GET", f"{path}?erased=1", "admin")
    assert resp.status == 200
    assert f"Erased customer #{app.ids['customer']}" in html and "was erased" in html
    assert "Meera" not in html and MOBILE not in html and "Platinum" not in html
    assert f'action="{path}/erase"' not in html and "<audio" not in html
    resp, html = await page(app, "POST", f"{path}/erase", "admin", {"reason": "again", "confirm": "5678"})
    assert resp.status == 409 and "erased already" in html


async def test_a_recording_that_cannot_be_deleted_stays_owed_until_it_is(app, sessions, settings):
    stuck = app.ids["call_file"]
    stuck.unlink()
    stuck.mkdir()                      # a directory where the file was: unlink fails
    (stuck / "keep").write_bytes(b"x")
    status, out = await erase(app)
    assert status == 200 and (out["recordings_deleted"], out["recordings_owed"]) == (0, 1)
    assert await played(sessions, settings, app.ids["call"]) is None
    async with sessions() as s:
        owed = (await s.scalars(select(OwedDeletion))).one()
        assert owed.attempts == 1 and owed.last_error and str(app.ids["call"]) in owed.path
    assert await erasure_files.delete_owed(sessions, settings.pbx.recordings_dir) == (0, 1)
    (stuck / "keep").unlink()
    stuck.rmdir()
    stuck.write_bytes(b"RIFF")         # the file is back where the recording was
    assert await erasure_files.delete_owed(sessions, settings.pbx.recordings_dir) == (1, 0)
    assert not stuck.exists() and await erasure_files.owed_count(sessions) == 0


async def test_the_owed_deletions_are_retried_from_the_start_and_by_a_loop(settings, sessions):
    class Loops:
        def __init__(self):
            self.loops = []

        def every(self, name, interval, iteration, *, first=False, once=False):
            self.loops.append((name, interval, first, once, iteration))
    loops = Loops()
    await CUSTOMERS.start(settings=settings, sessions=sessions, loops=loops)
    [(name, interval, first, once, iteration)] = loops.loops
    assert name == "erasure.owed_deletions" and first and interval <= 600
    assert once is True  # one server of the system deletes (callcenter/ownership/duties.py)
    path = settings.pbx.recordings_dir / "owed.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    async with sessions() as s:
        s.add(OwedDeletion(path="owed.wav"))
        s.add(OwedDeletion(path="../outside.wav"))  # never followed out of the folder
        await s.commit()
    await iteration()
    assert not path.exists() and await erasure_files.owed_count(sessions) == 0


ANITA = WebUser("anita", "admin", password="anita-password-1")


@pytest.mark.pbx
async def test_the_erase_form_needs_its_csrf_token_and_the_recording_url_then_answers_404(web_server, web_client):
    server = await web_server(users=[ANITA])
    settings = server.services.settings
    async with server.services.sessions() as s:
        customer_id = (await f.customer(s, MOBILE, "Meera Iyer")).id
        trunk = await f.trunk(s, "erasure-trunk")
        call_id = uuid.uuid4().hex
        s.add(Call(id=call_id, agent_id=server.user_ids["anita"], requested_by="anita", mode="desktop",
                   number=MOBILE, trunk_id=trunk.id, caller_id="8062247000", channels=1, state="ended",
                   requested_at=NOW, ended_at=NOW, talk_seconds=5.0, customer_id=customer_id))
        await s.flush()
        recording = settings.pbx.recordings_dir / "erasure" / f"{call_id}.wav"
        recording.parent.mkdir(parents=True, exist_ok=True)
        recording.write_bytes(b"RIFF....WAVE")
        row = Recording(call_id=call_id, path=f"erasure/{call_id}.wav", size_bytes=12)
        s.add(row)
        await s.flush()
        (await s.get(Call, call_id)).recording_id = row.id
        await s.commit()
    browser = web_client(server)
    await browser.login(ANITA.name, ANITA.password)
    assert (await browser.get(f"/api/v1/calls/{call_id}/recording")).status == 200
    resp = await browser.get(f"/customers/{customer_id}")
    assert resp.status == 200 and browser.csrf
    form = {"reason": "DPDP request #9", "confirm": "5678"}
    for token in (None, "not-the-token"):
        data = dict(form, **({"_csrf": token} if token else {}))
        resp = await browser.post(f"/customers/{customer_id}/erase", data, csrf=False)
        assert resp.status == 403 and "csrf_failed" in await resp.text()
    async with server.services.sessions() as s:
        assert (await s.get(Customer, customer_id)).erased_at is None
    resp = await browser.post(f"/customers/{customer_id}/erase", form)
    assert resp.status == 303
    async with server.services.sessions() as s:
        assert (await s.get(Customer, customer_id)).erased_at is not None
    assert not recording.exists()
    resp = await browser.get(f"/api/v1/calls/{call_id}/recording")
    assert resp.status == 404 and (await resp.json())["error"] == "recording_not_found"
