"""The administration pages (rendered by the real routes and middleware,
authenticated here with bearer tokens): forms create and change, the
generated password is shown once, managers see their location, team leads
only look, and the head count goes upload -> report -> commit in the browser."""
from __future__ import annotations

import dataclasses
import re
import types

import pytest
from aiohttp import FormData
from sqlalchemy import select

from callcenter.auth import passwords
from callcenter.models import User
from callcenter.org.models import Location
from callcenter.pbx.nodes import PbxNodes
from tests.light_app import running_light_app


@pytest.fixture
async def api(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


async def page(api, who, path, **kw):
    resp = await api.client.get(path, headers=api.headers(who), allow_redirects=False, **kw)
    return resp, await resp.text()


async def post(api, who, path, data):
    return await api.client.post(path, data=data, headers=api.headers(who), allow_redirects=False)


async def test_admin_pages_create_locations_stores_and_teams(api, sessions):
    resp = await post(api, "admin", "/admin/locations", {"code": "east", "name": "East centre"})
    assert resp.status == 303
    resp, html = await page(api, "admin", "/admin/locations?created=east")
    assert "East centre" in html and "Location east created" in html
    resp = await post(api, "admin", "/admin/locations", {"code": "east", "name": "Again"})
    assert resp.status == 409 and "already exists" in await resp.text()
    async with sessions() as s:
        east = await s.scalar(select(Location.id).where(Location.code == "east"))
    resp = await post(api, "admin", "/admin/stores", {"code": "KOL01", "name": "Park Street", "city": "Kolkata",
                                                      "region": "east", "language": "bn", "location": str(east)})
    assert resp.status == 303
    resp, html = await page(api, "admin", "/admin/stores?q=KOL")
    assert "Park Street" in html and "Bengali" in html
    resp = await post(api, "admin", "/admin/stores", {"code": "KOL02", "name": "X", "language": "xx",
                                                      "location": str(east)})
    assert resp.status == 422 and "invalid language" in await resp.text()
    resp = await post(api, "manager_n", "/admin/teams", {"name": "north-night"})
    assert resp.status == 303
    resp, html = await page(api, "manager_n", "/admin/teams")
    assert "north-night" in html and "north-1" in html
    # a manager sees their stores but may not create one
    resp, html = await page(api, "manager_n", "/admin/stores")
    assert "DEL01" in html and "BLR01" not in html and "New store" not in html
    assert (await post(api, "manager_n", "/admin/stores", {"code": "Z1", "name": "Z"})).status == 403
    assert (await page(api, "manager_n", "/admin"))[0].status == 403


async def test_new_user_page_shows_the_password_once(api, sessions):
    resp = await post(api, "manager_n", "/admin/users/new", {
        "name": "neha", "display_name": "Neha R", "role": "agent", "agent_kind": "store",
        "store": str(api.rows["s2"]), "languages": "hi,en", "phone_mode": "mobile", "mobile": "98100 12345"})
    html = await resp.text()
    assert resp.status == 200, html
    assert resp.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="login-password">([^<]+)<', html).group(1)
    async with sessions() as s:
        user = (await s.scalars(select(User).where(User.name == "neha"))).one()
        assert passwords.verify_password(user.password_hash, password)
        assert (user.store_id, user.location_id, user.mobile) == (api.rows["s2"], api.rows["north"], "+919810012345")
    resp, html = await page(api, "manager_n", f"/admin/users/{user.id}")
    assert resp.status == 200 and password not in html and "Neha R" in html
    # the manager may not place someone in the south
    resp = await post(api, "manager_n", "/admin/users/new", {"name": "sam", "role": "agent",
                                                             "store": str(api.rows["s3"])})
    assert resp.status == 403
    # editing: a new store moves the location too
    resp = await post(api, "admin", f"/admin/users/{user.id}", {
        "role": "agent", "display_name": "Neha R", "agent_kind": "store", "store": str(api.rows["s3"]),
        "languages": "kn", "phone_mode": "mobile", "mobile": "+919810012345"})
    assert resp.status == 303
    async with sessions() as s:
        user = await s.get(User, user.id)
        assert (user.store_id, user.location_id, user.languages) == (api.rows["s3"], api.rows["south"], "kn")


async def test_team_leads_look_but_do_not_touch(api):
    resp, html = await page(api, "lead_n", "/admin/users")
    assert resp.status == 200 and "agent_n" in html and "exec1" not in html and "New user" not in html
    resp, html = await page(api, "lead_n", f"/admin/users/{api.rows['agent_n']}")
    assert resp.status == 200 and "<fieldset disabled>" in html and "Disable" not in html
    assert (await page(api, "lead_n", "/admin/users/new"))[0].status == 403
    resp = await post(api, "lead_n", f"/admin/users/{api.rows['agent_n']}", {"role": "agent"})
    assert resp.status == 403
    assert (await post(api, "lead_n", f"/admin/users/{api.rows['agent_n']}/disable", {})).status == 403
    assert (await page(api, "agent_n", "/admin/users"))[0].status == 403
    assert (await page(api, "manager_s", f"/admin/users/{api.rows['exec1']}"))[0].status == 404


async def test_disable_and_reset_from_the_user_page(api, sessions):
    uid = api.rows["exec1"]
    resp = await post(api, "manager_n", f"/admin/users/{uid}/disable", {})
    assert resp.status == 303 and "done=disabled" in resp.headers["Location"]
    resp, html = await page(api, "manager_n", resp.headers["Location"])
    assert "they can no longer log in" in html and "Enable" in html
    resp = await post(api, "manager_n", f"/admin/users/{uid}/password", {})
    html = await resp.text()
    password = re.search(r'id="login-password">([^<]+)<', html).group(1)
    async with sessions() as s:
        user = await s.get(User, uid)
        assert user.active is False and passwords.verify_password(user.password_hash, password)


async def test_head_count_in_the_browser(api, sessions):
    csv_text = ("Employee ID,Name,Store Code,Status,Languages,Mobile\n"
                "E900,Lata M,DEL01,Active,hi,9811199900\n"
                "E901,Bad Row,NOPE,Active,hi,9811199901\n")
    form = FormData()
    form.add_field("file", csv_text.encode(), filename="hc.csv", content_type="text/csv")
    resp = await api.client.post("/admin/headcount", data=form, headers=api.headers("manager_n"),
                                 allow_redirects=False)
    assert resp.status == 303
    resp, html = await page(api, "manager_n", resp.headers["Location"])
    assert "unknown store code NOPE" in html and "nothing of it can be committed" in html and "Commit the head count" not in html

    form = FormData()
    form.add_field("file", csv_text.split("E901")[0].encode(), filename="hc.csv", content_type="text/csv")
    resp = await api.client.post("/admin/headcount", data=form, headers=api.headers("manager_n"),
                                 allow_redirects=False)
    location = resp.headers["Location"]
    resp, html = await page(api, "manager_n", location)
    assert "Commit the head count" in html
    resp = await post(api, "manager_n", location + "/commit", {})
    assert resp.status == 303
    resp, html = await page(api, "manager_n", resp.headers["Location"])
    assert "Committed. 1 new" in html
    resp, text = await page(api, "manager_n", location + "/report.csv")
    assert resp.status == 200 and text.splitlines()[1].startswith("2,create,+919811199900")
    async with sessions() as s:
        assert (await s.scalars(select(User.name).where(User.employee_id == "E900"))).one() == "e900"
    # not a spreadsheet: the upload page says so
    form = FormData()
    form.add_field("file", b"\x00\x01\x02" * 100, filename="hc.xlsx")
    resp = await api.client.post("/admin/headcount", data=form, headers=api.headers("manager_n"))
    assert resp.status == 422 and "not" in (await resp.text()).lower()


async def test_store_import_page_names_the_bad_rows(api, sessions):
    form = FormData()
    form.add_field("file", b"code,name,location,language\nHYD01,Banjara Hills,south,te\nHYD02,Kukatpally,nowhere,te\n",
                   filename="stores.csv")
    resp = await api.client.post("/admin/stores/import", data=form, headers=api.headers("admin"))
    html = await resp.text()
    assert resp.status == 422 and "<td>3</td><td>unknown location" in html
    form = FormData()
    form.add_field("file", b"code,name,location,language\nHYD01,Banjara Hills,south,Telugu\n", filename="stores.csv")
    resp = await api.client.post("/admin/stores/import", data=form, headers=api.headers("admin"))
    assert resp.status == 200 and "1 new" in await resp.text()


async def test_with_several_pbx_nodes_the_user_form_homes_the_phone(api, sessions, settings):
    pbx = dataclasses.replace(settings.pbx, peers=["b=127.0.0.1:5039"])
    api.services.nodes = PbxNodes(dataclasses.replace(settings, pbx=pbx))
    for name in ("main", "b"):
        api.services.nodes.add(types.SimpleNamespace(name=name, up=True))
    agent = api.rows["agent_n"]
    resp, html = await page(api, "admin", f"/admin/users/{agent}")
    assert '<select id="pbx_node" name="pbx_node">' in html and '<option value="main" selected>' in html
    form = {"role": "agent", "display_name": "Agent N", "agent_kind": "center", "team": str(api.rows["team"]),
            "phone_mode": "desktop", "pbx_node": "main"}
    resp = await post(api, "admin", f"/admin/users/{agent}", form)  # a desk phone: its SIP password shown once
    assert resp.status == 200 and "Done" in await resp.text()
    resp = await post(api, "admin", f"/admin/users/{agent}", {**form, "pbx_node": "b"})
    assert resp.status == 303, await resp.text()
    async with sessions() as s:
        assert (await s.get(User, agent)).pbx_node == "b"
    resp = await post(api, "admin", f"/admin/users/{agent}", {**form, "pbx_node": "b\r\nx"})
    assert resp.status == 422 and "invalid PBX node" in await resp.text()
    async with sessions() as s:
        assert (await s.get(User, agent)).pbx_node == "b"
    # one node: no such field, whatever the rows say
    api.services.nodes = None
    resp, html = await page(api, "admin", f"/admin/users/{agent}")
    assert 'name="pbx_node"' not in html
