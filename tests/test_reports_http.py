"""The reports' API on the real app: roles (an agent gets 403 on team
reports, has /me), scope through the API (another team is 404, never
listed), the JSON figures and the CSV downloads (attachment, server-made
file name, formula injection neutralised)."""
from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import update

from callcenter.auth.tokens import create_token
from callcenter.models import User
from tests import factories
from tests.harness import TrunkSpec
from tests.test_reports_service import DAY, build_world

pytestmark = pytest.mark.pbx


@pytest.fixture
async def reports(call_server):
    server = await call_server(trunks=[TrunkSpec("carrier", "127.0.0.2", 5999)])
    world = await build_world(server.services.sessions)
    tokens = {}
    async with server.services.sessions() as s, s.begin():
        # a name a spreadsheet would run as a formula
        await s.execute(update(User).where(User.id == world.a2.id)
                        .values(display_name='=HYPERLINK("http://evil.example","x")'))
        for who in ("admin", "mgr", "tl_a", "a1"):
            user = getattr(world, who)
            tokens[who] = await create_token(s, f"rep-{who.replace('_', '-')}", user_id=user.id, actor="test")
    server.world, server.tokens = world, tokens
    return server


async def get(server, who, path):
    return await server.client.get(path, headers=server.headers(server.tokens[who]))


async def test_agent_is_refused_team_reports_but_has_me(reports):
    for path in ("/api/v1/reports/overview", "/api/v1/reports/agents", "/api/v1/reports/stores",
                 f"/api/v1/reports/campaigns/{reports.world.camp.id}", "/api/v1/reports/agents?format=csv"):
        resp = await get(reports, "a1", path)
        assert resp.status == 403, path
        assert (await resp.json())["error"] == "forbidden"
    resp = await get(reports, "a1", f"/api/v1/reports/me?date={DAY}")
    assert resp.status == 200
    mine = await resp.json()
    assert mine["overview"]["agent"]["name"] == "asha" and mine["day"]["attempts"] == 4
    assert (await reports.client.get("/api/v1/reports/me")).status == 401


async def test_daily_report_json_in_the_callers_scope(reports):
    resp = await get(reports, "tl_a", f"/api/v1/reports/agents?date={DAY}")
    assert resp.status == 200
    body = await resp.json()
    assert body["timezone"] == "Asia/Kolkata" and body["total_agents"] == 2
    by_name = {a["agent"]["name"]: a for a in body["agents"]}
    assert set(by_name) == {"asha", "arjun"}   # not bala (team B) nor chitra (south)
    asha = by_name["asha"]
    assert (asha["attempts"], asha["connected"], asha["talk_seconds"]) == (4, 2, 270.5)
    assert (asha["inbound_answered"], asha["inbound_talk_seconds"]) == (1, 120)
    assert asha["hours"] == {"0": 1, "9": 2, "23": 1}
    assert body["totals"]["appointments"] == 1
    # another team: 404, whether it exists or not
    team_b = await get(reports, "tl_a", f"/api/v1/reports/agents?team={reports.world.team_b.id}")
    nowhere = await get(reports, "tl_a", "/api/v1/reports/agents?team=99999")
    assert team_b.status == nowhere.status == 404
    assert (await team_b.json())["error"] == (await nowhere.json())["error"] == "team_not_found"
    manager = await (await get(reports, "mgr", f"/api/v1/reports/agents?date={DAY}&team={reports.world.team_b.id}")).json()
    assert [a["agent"]["name"] for a in manager["agents"]] == ["bala"]


@pytest.mark.parametrize("query, error", [
    ("date=05-11-2024", "invalid_date"), ("date=2024-02-30", "invalid_date"),
    ("team=abc", "invalid_parameter"), ("limit=0", "invalid_parameter"), ("format=xlsx", "invalid_parameter"),
])
async def test_bad_parameters_are_422(reports, query, error):
    resp = await get(reports, "mgr", f"/api/v1/reports/agents?{query}")
    assert resp.status == 422 and (await resp.json())["error"] == error


async def test_overview_and_campaign_json(reports):
    w = reports.world
    overview = await (await get(reports, "mgr", f"/api/v1/reports/overview?campaign={w.camp.id}")).json()
    asha = next(a for a in overview["agents"] if a["agent"]["name"] == "asha")
    assert asha["progress"] == 0.4 and asha["open"] == 4 and asha["buckets"]["appointment"] == 1
    assert overview["totals"]["allocated"] == 6
    camp = await (await get(reports, "admin", f"/api/v1/reports/campaigns/{w.camp.id}")).json()
    assert camp["contact_rate"] == 0.5 and camp["nps"]["score"] == 40.0
    assert camp["appointment_rate"] == pytest.approx(1 / 3, abs=1e-4)
    listed = await (await get(reports, "tl_a", "/api/v1/reports/campaigns")).json()
    assert [c["name"] for c in listed["campaigns"]] == ["walkin-nov"]
    assert (await get(reports, "tl_a", "/api/v1/reports/campaigns/99999")).status == 404
    assert (await get(reports, "tl_a", "/api/v1/reports/campaigns/x1")).status == 404


