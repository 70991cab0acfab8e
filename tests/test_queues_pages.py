"""Queues as data, as managers and agents meet them (no PBX needed): the
settings pages and the JSON API create and change queues within the
caller's location, refuse bad values with the field named; agents see only
the queues their languages and location offer; the live board and its hub
audience; the queue metrics."""
from __future__ import annotations

import pytest
from prometheus_client import generate_latest
from sqlalchemy import select

from callcenter.models import AuditEntry
from callcenter.queues.live import QueueClients, QueueLive
from callcenter.queues.models import Queue
from tests.light_app import light_app


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    s = app.services
    s.provided["queues"] = QueueLive(QueueClients(s.settings, s.metrics, s.control, s.sessions, s.live, s.directory,
                                                  s.loops, s.pbx_sync))
    yield app
    await app.client.close()


async def form(app, url, data, who="manager_n"):
    return await app.client.post(url, data=data, headers=app.headers(who), allow_redirects=False)


NEW = {"name": "north-hi", "language": "hi", "strategy": "rrmemory", "wrapup_seconds": "15",
       "max_wait_seconds": "90", "service_level_seconds": "30", "announce_position": "on", "region": "north"}


async def queue_row(sessions, name):
    async with sessions() as session:
        return (await session.scalars(select(Queue).where(Queue.name == name))).one()


async def test_a_manager_creates_and_changes_a_queue_with_the_pages(app, sessions):
    page = await app.client.get("/queues/new", headers=app.headers("manager_n"))
    assert page.status == 200 and 'name="strategy"' in await page.text()
    resp = await form(app, "/queues/new", NEW)
    assert resp.status == 303 and resp.headers["Location"] == "/queues/manage?saved=north-hi"
    q = await queue_row(sessions, "north-hi")
    assert (q.language, q.strategy, q.wrapup_seconds, q.max_wait_seconds, q.service_level_seconds) == \
        ("hi", "rrmemory", 15, 90, 30)
    assert q.location_id == app.rows["north"] and q.announce_position and q.active
    html = await (await app.client.get("/queues/manage?saved=north-hi", headers=app.headers("manager_n"))).text()
    assert "north-hi" in html and "Round robin" in html and f'href="/queues/{q.id}"' in html

    resp = await form(app, f"/queues/{q.id}", {"language": "hi", "strategy": "linear", "wrapup_seconds": "0",
                                               "max_wait_seconds": "60", "service_level_seconds": "20",
                                               "location_id": str(app.rows["north"]), "active": "on"})
    assert resp.status == 303
    q = await queue_row(sessions, "north-hi")
    assert (q.strategy, q.wrapup_seconds, q.announce_position) == ("linear", 0, False)
    async with sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "queue")
                                         .order_by(AuditEntry.id))).all()
    assert actions == ["queue.create", "queue.update"]


@pytest.mark.parametrize("field,value", [("name", "North HI"), ("name", "general"), ("language", "klingon"),
                                         ("strategy", "ringall"), ("wrapup_seconds", "-3"),
                                         ("max_wait_seconds", "99999"), ("service_level_seconds", "x")])
async def test_bad_values_are_named_and_nothing_is_saved(app, sessions, field, value):
    resp = await form(app, "/queues/new", {**NEW, field: value})
    assert resp.status == 422
    assert 'role="alert"' in await resp.text()
    async with sessions() as session:
        assert (await session.scalars(select(Queue))).all() == []
    resp = await app.client.post("/api/v1/queues", headers=app.headers("admin"),
                                 json={"name": "x1", "language": "en", field: value if field != "name" else 5})
    assert resp.status == 422 and (await resp.json())["field"] == field


