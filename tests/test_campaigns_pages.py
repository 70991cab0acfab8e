"""The campaign, upload and DND pages as a manager uses them: create a
campaign, edit its form (a broken form named, reset to the default), upload a
file, read its report, commit it with an allocation choice; the DND page."""
import datetime as dt
import io
import json

import aiohttp
import pytest
from sqlalchemy import func, select

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer, DndNumber
from callcenter.work.models import WorkItem
from tests.light_app import running_light_app

TODAY = dt.date.today()


@pytest.fixture
async def app(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


async def post_form(app, url, data, who="manager_n"):
    return await app.client.post(url, data=data, headers=app.headers(who), allow_redirects=False)


async def new_campaign(app, **extra):
    data = {"name": "Anniversaries", "type": "anniversary", "starts_on": TODAY.isoformat(),
            "expires_on": (TODAY + dt.timedelta(days=10)).isoformat(), "calling_mode": "agent",
            "retry_delay_minutes": "60", "max_attempts": "4", "status": "active", "custom_type": "",
            "trunk_id": "", **extra}
    return await post_form(app, "/campaigns/new", data)


async def test_create_edit_and_reset_a_campaign_in_the_browser(app, sessions):
    page = await app.client.get("/campaigns/new", headers=app.headers("manager_n"))
    assert page.status == 200 and 'name="starts_on"' in await page.text()
    resp = await new_campaign(app)
    assert resp.status == 303
    url = resp.headers["Location"].split("?")[0]
    page = await app.client.get(url + "?created=1", headers=app.headers("manager_n"))
    html = await page.text()
    assert page.status == 200 and "Anniversaries" in html and "Upload customers" in html
    assert "Reset the form to the default" in html

    async with sessions() as session:
        camp = (await session.scalars(select(Campaign))).one()
        assert (camp.retry_delay_minutes, camp.max_attempts, camp.location_id) == (60, 4, app.rows["north"])
        form = camp.form
    fields = {"name": "Anniversaries", "type": "anniversary", "starts_on": TODAY.isoformat(),
              "expires_on": (TODAY + dt.timedelta(days=20)).isoformat(), "calling_mode": "mobile",
              "retry_delay_minutes": "90", "max_attempts": "3", "status": "paused",
              "custom_type": "", "trunk_id": "", "current_type": "anniversary"}
    broken = dict(form, questions=[dict(form["questions"][0], kind="telepathy")] + form["questions"][1:])
    resp = await post_form(app, url, {**fields, "form": json.dumps(broken)})
    html = await resp.text()
    assert resp.status == 422 and "questions[0].kind" in html   # the place of the mistake
    resp = await post_form(app, url, {**fields, "form": "{not json"})
    assert resp.status == 422 and "not valid JSON" in await resp.text()
    form["questions"][0]["label"] = "Could you talk to them?"
    resp = await post_form(app, url, {**fields, "form": json.dumps(form)})
    assert resp.status == 303
    async with sessions() as session:
        camp = (await session.scalars(select(Campaign))).one()
        assert camp.status == "paused" and camp.calling_mode == "mobile"
        assert camp.form["questions"][0]["label"] == "Could you talk to them?"
    resp = await post_form(app, url, {**fields, "form": json.dumps(form), "reset_form": "1"})
    assert resp.status == 303 and "saved=form" in resp.headers["Location"]
    async with sessions() as session:
        camp = (await session.scalars(select(Campaign))).one()
        assert camp.form["questions"][0]["label"] != "Could you talk to them?"


async def test_campaign_list_for_each_role(app):
    await new_campaign(app)
    page = await app.client.get("/campaigns", headers=app.headers("manager_n"))
    assert "Anniversaries" in await page.text()
    page = await app.client.get("/campaigns", headers=app.headers("manager_s"))
    assert page.status == 200 and "Anniversaries" not in await page.text()
    page = await app.client.get("/campaigns", headers=app.headers("agent_n"))
    assert page.status == 200 and "New campaign" not in await page.text()
    assert (await app.client.get("/campaigns/new", headers=app.headers("lead_n"))).status == 403


async def test_upload_report_and_commit_through_the_pages(app, sessions):
    url = (await new_campaign(app)).headers["Location"].split("?")[0]
    campaign_id = int(url.rsplit("/", 1)[1])
    csv = ("Mobile,Name,Store Code,DOB\n"
           "98765 43210,Asha,DEL01,05/03/1990\n"
           "98765 43211,Ravi,DEL02,soon\n").encode()
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(csv), filename="march.csv", content_type="text/csv")
    resp = await post_form(app, f"/campaigns/{campaign_id}/uploads", form)
    assert resp.status == 303
    report = await app.client.get(resp.headers["Location"], headers=app.headers("manager_n"))
    html = await report.text()
    assert "validated" in html and "cannot read &#39;soon&#39; as a date" in html
    assert "Commit 1 valid row, skip 1" in html and "rejects.xlsx" in html
    first_url = resp.headers["Location"]
    resp = await post_form(app, first_url + "/commit", {"allocate": "none"})   # box not ticked
    assert resp.status == 409 and "tick the box" in await resp.text()
    async with sessions() as session:
        assert (await session.scalars(select(WorkItem))).all() == []

    good = csv.replace(b"soon", b"5 Mar 1990")
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(good), filename="march.csv", content_type="text/csv")
    resp = await post_form(app, f"/campaigns/{campaign_id}/uploads", form)
    upload_url = resp.headers["Location"]
    html = await (await app.client.get(upload_url, headers=app.headers("manager_n"))).text()
    assert 'value="store" checked' in html and "Commit 2 customers" in html
    resp = await post_form(app, upload_url + "/commit", {"allocate": "store"})
    assert resp.status == 303
    html = await (await app.client.get(resp.headers["Location"], headers=app.headers("manager_n"))).text()
    assert "2 new customers" in html and "2 allocated" in html
    async with sessions() as session:
        agents = (await session.scalars(select(WorkItem.agent_id).order_by(WorkItem.id))).all()
    assert agents == [app.rows["exec1"], app.rows["exec2"]]
    resp = await post_form(app, upload_url + "/commit", {"allocate": "none"})
    assert resp.status == 409 and "committed already" in await resp.text()
    listing = await app.client.get("/uploads", headers=app.headers("manager_n"))
    assert listing.status == 200 and (await listing.text()).count("march.csv") == 2
    resp = await post_form(app, first_url + "/commit", {"allocate": "none", "confirm_skip": "1"})
    html = await (await app.client.get(resp.headers["Location"], headers=app.headers("manager_n"))).text()
    assert "1 row committed" in html and "1 skipped" in html and "0 new customers, 1 updated" in html


