"""Locations, stores and teams through the JSON API: who may change what,
clear 422/409 errors, the all-or-nothing store import, scope, audit."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from callcenter.models import AuditEntry, User
from callcenter.org.models import Location, Store, Team
from tests.light_app import running_light_app


@pytest.fixture
async def api(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


async def count(sessions, model, *where) -> int:
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def audit_actions(sessions) -> list[str]:
    async with sessions() as s:
        return list((await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all())


async def test_admin_creates_locations_with_clear_errors(api, sessions):
    post = lambda body: api.client.post("/api/v1/locations", json=body, headers=api.headers("admin"))
    resp = await post({"code": "east", "name": "East centre"})
    assert resp.status == 201
    body = await resp.json()
    assert body["code"] == "east" and body["name"] == "East centre"
    resp = await post({"code": "EAST", "name": "again"})
    assert resp.status == 409 and (await resp.json())["error"] == "location_exists"
    resp = await post({"code": "bad code!", "name": "x"})
    assert resp.status == 422 and (await resp.json())["error"] == "invalid_code"
    resp = await post({"code": "west"})
    assert resp.status == 422 and (await resp.json())["field"] == "name"
    resp = await post({"code": "west", "name": "W", "boss": "me"})
    assert resp.status == 422 and (await resp.json())["error"] == "invalid_request"
    # managers may not create locations
    resp = await api.client.post("/api/v1/locations", json={"code": "west", "name": "W"},
                                 headers=api.headers("manager_n"))
    assert resp.status == 403
    assert await count(sessions, Location) == 3
    assert "location.add" in await audit_actions(sessions)


async def test_store_errors(api, sessions):
    post = lambda body: api.client.post("/api/v1/stores", json=body, headers=api.headers("admin"))
    good = {"code": "CHE01", "name": "T Nagar", "city": "Chennai", "region": "south",
            "language": "ta", "location": "south"}
    resp = await post(good)
    assert resp.status == 201, await resp.text()
    store = await resp.json()
    assert store["language"] == "ta" and store["location_id"] == api.rows["south"]
    for change, status, error in [
        ({}, 409, "store_exists"),
        ({"code": "CHE02", "location": "nowhere"}, 422, "unknown_location"),
        ({"code": "CHE02", "language": "xx"}, 422, "invalid_language"),
        ({"code": "CHE02", "language": "Tamil Nadu"}, 422, "invalid_language"),
        ({"code": "CHE 02"}, 422, "invalid_code"),
        ({"code": "CHE02", "name": ""}, 422, "invalid_field"),
    ]:
        resp = await post({**good, **change})
        assert resp.status == status and (await resp.json())["error"] == error, change
    # a language name is read as its code
    resp = await post({**good, "code": "CHE03", "language": "Malayalam"})
    assert resp.status == 201 and (await resp.json())["language"] == "ml"
    assert await count(sessions, Store, Store.code.like("CHE%")) == 2


async def test_store_import_is_all_or_nothing(api, sessions):
    rows = [{"code": f"N{i:03d}", "name": f"Store {i}", "city": "Delhi", "region": "north",
             "language": "hi", "location": "north"} for i in range(1, 6)]
    bad = [dict(r) for r in rows]
    bad[1]["language"] = "klingon"
    bad[3]["location"] = "mars"
    bad.append(dict(rows[0]))
    resp = await api.client.post("/api/v1/stores/import", json={"stores": bad},
                                 headers=api.headers("admin"))
    assert resp.status == 422
    body = await resp.json()
    assert body["error"] == "import_rejected" and body["invalid"] == 3 and body["total"] == 6
    assert [(e["row"], e["error"]) for e in body["errors"]] == [
        (2, "invalid_language"), (4, "unknown_location"), (6, "duplicate_in_file")]
    assert await count(sessions, Store, Store.code.like("N0%")) == 0

    resp = await api.client.post("/api/v1/stores/import", json={"stores": rows, "dry_run": True},
                                 headers=api.headers("admin"))
    assert resp.status == 200 and (await resp.json())["created"] == 5
    assert await count(sessions, Store, Store.code.like("N0%")) == 0
    resp = await api.client.post("/api/v1/stores/import", json={"stores": rows},
                                 headers=api.headers("admin"))
    assert resp.status == 201
    assert (await resp.json())["created"] == 5 and await count(sessions, Store, Store.code.like("N0%")) == 5
    rows[0]["name"] = "Renamed"
    resp = await api.client.post("/api/v1/stores/import", json={"stores": rows},
                                 headers=api.headers("admin"))
    body = await resp.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 4)
    assert (await audit_actions(sessions)).count("store.import") == 6  # one row per store created or changed
    async with sessions() as s:
        renamed = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "store.import")
                                   .order_by(AuditEntry.id.desc()))).first()
        store = (await s.scalars(select(Store).where(Store.code == "N001"))).one()
    assert (renamed.entity_id, renamed.details) == (str(store.id), {"code": "N001", "name": ["Store 1", "Renamed"]})


async def test_moving_a_store_moves_its_executives(api, sessions):
    store_id = api.rows["s1"]
    resp = await api.client.patch(f"/api/v1/stores/{store_id}", json={"location": "south"},
                                  headers=api.headers("admin"))
    assert resp.status == 200 and (await resp.json())["location_id"] == api.rows["south"]
    async with sessions() as s:
        assert (await s.get(User, api.rows["exec1"])).location_id == api.rows["south"]


async def test_manager_sees_own_location_and_manages_its_teams(api, sessions):
    h = api.headers("manager_n")
    stores = (await (await api.client.get("/api/v1/stores", headers=h)).json())["stores"]
    assert sorted(s["code"] for s in stores) == ["DEL01", "DEL02"]
    assert (await api.client.get(f"/api/v1/stores/{api.rows['s3']}", headers=h)).status == 404
    assert (await api.client.patch(f"/api/v1/stores/{api.rows['s1']}", json={"name": "x"},
                                   headers=h)).status == 403
    locations = (await (await api.client.get("/api/v1/locations", headers=h)).json())["locations"]
    assert [l["code"] for l in locations] == ["north"]

    resp = await api.client.post("/api/v1/teams", json={"name": "north-2"}, headers=h)
    assert resp.status == 201 and (await resp.json())["location_id"] == api.rows["north"]
    resp = await api.client.post("/api/v1/teams", json={"name": "south-9", "location": "south"}, headers=h)
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    resp = await api.client.post("/api/v1/teams", json={"name": "North-2"}, headers=h)
    assert resp.status == 409 and (await resp.json())["error"] == "team_exists"
    teams = (await (await api.client.get("/api/v1/teams", headers=h)).json())["teams"]
    assert {t["name"]: t["members"] for t in teams} == {"north-1": 2, "north-2": 0}
    # the south manager sees none of it
    teams = (await (await api.client.get("/api/v1/teams", headers=api.headers("manager_s"))).json())["teams"]
    assert teams == []
    team_id = api.rows["team"]
    assert (await api.client.get(f"/api/v1/teams/{team_id}", headers=api.headers("manager_s"))).status == 404
    # a team with members cannot move to another location
    resp = await api.client.patch(f"/api/v1/teams/{team_id}", json={"location": "south"},
                                  headers=api.headers("admin"))
    assert resp.status == 409 and (await resp.json())["error"] == "not_empty"
    resp = await api.client.patch(f"/api/v1/teams/{team_id}", json={"name": "north-one"}, headers=h)
    assert resp.status == 200
    assert await count(sessions, Team, Team.name == "north-one") == 1
    assert (await audit_actions(sessions))[-2:] == ["team.add", "team.update"]


async def test_agents_and_team_leads_change_nothing(api):
    for who in ("agent_n", "exec1"):
        assert (await api.client.get("/api/v1/stores", headers=api.headers(who))).status == 403
    resp = await api.client.post("/api/v1/teams", json={"name": "t"}, headers=api.headers("lead_n"))
    assert resp.status == 403
    teams = await (await api.client.get("/api/v1/teams", headers=api.headers("lead_n"))).json()
    assert [t["name"] for t in teams["teams"]] == ["north-1"]


async def test_store_import_from_an_xlsx_file(api, sessions):
    import io

    import openpyxl
    from aiohttp import FormData

    book = openpyxl.Workbook()
    book.active.append(["Store Code", "Store Name", "City", "Zone", "Language", "Location"])
    book.active.append(["CHN01", "T Nagar", "Chennai", "south", "Tamil", "south"])
    book.active.append(["CHN02", "Adyar", "Chennai", "south", "ta", "atlantis"])
    out = io.BytesIO()
    book.save(out)
    form = FormData()
    form.add_field("file", out.getvalue(), filename="stores.xlsx")
    resp = await api.client.post("/api/v1/stores/import", data=form, headers=api.headers("admin"))
    body = await resp.json()
    assert resp.status == 422 and [(e["row"], e["error"]) for e in body["errors"]] == [(3, "unknown_location")]
    assert await count(sessions, Store, Store.code.like("CHN%")) == 0
    resp = await api.client.post("/api/v1/stores/import?dry_run=true", data=b"code,name,location\nCHN01,T Nagar,south\n",
                                 headers={**api.headers("admin"), "Content-Type": "text/csv"})
    assert resp.status == 200 and (await resp.json())["created"] == 1
    assert await count(sessions, Store, Store.code.like("CHN%")) == 0