async def test_scope_of_queue_settings(app, sessions):
    resp = await form(app, "/queues/new", NEW)
    q = await queue_row(sessions, "north-hi")
    assert (await app.client.get(f"/queues/{q.id}", headers=app.headers("manager_s"))).status == 404
    resp = await app.client.patch(f"/api/v1/queues/{q.id}", headers=app.headers("manager_s"), json={"wrapup_seconds": 1})
    assert resp.status == 404
    resp = await app.client.post("/api/v1/queues", headers=app.headers("manager_s"),
                                 json={"name": "x", "language": "en", "location_id": app.rows["north"]})
    assert resp.status == 403
    for who in ("lead_n", "agent_n"):
        resp = await app.client.post("/api/v1/queues", headers=app.headers(who), json={"name": "y", "language": "en"})
        assert resp.status == 403
    resp = await app.client.patch(f"/api/v1/queues/{q.id}", headers=app.headers("admin"), json={"name": "renamed"})
    assert resp.status == 422 and (await resp.json())["field"] == "name"
    resp = await app.client.post("/api/v1/queues", headers=app.headers("admin"), json={"name": "north-hi", "language": "en"})
    assert resp.status == 409 and (await resp.json())["error"] == "queue_name_taken"
    resp = await app.client.post("/api/v1/queues", headers=app.headers("admin"),
                                 json={"name": "all-en", "language": "en"})
    assert resp.status == 201 and (await resp.json())["location_id"] is None   # an admin's: every location


async def test_agents_see_the_queues_their_languages_and_location_offer(app, sessions):
    admin = app.headers("admin")
    for name, language, location in (("north-en", "en", app.rows["north"]), ("north-hi", "hi", app.rows["north"]),
                                     ("south-en", "en", app.rows["south"]), ("all-en", "en", None)):
        resp = await app.client.post("/api/v1/queues", headers=admin,
                                     json={"name": name, "language": language, "location_id": location})
        assert resp.status == 201, await resp.text()
    resp = await app.client.get("/api/v1/queues", headers=app.headers("agent_n"))   # north, speaks en
    assert [q["name"] for q in (await resp.json())["queues"]] == ["all-en", "north-en"]
    resp = await app.client.get("/api/v1/queues", headers=app.headers("exec1"))     # a store executive
    assert (await resp.json())["queues"] == []
    resp = await app.client.get("/api/v1/queues", headers=app.headers("manager_s"))
    assert [q["name"] for q in (await resp.json())["queues"]] == ["all-en", "south-en"]
    south = (await resp.json())["queues"][1]["id"]
    assert (await app.client.get(f"/api/v1/queues/{south}", headers=app.headers("agent_n"))).status == 404
    resp = await app.client.get("/api/v1/queues/status", headers=app.headers("agent_n"))
    assert [v["name"] for v in (await resp.json())["queues"]] == ["all-en", "north-en"]


async def test_board_page_and_who_hears_a_queue(app, sessions):
    admin = app.headers("admin")
    for name, location in (("north-en", app.rows["north"]), ("all-en", None)):
        await app.client.post("/api/v1/queues", headers=admin, json={"name": name, "language": "en",
                                                                     "location_id": location})
    live = app.services.queues
    live.tracker.on_event({"Event": "QueueMemberAdded", "Queue": "north-en", "MemberName": "agent_n",
                           "Interface": "PJSIP/ph-agent-n", "Status": "1", "Paused": "1", "PausedReason": "lunch"})
    live.tracker.on_event({"Event": "QueueCallerJoin", "Queue": "north-en", "Uniqueid": "1.5", "Channel": "PJSIP/c-1",
                           "Position": "1"})
    html = await (await app.client.get("/queues", headers=app.headers("lead_n"))).text()
    assert 'data-queue="north-en"' in html and 'data-queue="all-en"' in html
    assert "agent_n" in html and "paused: lunch" in html
    assert (await app.client.get("/queues", headers=app.headers("agent_n"))).status == 403
    assert (await app.client.get("/queues/manage", headers=app.headers("lead_n"))).status == 403
    page = await (await app.client.get("/buckets", headers=app.headers("agent_n"))).text()
    assert 'id="queue-bar"' in page and "/static/queues.js" in page

    await live.refresh()
    ids = app.rows
    assert live.audience("north-en") == {ids["admin"], ids["manager_n"], ids["lead_n"], ids["agent_n"]}
    assert live.audience("all-en") >= {ids["admin"], ids["manager_n"], ids["manager_s"], ids["lead_n"]}
    assert ids["agent_n"] not in live.audience("all-en")
    assert live.logged_in("north-en") == ["agent_n"] and live.free_agents("north-en") == []
    assert not live.is_free("agent_n")

    text = generate_latest(app.services.metrics.registry).decode()
    assert 'callcenter_queue_callers_waiting{queue="north-en"} 1.0' in text
    assert 'callcenter_queue_agents_paused{queue="north-en"} 1.0' in text
    assert 'callcenter_queue_agents{queue="north-en",state="paused"} 1.0' in text
