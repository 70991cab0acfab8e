"""Campaigns through the JSON API with bearer tokens: who creates and changes
what, the default and edited disposition forms, statuses, and callability."""
import datetime as dt

import pytest

from callcenter.campaigns.service import campaign_callable, not_callable_reason
from callcenter.models import Trunk
from tests import factories as f
from tests.light_app import running_light_app

TODAY = dt.date.today()


@pytest.fixture
async def app(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


def body(**extra):
    return {"name": "Birthdays March", "type": "birthday", "starts_on": TODAY.isoformat(),
            "expires_on": (TODAY + dt.timedelta(days=14)).isoformat(), **extra}


async def create(app, who="manager_n", **extra):
    return await app.client.post("/api/v1/campaigns", json=body(**extra), headers=app.headers(who))


async def test_manager_creates_a_campaign_of_their_location_with_the_default_form(app):
    resp = await create(app)
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["location_id"] == app.rows["north"] and out["status"] == "active"
    assert out["callable"] is True and out["form"]["questions"]
    assert out["retry_delay_minutes"] == 120 and out["max_attempts"] == 3
    survey = await (await create(app, name="Walk-ins", type="new_walkin_survey")).json()
    keys = {q["key"] for q in survey["form"]["questions"]}
    assert len(keys) > len({q["key"] for q in out["form"]["questions"]})  # ratings, NPS, enrichment


async def test_a_manager_cannot_make_another_locations_or_an_organisation_campaign(app):
    resp = await create(app, location_id=app.rows["south"])
    assert resp.status == 403
    resp = await create(app, location_id=None)
    assert resp.status == 403
    resp = await create(app, who="admin", location_id=None)
    assert resp.status == 201 and (await resp.json())["location_id"] is None


@pytest.mark.parametrize("who", ["lead_n", "agent_n"])
async def test_team_leads_and_agents_cannot_create(app, who):
    assert (await create(app, who=who)).status == 403


@pytest.mark.parametrize("extra,field", [
    ({"type": "diwali"}, "type"), ({"type": "custom"}, "custom_type"),
    ({"expires_on": (TODAY - dt.timedelta(days=1)).isoformat()}, "expires_on"),
    ({"starts_on": "05/03/2025"}, "starts_on"), ({"calling_mode": "fax"}, "calling_mode"),
    ({"trunk_id": 999}, "trunk_id"), ({"max_attempts": 0}, "max_attempts"),
    ({"retry_delay_minutes": "soon"}, "retry_delay_minutes"), ({"colour": "red"}, "colour"),
    ({"max_attempts": "\u0663"}, "max_attempts"),  # an Arabic-Indic three: ASCII digits only
    ({"status": "closed"}, "status"),
])
async def test_bad_fields_are_422_naming_the_field(app, extra, field):
    resp = await create(app, **extra)
    assert resp.status == 422
    out = await resp.json()
    assert out["error"] == "invalid_campaign" and out["field"] == field and out["message"]


async def test_a_broken_form_is_refused_with_its_problems(app):
    resp = await create(app, form={"version": 1, "start": ["nope"], "questions": []})
    assert resp.status == 422
    out = await resp.json()
    assert out["error"] != "invalid_campaign" and out["message"]


async def test_custom_type_name_duplicate_name_and_trunk(app, sessions):
    async with sessions() as session:
        live = Trunk(name="carrier", host="127.0.0.2", port=5060, max_channels=250,
                     did_start="8062247000", did_end="8062247749", pilot="8062247000")
        gone = Trunk(name="old", host="127.0.0.3", port=5060, max_channels=10, did_start="1",
                     did_end="2", pilot="1", removed_at=dt.datetime.now(dt.timezone.utc))
        session.add_all([live, gone])
        await session.commit()
        live_id, gone_id = live.id, gone.id
    resp = await create(app, type="custom", custom_type="Dhanteras 2025", trunk_id=live_id,
                        calling_mode="mobile")
    out = await resp.json()
    assert resp.status == 201 and out["type_label"] == "Dhanteras 2025" and out["trunk_id"] == live_id
    assert (await create(app)).status == 409  # same name
    assert (await create(app, name="Other", trunk_id=gone_id)).status == 422


async def test_update_status_form_and_dates(app):
    campaign = await (await create(app)).json()
    url = f"/api/v1/campaigns/{campaign['id']}"
    form = campaign["form"]
    form["questions"][0]["label"] = "Did you speak with the customer?"
    resp = await app.client.patch(url, json={"form": form, "status": "paused", "max_attempts": 5},
                                  headers=app.headers("manager_n"))
    out = await resp.json()
    assert resp.status == 200, out
    assert out["form"]["questions"][0]["label"] == "Did you speak with the customer?"
    assert out["status"] == "paused" and out["callable"] is False
    assert out["not_callable_reason"] == "the campaign is paused"
    # the other location's manager does not even see it; a team lead of north cannot change it
    assert (await app.client.patch(url, json={"status": "active"},
                                   headers=app.headers("manager_s"))).status == 404
    assert (await app.client.patch(url, json={"status": "active"},
                                   headers=app.headers("lead_n"))).status == 403
    resp = await app.client.patch(url, json={"status": "closed"}, headers=app.headers("admin"))
    assert resp.status == 200
    resp = await app.client.patch(url, json={"status": "active"}, headers=app.headers("manager_n"))
    assert resp.status == 409 and (await resp.json())["error"] == "campaign_closed"


async def test_who_lists_which_campaigns(app, sessions):
    north = await (await create(app, name="North one")).json()
    south = await (await create(app, who="manager_s", name="South one")).json()
    async with sessions() as session:
        from callcenter.campaigns.models import Campaign
        from callcenter.models import User
        camp = await session.get(Campaign, north["id"])
        agent = await session.get(User, app.rows["agent_n"])
        await f.work_item(session, camp, await f.customer(session), agent=agent)
        await session.commit()

    async def names(who):
        resp = await app.client.get("/api/v1/campaigns", headers=app.headers(who))
        assert resp.status == 200
        return sorted(c["name"] for c in (await resp.json())["campaigns"])

    assert await names("admin") == ["North one", "South one"]
    assert await names("manager_n") == ["North one"]
    assert await names("manager_s") == ["South one"]
    assert await names("lead_n") == ["North one"]       # their team's work is in it
    assert await names("agent_n") == ["North one"]
    assert await names("exec1") == []                   # no work of theirs anywhere
    resp = await app.client.get(f"/api/v1/campaigns/{south['id']}", headers=app.headers("agent_n"))
    assert resp.status == 404
    resp = await app.client.get("/api/v1/campaigns?status=paused", headers=app.headers("admin"))
    assert (await resp.json())["total"] == 0


async def test_default_form_per_type(app):
    resp = await app.client.get("/api/v1/campaign-types/birthday/form", headers=app.headers("manager_n"))
    assert resp.status == 200 and (await resp.json())["questions"]
    resp = await app.client.get("/api/v1/campaign-types/nope/form", headers=app.headers("manager_n"))
    assert resp.status == 404


def test_campaign_callable():
    from callcenter.campaigns.models import Campaign
    c = Campaign(status="active", starts_on=dt.date(2025, 3, 1), expires_on=dt.date(2025, 3, 31))
    assert campaign_callable(c, dt.date(2025, 3, 1)) and campaign_callable(c, dt.date(2025, 3, 31))
    assert not campaign_callable(c, dt.date(2025, 2, 28))
    assert not_callable_reason(c, dt.date(2025, 4, 1)) == "the campaign expired on 2025-03-31"
    c.status = "closed"
    assert not campaign_callable(c, dt.date(2025, 3, 15))
