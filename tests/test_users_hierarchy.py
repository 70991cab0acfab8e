"""Users in the hierarchy through the JSON API: who may create and change
whom, a consistent location_id, the generated login password shown once,
disabling (logins end, open work handed over), password resets."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from callcenter.auth import passwords
from callcenter.auth.tokens import create_token, verify_token
from callcenter.models import AuditEntry, User
from callcenter.org.models import Store
from callcenter.work.models import WorkItem
from tests import factories as f
from tests.light_app import running_light_app


@pytest.fixture
async def api(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


async def post_user(api, who, **body):
    return await api.client.post("/api/v1/users", json=body, headers=api.headers(who))


async def user_row(sessions, user_id) -> User:
    async with sessions() as s:
        return await s.get(User, user_id)


async def test_generated_password_is_shown_once_and_works(api, sessions):
    resp = await post_user(api, "admin", name="priya", role="agent", store="DEL01",
                           display_name="Priya S", employee_id="E777", languages="hi, English",
                           mobile="98765 43210")
    assert resp.status == 201, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    password = body["login_password"]
    user = body["user"]
    assert (user["agent_kind"], user["store_id"], user["location_id"], user["languages"]) == (
        "store", api.rows["s1"], api.rows["north"], ["hi", "en"])
    assert user["phone_mode"] == "mobile" and user["mobile"] == "+919876543210"
    row = await user_row(sessions, user["id"])
    assert passwords.verify_password(row.password_hash, password)
    assert password not in row.password_hash
    async with sessions() as s:
        details = repr((await s.scalars(select(AuditEntry.details))).all())
    assert password not in details
    # reading the user again never shows a password
    again = await (await api.client.get(f"/api/v1/users/{user['id']}", headers=api.headers("admin"))).text()
    assert password not in again and "password_hash" not in again and "argon2" not in again
    # a password given by the caller is used and not echoed
    resp = await post_user(api, "admin", name="kiran", role="agent", team="north-1",
                           password="a chosen password")
    body = await resp.json()
    assert resp.status == 201 and "login_password" not in body
    assert passwords.verify_password((await user_row(sessions, body["user"]["id"])).password_hash,
                                     "a chosen password")
    resp = await post_user(api, "admin", name="weak", role="agent", team="north-1", password="short")
    assert resp.status == 422 and (await resp.json())["error"] == "weak_password"


async def test_manager_creates_only_in_their_location(api, sessions):
    resp = await post_user(api, "manager_n", name="tl2", role="teamlead", team="north-1")
    assert resp.status == 201
    assert (await resp.json())["user"]["location_id"] == api.rows["north"]
    # a store of another location
    resp = await post_user(api, "manager_n", name="x1", role="agent", store="BLR01")
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    # a manager or admin, even in their own location
    for role, extra in (("manager", {"location": "north"}), ("admin", {})):
        resp = await post_user(api, "manager_n", name="x2", role=role, **extra)
        assert resp.status == 403
    async with sessions() as s:
        assert (await s.scalar(select(User.id).where(User.name.in_(["x1", "x2"])))) is None


async def test_team_leads_and_agents_may_not_manage_users(api):
    resp = await post_user(api, "lead_n", name="x3", role="agent", team="north-1")
    assert resp.status == 403
    assert (await api.client.get("/api/v1/users", headers=api.headers("agent_n"))).status == 403
    uid = api.rows["agent_n"]
    for path in (f"/api/v1/users/{uid}/disable", f"/api/v1/users/{uid}/reset-password"):
        assert (await api.client.post(path, headers=api.headers("lead_n"))).status == 403
    resp = await api.client.patch(f"/api/v1/users/{uid}", json={"display_name": "x"},
                                  headers=api.headers("lead_n"))
    assert resp.status == 403
    # a team lead sees their team; an agent only themselves
    body = await (await api.client.get("/api/v1/users", headers=api.headers("lead_n"))).json()
    assert sorted(u["name"] for u in body["users"]) == ["agent_n", "lead_n"]
    resp = await api.client.get(f"/api/v1/users/{api.rows['exec1']}", headers=api.headers("agent_n"))
    assert resp.status == 404
    resp = await api.client.get(f"/api/v1/users/{uid}", headers=api.headers("agent_n"))
    assert resp.status == 200


async def test_list_filters_scope_and_paging(api):
    h = api.headers("manager_n")
    body = await (await api.client.get("/api/v1/users?role=agent", headers=h)).json()
    assert sorted(u["name"] for u in body["users"]) == ["agent_n", "exec1", "exec2"]
    body = await (await api.client.get(f"/api/v1/users?store_id={api.rows['s2']}", headers=h)).json()
    assert [u["name"] for u in body["users"]] == ["exec2"]
    body = await (await api.client.get("/api/v1/users?limit=2&offset=2", headers=h)).json()
    assert body["total"] == 5 and len(body["users"]) == 2
    # the south manager never sees the north's people, even by id
    resp = await api.client.get(f"/api/v1/users/{api.rows['exec1']}", headers=api.headers("manager_s"))
    assert resp.status == 404
    resp = await api.client.get("/api/v1/users?role=boss", headers=h)
    assert resp.status == 422 and (await resp.json())["error"] == "invalid_role"


@pytest.mark.parametrize("body, error", [
    ({"role": "agent"}, "invalid_placement"),                                 # no store or team
    ({"role": "agent", "agent_kind": "store", "team": "north-1"}, "invalid_placement"),
    ({"role": "agent", "agent_kind": "center", "store": "DEL01"}, "invalid_placement"),
    ({"role": "teamlead", "location": "north"}, "invalid_placement"),         # needs a team
    ({"role": "manager"}, "invalid_placement"),                               # needs a location
    ({"role": "manager", "location": "north", "team": "north-1"}, "invalid_placement"),
    ({"role": "agent", "store": "DEL01", "location": "south"}, "invalid_placement"),
    ({"role": "agent", "store": "NOPE"}, "unknown_store"),
    ({"role": "agent", "team": "nope"}, "unknown_team"),
    ({"role": "agent", "agent_kind": "robot", "team": "north-1"}, "invalid_agent_kind"),
    ({"role": "agent", "team": "north-1", "languages": "en,xx"}, "invalid_languages"),
    ({"role": "agent", "team": "north-1", "employee_id": "bad id!"}, "invalid_employee_id"),
])
async def test_placement_errors(api, body, error):
    resp = await post_user(api, "admin", name="newbie", **body)
    assert resp.status == 422 and (await resp.json())["error"] == error, await resp.text()


async def test_location_always_follows_team_and_store(api, sessions):
    h = api.headers("admin")
    body = await (await post_user(api, "admin", name="cc1", role="agent", team="north-1")).json()
    user = body["user"]
    assert (user["agent_kind"], user["team_id"], user["location_id"]) == ("center", api.rows["team"], api.rows["north"])
    mgr = await (await post_user(api, "admin", name="m3", role="manager", location="south")).json()
    assert mgr["user"]["location_id"] == api.rows["south"]
    # a store executive moved to a store of another location changes location too
    uid = api.rows["exec1"]
    resp = await api.client.patch(f"/api/v1/users/{uid}", json={"store": "BLR01"}, headers=h)
    assert resp.status == 200, await resp.text()
    row = await user_row(sessions, uid)
    assert (row.store_id, row.location_id) == (api.rows["s3"], api.rows["south"])
    # a team lead made agent of a store loses the team's place for the store's
    resp = await api.client.patch(f"/api/v1/users/{api.rows['lead_n']}",
                                  json={"role": "agent", "store": "DEL02", "team": None}, headers=h)
    assert resp.status == 200, await resp.text()
    row = await user_row(sessions, api.rows["lead_n"])
    assert (row.role, row.agent_kind, row.store_id, row.team_id, row.location_id) == (
        "agent", "store", api.rows["s2"], None, api.rows["north"])
    # a duplicate employee id is refused
    await api.client.patch(f"/api/v1/users/{uid}", json={"employee_id": "E1"}, headers=h)
    resp = await api.client.patch(f"/api/v1/users/{api.rows['exec2']}", json={"employee_id": "E1"}, headers=h)
    assert resp.status == 409 and (await resp.json())["error"] == "employee_id_exists"
    # every user's location agrees with their store or team
    async with sessions() as s:
        from callcenter.org.models import Team
        for u in (await s.scalars(select(User))).all():
            if u.store_id:
                assert u.location_id == (await s.get(Store, u.store_id)).location_id, u.name
            elif u.team_id:
                assert u.location_id == (await s.get(Team, u.team_id)).location_id, u.name


async def test_manager_edits_only_their_people(api):
    h = api.headers("manager_n")
    resp = await api.client.patch(f"/api/v1/users/{api.rows['exec1']}",
                                  json={"display_name": "Exec One", "languages": ["hi"]}, headers=h)
    assert resp.status == 200 and (await resp.json())["user"]["display_name"] == "Exec One"
    resp = await api.client.patch(f"/api/v1/users/{api.rows['exec1']}", json={"store": "BLR01"}, headers=h)
    assert resp.status == 403
    resp = await api.client.patch(f"/api/v1/users/{api.rows['exec1']}", json={"role": "manager",
                                  "location": "north"}, headers=h)
    assert resp.status == 403
    resp = await api.client.patch(f"/api/v1/users/{api.rows['exec3']}", json={"display_name": "x"}, headers=h)
    assert resp.status == 404
    resp = await api.client.post(f"/api/v1/users/{api.rows['admin']}/reset-password", headers=h)
    assert resp.status == 404


async def test_disable_ends_logins_and_hands_over_work(api, sessions):
    async with sessions() as s:
        s1 = await s.get(Store, api.rows["s1"])
        other = await f.user(s, "exec1b", store=s1)
        leaver = await s.get(User, api.rows["exec1"])
        camp = await f.campaign(s)
        items = [(await f.work_item(s, camp, await f.customer(s, store=s1), leaver)).id for _ in range(3)]
        token = await create_token(s, "exec1-own", user_id=leaver.id, actor="test")
        await s.commit()
        other_id = other.id
    resp = await api.client.post(f"/api/v1/users/{api.rows['exec1']}/disable", headers=api.headers("manager_n"))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["user"]["active"] is False
    assert (body["work_reallocated"], body["work_unallocated"]) == (3, 0)
    async with sessions() as s:
        assert set((await s.scalars(select(WorkItem.agent_id).where(WorkItem.id.in_(items)))).all()) == {other_id}
        assert await verify_token(s, token) is None
        entry = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "user.disable"))).one()
        assert entry.actor == "manager_n" and entry.details["work_reallocated"] == 3
    # disabled users are filtered
    body = await (await api.client.get("/api/v1/users?active=false", headers=api.headers("manager_n"))).json()
    assert [u["name"] for u in body["users"]] == ["exec1"]
    # nobody disables themselves; enable works
    resp = await api.client.post(f"/api/v1/users/{api.rows['manager_n']}/disable", headers=api.headers("admin"))
    assert resp.status == 200
    resp = await api.client.post(f"/api/v1/users/{api.rows['admin']}/disable", headers=api.headers("admin"))
    assert resp.status == 409 and (await resp.json())["error"] == "cannot_disable_self"
    resp = await api.client.post(f"/api/v1/users/{api.rows['exec1']}/enable", headers=api.headers("admin"))
    assert resp.status == 200 and (await resp.json())["user"]["active"] is True


async def test_reset_password(api, sessions):
    uid = api.rows["exec1"]
    resp = await api.client.post(f"/api/v1/users/{uid}/reset-password", headers=api.headers("manager_n"))
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    first = (await resp.json())["login_password"]
    assert passwords.verify_password((await user_row(sessions, uid)).password_hash, first)
    resp = await api.client.post(f"/api/v1/users/{uid}/reset-password",
                                 json={"password": "my own new password"}, headers=api.headers("admin"))
    assert resp.status == 200 and "login_password" not in await resp.json()
    hashed = (await user_row(sessions, uid)).password_hash
    assert passwords.verify_password(hashed, "my own new password")
    assert not passwords.verify_password(hashed, first)
    resp = await api.client.post(f"/api/v1/users/{uid}/reset-password", headers=api.headers("manager_s"))
    assert resp.status == 404