async def test_a_refused_file_says_why_on_a_page(app):
    url = (await new_campaign(app)).headers["Location"].split("?")[0]
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"Name,City\nAsha,Delhi\n"), filename="x.csv", content_type="text/csv")
    resp = await post_form(app, url + "/uploads", form)
    html = await resp.text()
    assert resp.status == 422 and "missing column: mobile" in html and "Back to Anniversaries" in html


async def test_dnd_page_add_import_and_remove(app, sessions):
    page = await app.client.get("/dnd", headers=app.headers("manager_n"))
    assert page.status == 200 and "The list is empty" in await page.text()
    resp = await post_form(app, "/dnd/add", {"number": "098765 43299"})
    assert resp.status == 303 and "added=%2B919876543299" in resp.headers["Location"]
    resp = await post_form(app, "/dnd/add", {"number": "call me"})
    assert resp.status == 422 and "holds letters" in await resp.text()
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"Phone\n98765 43298\n+91 98765 43299\n"), filename="dnd.csv",
                   content_type="text/csv")
    resp = await post_form(app, "/dnd/import", form)
    assert resp.status == 303
    upload_url = resp.headers["Location"]
    html = await (await app.client.get(upload_url, headers=app.headers("manager_n"))).text()
    assert "listed already" in html and "Commit 1 numbers" in html
    resp = await post_form(app, upload_url + "/commit", {})
    assert resp.status == 303
    page = await app.client.get("/dnd?q=4329", headers=app.headers("manager_n"))
    html = await page.text()
    assert "+919876543298" in html and "+919876543299" in html and "Remove" not in html
    resp = await post_form(app, "/dnd/remove", {"number": "+919876543298"})
    assert resp.status == 403
    resp = await post_form(app, "/dnd/remove", {"number": "+919876543298"}, who="admin")
    assert resp.status == 303
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DndNumber)) == 1
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0
