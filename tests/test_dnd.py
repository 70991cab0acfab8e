"""The DND list: is_dnd at dial time, adding by hand and by import (all or
nothing), removing (admins), and DND numbers left out of customer uploads."""
import io

import aiohttp
import pytest
from sqlalchemy import func, select

from callcenter.customers import dnd
from callcenter.customers.exceptions import DndInvalid
from callcenter.customers.models import DndNumber
from callcenter.models import AuditEntry
from tests import factories as f
from tests.light_app import running_light_app


@pytest.fixture
async def app(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


async def test_is_dnd_and_add_numbers(sessions):
    async with sessions() as session:
        assert await dnd.add_numbers(session, ["+919876543210", "+919876543210", "+441234567890"],
                                     "import", "test") == 2
        assert await dnd.add_numbers(session, ["+919876543210"], "manual", "test") == 0
        await session.commit()
        for asked in ("+919876543210", "098765 43210", "+91 98765-43210", "0091 9876543210"):
            assert await dnd.is_dnd(session, asked), asked
        for asked in ("+919876543211", "not a number", "", None, "9876543210;DROP"):
            assert not await dnd.is_dnd(session, asked), asked
        with pytest.raises(DndInvalid):
            await dnd.add_numbers(session, ["9876543210"], "import", "test")
        with pytest.raises(DndInvalid):
            await dnd.add_numbers(session, ["+919876543212"], "whim", "test")
        rows = (await session.execute(select(AuditEntry.action, AuditEntry.entity_id).order_by(AuditEntry.id))).all()
        assert rows == [("dnd.add", "+919876543210"), ("dnd.add", "+441234567890")]  # one per number


async def test_dnd_api_add_check_list_remove(app):
    h = app.headers("manager_n")
    resp = await app.client.post("/api/v1/dnd", json={"number": "98765 43210"}, headers=h)
    assert resp.status == 201 and await resp.json() == {"number": "+919876543210", "added": True}
    resp = await app.client.post("/api/v1/dnd", json={"number": "+91 98765 43210"}, headers=h)
    assert resp.status == 200 and (await resp.json())["added"] is False
    resp = await app.client.post("/api/v1/dnd", json={"number": "98765abcde"}, headers=h)
    assert resp.status == 422 and (await resp.json())["error"] == "invalid_dnd"
    resp = await app.client.get("/api/v1/dnd/098765%2043210", headers=h)
    assert (await resp.json())["dnd"] is True
    resp = await app.client.get("/api/v1/dnd/+919876543211", headers=h)
    assert (await resp.json())["dnd"] is False
    resp = await app.client.get("/api/v1/dnd?q=43210", headers=h)
    out = await resp.json()
    assert out["total"] == 1 and out["numbers"][0]["number"] == "+919876543210"
    assert out["numbers"][0]["source"] == "manual" and out["numbers"][0]["added_by"] == "manager_n"
    assert (await app.client.get("/api/v1/dnd", headers=app.headers("agent_n"))).status == 403
    resp = await app.client.delete("/api/v1/dnd/+919876543210", headers=h)
    assert resp.status == 403
    resp = await app.client.delete("/api/v1/dnd/+919876543210", headers=app.headers("admin"))
    assert resp.status == 200
    resp = await app.client.delete("/api/v1/dnd/+919876543210", headers=app.headers("admin"))
    assert resp.status == 404


async def post_file(app, data: bytes, name="dnd.csv", who="manager_n"):
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=name, content_type="text/csv")
    return await app.client.post("/api/v1/dnd/uploads", data=form, headers=app.headers(who))


async def count(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(DndNumber))


async def test_dnd_import_all_or_nothing(app, sessions):
    bad = b"Mobile Number\n98765 43210\n\n98765-4321X\n0 98765 43211\n98765 43210\n011 2345 6789\n"
    resp = await post_file(app, bad)
    out = await resp.json()
    assert resp.status == 201 and out["status"] == "rejected"
    assert [(r["row"], r["reason"]) for r in out["invalid_rows"]] == [
        (4, "'98765-4321X' holds letters: not a phone number")]
    assert [(r["row"], r["reason"]) for r in out["skipped_rows"]] == [
        (6, "the same number as row 2: skipped")]
    resp = await app.client.post(f"/api/v1/uploads/{out['id']}/commit", headers=app.headers("manager_n"))
    assert resp.status == 409 and await count(sessions) == 0

    good = bad.replace(b"98765-4321X\n", b"")
    out = await (await post_file(app, good)).json()
    assert out["status"] == "validated" and out["to_commit"] == 3   # a landline may be DND too
    resp = await app.client.post(f"/api/v1/uploads/{out['id']}/commit", headers=app.headers("manager_n"))
    assert resp.status == 200 and (await resp.json())["added"] == 3
    assert await count(sessions) == 3
    resp = await app.client.post(f"/api/v1/uploads/{out['id']}/commit", headers=app.headers("manager_n"))
    assert resp.status == 409 and (await resp.json())["reason"] == "committed"
    again = await (await post_file(app, good)).json()
    assert again["duplicates_existing"] == 3 and again["to_commit"] == 0
    assert (await post_file(app, good, who="lead_n")).status == 403


async def test_dnd_import_refuses_non_spreadsheets(app, settings):
    resp = await post_file(app, b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)), name="dnd.png")
    assert resp.status == 422 and (await resp.json())["error"] == "not_a_spreadsheet"
    resp = await post_file(app, b"Name\nAsha\n")
    assert resp.status == 422 and (await resp.json())["missing"] == ["mobile"]
    assert not settings.uploads_dir.exists() or not any(settings.uploads_dir.iterdir())


async def test_numbers_added_to_dnd_are_left_out_of_customer_uploads(app, sessions):
    async with sessions() as session:
        from callcenter.org.models import Location
        camp = await f.campaign(session, loc=await session.get(Location, app.rows["north"]))
        await session.commit()
        campaign_id = camp.id
    await app.client.post("/api/v1/dnd", json={"number": "98765 43211"}, headers=app.headers("admin"))
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"mobile,name\n98765 43210,A\n98765 43211,B\n"),
                   filename="c.csv", content_type="text/csv")
    out = await (await app.client.post(f"/api/v1/campaigns/{campaign_id}/uploads", data=form,
                                       headers=app.headers("manager_n"))).json()
    assert out["dnd"] == 1 and out["to_commit"] == 1
    assert out["skipped_rows"] == [{"row": 3, "status": "dnd", "reason": "on the DND list: excluded",
                                    "mobile": "+919876543211"}]
    # a number that joins the list between the check and the commit is left out too
    await app.client.post("/api/v1/dnd", json={"number": "98765 43210"}, headers=app.headers("admin"))
    result = await (await app.client.post(f"/api/v1/uploads/{out['id']}/commit",
                                          headers=app.headers("manager_n"))).json()
    assert result["created"] == 0 and result["dnd_since_validation"] == 1 and result["work_items"] == 0