def read_csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


async def test_daily_csv_download(reports):
    resp = await get(reports, "tl_a", f"/api/v1/reports/agents?date={DAY}&format=csv")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"] == 'attachment; filename="agents-2024-11-05.csv"'
    rows = read_csv(await resp.read())
    header, data = rows[0], {r[1]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert header[:4] == ["agent_id", "login", "name", "employee_id"]
    assert set(data) == {"asha", "arjun"}
    asha = data["asha"]
    assert (asha["attempts"], asha["connected"], asha["talk_seconds"]) == ("4", "2", "270.5")
    assert (asha["inbound_answered"], asha["inbound_talk_seconds"]) == ("1", "120.0")
    assert (asha["calls_00h"], asha["calls_09h"], asha["calls_23h"]) == ("1", "2", "1")
    assert asha["disposition_not_talked"] == "1" and asha["appointments"] == "1"
    # the formula is text in a spreadsheet
    assert data["arjun"]["name"] == '\'=HYPERLINK("http://evil.example","x")'


async def test_overview_campaign_and_store_csv(reports):
    w = reports.world
    resp = await get(reports, "mgr", f"/api/v1/reports/overview?format=csv&team={w.team_a.id}")
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="overview-')
    assert f'-team-{w.team_a.id}.csv"' in resp.headers["Content-Disposition"]
    rows = read_csv(await resp.read())
    assert {r[1] for r in rows[1:]} == {"asha", "arjun"}
    resp = await get(reports, "admin", f"/api/v1/reports/campaigns/{w.camp.id}?format=csv")
    assert resp.headers["Content-Disposition"] == \
        f'attachment; filename="campaign-{w.camp.id}-walkin-nov-all.csv"'
    lines = {(r[0], r[1]): r[3] for r in read_csv(await resp.read())[1:]}
    assert lines[("figures", "contact_rate")] == "0.5" and lines[("nps", "score")] == "40.0"
    assert lines[("nps", "detractors")] == "1" and lines[("ratings", "sp_greeting")] == "4.5"
    resp = await get(reports, "mgr", f"/api/v1/reports/stores?date={DAY}&format=csv")
    stores = {r[0]: r for r in read_csv(await resp.read())[1:]}
    assert set(stores) == {"N001", "N002"} and stores["N001"][5] == "4"


async def test_every_route_about_one_campaign_or_team_answers_the_same_for_a_team_lead(reports):
    """A north campaign only team B works, and an organisation-wide one nobody
    works: team A's lead gets 404 from the campaign's route and its report
    alike (no name, no zero figures); the location's manager gets both (their
    location's campaign) or neither. Another team: 404 on the team's route and as
    the reports' ?team, as for a team that does not exist; their own team: 200."""
    w = reports.world
    async with reports.services.sessions() as s, s.begin():
        team_b_only = await factories.campaign(s, "team-b-only", loc=w.north)
        nobodys = await factories.campaign(s, "org-wide", loc=None)
        await factories.work_item(s, team_b_only, await factories.customer(s), w.b1)
        lead_b = await factories.user(s, "lead-b", "teamlead", team=w.team_b)
        reports.tokens["tl_b"] = await create_token(s, "rep-tl-b", user_id=lead_b.id, actor="test")

    async def statuses(who, *paths):
        return [(await get(reports, who, path)).status for path in paths]

    for campaign, expected in ((team_b_only, {"tl_a": 404, "tl_b": 200, "mgr": 200, "admin": 200}),
                               (nobodys, {"tl_a": 404, "tl_b": 404, "mgr": 404, "admin": 200})):
        for who, status in expected.items():
            routes = (f"/api/v1/campaigns/{campaign.id}", f"/api/v1/reports/campaigns/{campaign.id}",
                      f"/api/v1/reports/agents?campaign={campaign.id}")
            assert await statuses(who, *routes) == [status] * 3, (campaign.name, who)
        picker = await (await get(reports, "tl_a", "/api/v1/reports/campaigns")).json()
        listed = {c["id"] for c in picker["campaigns"]}
        assert campaign.id not in listed
    body = await (await get(reports, "tl_a", f"/api/v1/reports/campaigns/{team_b_only.id}")).json()
    assert body["error"] == "campaign_not_found" and "team-b-only" not in json.dumps(body)

    for team, status in ((w.team_b, 404), (w.team_a, 200)):
        assert await statuses("tl_a", f"/api/v1/teams/{team.id}", f"/api/v1/reports/agents?team={team.id}") == \
            [status] * 2, team.name
    assert [t["name"] for t in (await (await get(reports, "tl_a", "/api/v1/teams")).json())["teams"]] == ["team-a"]
    assert await statuses("mgr", f"/api/v1/teams/{w.team_b.id}", f"/api/v1/reports/agents?team={w.team_b.id}") == \
        [200, 200]
