"""The audit trail people read, through the real middleware and routes (no
PBX: tests/light_app.py): GET /api/v1/audit with its filters and keyset
paging, who sees which rows (admins all, managers their location's objects,
team leads and agents 403), the summary of a change (old -> new, never the
whole record, numbers masked unless they are the change), the CSV export
(the same rows, itself audited), the /admin/audit page and the History links
of the user and customer pages."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from callcenter import audit
from callcenter.customers.models import Customer
from callcenter.models import AuditEntry, User
from callcenter.org.models import Location, Store
from tests import factories as f
from tests.light_app import call, light_app, page
from tests.postgres import on_postgres
from web.app import FEATURES, routes_of
from web.openapi import document

SOUTH_MOBILE = "+919812345678"


@pytest.fixture
async def app(settings, sessions):
    """The light app's organisation, and audit rows about north's and south's
    objects and about no location's (a trunk): real changes through the API
    where a route makes them, ``audit.record`` for the rest."""
    app = await light_app(settings, sessions)
    r = app.rows
    async with sessions() as s, s.begin():
        north_customer = await f.customer(s, "+919800000001", "Asha Rao", store=await s.get(Store, r["s1"]))
        south_customer = await f.customer(s, SOUTH_MOBILE, "Ravi Kumar", store=await s.get(Store, r["s3"]))
    r["north_customer"], r["south_customer"] = north_customer.id, south_customer.id
    assert (await call(app, "PATCH", f"/api/v1/users/{r['exec1']}", "admin", {"display_name": "Exec North"}))[0] == 200
    assert (await call(app, "PATCH", f"/api/v1/users/{r['exec3']}", "admin", {"display_name": "Exec South"}))[0] == 200
    async with sessions() as s, s.begin():
        audit.record(s, "cli:root", "trunk.add", "trunk", 1, name="carrier", host="10.0.0.1")
        audit.record(s, "exec1", "customer.enrich", "customer", north_customer.id,
                     changes={"name": {"old": "Asha", "new": "Asha Rao"}})
        audit.record(s, "inbound", "customer.create", "customer", south_customer.id, source="inbound call",
                     mobile=SOUTH_MOBILE, data={"tier": "gold", "points": 1200, "birthday": "1990-01-01"})
    await audit.record_view(sessions, "exec1", audit.BUCKETS_VIEWED, "/api/v1/buckets/fresh", rows=3, bucket="fresh")
    yield app
    await app.client.close()


async def entries(app, who: str, query: str = "") -> list[dict]:
    status, body = await call(app, "GET", f"/api/v1/audit{query}", who)
    assert status == 200, body
    return body["entries"]


async def all_ids(app) -> list[int]:
    async with app.services.sessions() as s:
        return list((await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id.desc()))).all())


async def test_admins_see_every_row_newest_first_and_managers_their_locations(app):
    r = app.rows
    rows = await entries(app, "admin", "?limit=500")
    assert [e["id"] for e in rows] == await all_ids(app)
    assert {"trunk.add", "user.update", "customer.create", "token.create"} <= {e["action"] for e in rows}

    north = await entries(app, "manager_n")
    assert {(e["object"], e["object_id"]) for e in north} == {
        ("user", str(r["exec1"])), ("customer", str(r["north_customer"])), ("view", "/api/v1/buckets/fresh")}
    south = await entries(app, "manager_s")
    assert {(e["object"], e["object_id"]) for e in south} == {
        ("user", str(r["exec3"])), ("customer", str(r["south_customer"]))}
    for who in ("lead_n", "agent_n", "exec1"):
        status, body = await call(app, "GET", "/api/v1/audit", who)
        assert status == 403 and body["error"] == "forbidden"
        assert (await app.client.get("/api/v1/audit.csv", headers=app.headers(who))).status == 403


async def test_a_managers_rows_follow_where_each_object_stands(app):
    r = app.rows
    async with app.services.sessions() as s, s.begin():
        north, south = await s.get(Location, r["north"]), await s.get(Location, r["south"])
        exec1, exec3 = await s.get(User, r["exec1"]), await s.get(User, r["exec3"])
        camp_n, camp_s = await f.campaign(s, loc=north), await f.campaign(s, loc=south)
        item_n = await f.work_item(s, camp_n, await f.customer(s), exec1)
        item_s = await f.work_item(s, camp_s, await f.customer(s), exec3)
        team_s = await f.team(s, south)
        objects = {"north": {("location", north.id), ("store", r["s1"]), ("team", r["team"]),
                             ("campaign", camp_n.id), ("work_item", item_n.id),
                             ("customer", item_n.customer_id)},   # no store: reached through the work
                   "south": {("location", south.id), ("store", r["s3"]), ("team", team_s.id),
                             ("campaign", camp_s.id), ("work_item", item_s.id),
                             ("customer", item_s.customer_id)},
                   "nowhere": {("api_token", 1), ("webhook_endpoint", 1), ("dnd", "+919800000009")}}
        for kind, object_id in set().union(*objects.values()):
            audit.record(s, "cli:test", f"{kind}.update", kind, object_id, note="x")
    def ids(side):
        return {(kind, str(object_id)) for kind, object_id in objects[side]}
    assert {(e["object"], e["object_id"]) for e in await entries(app, "manager_n", "?actor=cli:test")} == ids("north")
    assert {(e["object"], e["object_id"]) for e in await entries(app, "manager_s", "?actor=cli:test")} == ids("south")
    assert len(await entries(app, "admin", "?actor=cli:test")) == 15


async def test_a_managers_calls_appointments_and_customers_reached_by_a_call(app):
    """The calls and appointments of a location's people, and a customer of
    another location's store its agent called, are its manager's rows."""
    from callcenter.models import Call
    from callcenter.work.models import Appointment
    r = app.rows
    async with app.services.sessions() as s, s.begin():
        trunk = await f.trunk(s)
        camp = await f.campaign(s, loc=await s.get(Location, r["north"]))
        south_customer = await s.get(Customer, r["south_customer"])
        item = await f.work_item(s, camp, await f.customer(s))
        sides = {}
        for side, agent, store in (("north", r["exec1"], r["s1"]), ("south", r["exec3"], r["s3"])):
            call = Call(id=f"c-{side}", agent_id=agent, requested_by="x", mode="mobile", number="+919800000077",
                        trunk_id=trunk.id, caller_id="1", channels=1, state="ended",
                        customer_id=south_customer.id if side == "north" else None)
            visit = Appointment(work_item_id=item.id, customer_id=item.customer_id, agent_id=agent, store_id=store,
                                at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
            s.add_all([call, visit])
            await s.flush()
            sides[side] = {("call", call.id), ("appointment", str(visit.id))}
            audit.record(s, "cli:test", "call.hangup", "call", call.id)
            audit.record(s, "cli:test", "appointment.update", "appointment", visit.id)
    north = {(e["object"], e["object_id"]) for e in await entries(app, "manager_n", "?actor=cli:test")}
    assert north == sides["north"]
    south = {(e["object"], e["object_id"]) for e in await entries(app, "manager_s", "?actor=cli:test")}
    assert south == sides["south"]
    reached = {(e["object"], e["object_id"]) for e in await entries(app, "manager_n", "?object=customer")}
    assert ("customer", str(r["south_customer"])) in reached   # called by exec1: on north's 360 too


async def test_each_row_says_when_who_what_and_the_change_in_short(app):
    r = app.rows
    [update] = await entries(app, "admin", f"?object=user&object_id={r['exec1']}&action=user.update")
    assert update["actor"] == "admin" and update["actor_kind"] == "user" and update["actor_user_id"] == r["admin"]
    assert update["summary"].startswith("display_name: Exec1 -> Exec North")
    assert dt.datetime.fromisoformat(update["at"]).tzinfo is not None and "request_id" in update
    [trunk] = await entries(app, "admin", "?object=trunk")
    assert (trunk["actor"], trunk["actor_kind"]) == ("cli:root", "cli")
    [created] = await entries(app, "admin", "?action=customer.create")
    assert created["actor_kind"] == "system"
    # never the whole record: the upload's data is counted, the number (not the change) masked
    assert "gold" not in created["summary"] and "1200" not in created["summary"]
    assert "data=(3 fields)" in created["summary"]
    assert SOUTH_MOBILE not in created["summary"] and "+91 98xxxxxx78" in created["summary"]
    [enriched] = await entries(app, "admin", "?action=customer.enrich")
    assert enriched["summary"] == "name: Asha -> Asha Rao"
    [view] = await entries(app, "admin", "?object=view")
    assert view["summary"] == "3 rows (bucket=fresh)"


async def test_a_changed_number_is_shown_as_the_readers_role_sees_numbers(app):
    r = app.rows
    status, _ = await call(app, "PATCH", f"/api/v1/users/{r['agent_n']}", "admin",
                           {"phone_mode": "mobile", "mobile": "+919876543210"})
    assert status == 200
    [row] = await entries(app, "admin", f"?object=user&object_id={r['agent_n']}")
    assert "phone:" in row["summary"] and "+919876543210" in row["summary"]   # admins see numbers
    app.services.settings.privacy.unmasked_roles = ["teamlead"]
    [row] = await entries(app, "admin", f"?object=user&object_id={r['agent_n']}")
    assert "+919876543210" not in row["summary"] and "+91 98xxxxxx10" in row["summary"]


async def test_filters_by_actor_action_object_and_time(app):
    r = app.rows
    assert {e["action"] for e in await entries(app, "admin", "?actor=exec1")} == {"customer.enrich",
                                                                                  "buckets.viewed_list"}
    assert {e["action"] for e in await entries(app, "admin", "?action=customer.")} == {"customer.enrich",
                                                                                       "customer.create"}
    assert [e["object_id"] for e in await entries(app, "admin", f"?object=customer&object_id={r['south_customer']}")] \
        == [str(r["south_customer"])]
    today = dt.datetime.now(dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).date()
    everything = await entries(app, "admin", "?limit=500")
    assert len(await entries(app, "admin", f"?from={today}&to={today}&limit=500")) == len(everything)
    assert await entries(app, "admin", f"?to={today - dt.timedelta(days=1)}") == []
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)).isoformat()
    assert await entries(app, "admin", f"?from={soon.replace('+', '%2B')}") == []
    for query, field in (("?from=2026-02-30", "from"), ("?to=yesterday", "to"), ("?before=abc", "before"),
                         ("?limit=501", "limit"), ("?limit=0", "limit"),
                         (f"?from={today}&to={today - dt.timedelta(days=2)}", "to"), ("?format=xml", "format")):
        status, body = await call(app, "GET", f"/api/v1/audit{query}", "admin")
        assert status == 400 and body["error"] == "invalid_audit_filter" and body["field"] == field, query
        assert body["message"]


async def test_a_customers_history_has_their_work_too(app):
    r = app.rows
    async with app.services.sessions() as s, s.begin():
        camp = await f.campaign(s, loc=await s.get(Location, r["north"]))
        item = await f.work_item(s, camp, await s.get(Customer, r["north_customer"]), await s.get(User, r["exec1"]))
        other = await f.work_item(s, camp, await s.get(Customer, r["south_customer"]))
        audit.record(s, "exec1", "disposition.submit", "work_item", item.id, outcome="appointment",
                     bucket_before="fresh", bucket_after="appointment")
        audit.record(s, "exec1", "disposition.submit", "work_item", other.id, outcome="closed")
    rows = await entries(app, "manager_n", f"?customer={r['north_customer']}")
    assert [(e["object"], e["summary"]) for e in rows] == [
        ("work_item", "bucket: fresh -> appointment; outcome=appointment"),
        ("customer", "name: Asha -> Asha Rao")]
    status, body = await call(app, "GET", "/api/v1/audit?customer=x", "admin")
    assert status == 400 and body["field"] == "customer"


async def test_keyset_paging_is_stable_while_new_rows_arrive(app):
    before = await all_ids(app)
    seen, path = [], "/api/v1/audit?limit=4"
    while path:
        status, body = await call(app, "GET", path, "admin")
        assert status == 200 and len(body["entries"]) <= 4
        seen += [e["id"] for e in body["entries"]]
        async with app.services.sessions() as s, s.begin():   # a new row between pages
            audit.record(s, "admin", "location.update", "location", app.rows["north"], name=["North", "N"])
        path = body["next"]
        assert (path is None) == (body["next_before"] is None)
    assert seen == before   # every row once, in order; the new ones are above the first page


async def test_the_csv_export_has_the_same_rows_and_is_itself_audited(app):
    shown = await entries(app, "manager_n", "?limit=500")
    resp = await app.client.get("/api/v1/audit.csv?object=user", headers=app.headers("manager_n"))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert lines[0][:3] == ["id", "at", "actor"]
    assert [int(line[0]) for line in lines[1:]] == [e["id"] for e in shown if e["object"] == "user"]
    assert lines[1][lines[0].index("summary")].startswith("display_name: Exec1 -> Exec North")
    resp = await app.client.get("/api/v1/audit?format=csv", headers=app.headers("admin"))
    assert resp.status == 200
    everything = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    async with app.services.sessions() as s:
        exports = list((await s.scalars(select(AuditEntry).where(AuditEntry.action == audit.REPORT_EXPORTED)
                                        .order_by(AuditEntry.id))).all())
    assert [(e.actor, e.entity, e.entity_id) for e in exports] == [
        ("manager_n", "view", "/api/v1/audit.csv"), ("admin", "view", "/api/v1/audit")]
    assert exports[0].details == {"rows": len(lines) - 1, "filters": {"report": "audit", "object": "user"}}
    assert exports[1].details["rows"] == len(everything) - 1
    assert int(everything[1][0]) == exports[0].id   # the first export's row is in the second, not its own


async def test_the_page_filters_and_the_history_links(app):
    r = app.rows
    resp, text = await page(app, "GET", f"/admin/audit?object=user&object_id={r['exec1']}", "admin")
    assert resp.status == 200
    assert "display_name: Exec1 -&gt; Exec North" in text and 'href="/admin/users/%d"' % r["exec1"] in text
    assert f'href="/api/v1/audit.csv?object=user&amp;object_id={r["exec1"]}"' in text
    assert "trunk.add" not in text
    resp, text = await page(app, "GET", "/admin/audit?limit=1", "manager_s")
    assert resp.status == 200 and text.count("data-audit=") == 1 and 'id="audit-older"' in text
    resp, text = await page(app, "GET", "/admin/audit?from=31-12-2026", "admin")
    assert resp.status == 400 and "from must be a day" in text
    resp, _ = await page(app, "GET", "/admin/audit", "lead_n")
    assert resp.status == 403

    history = f'href="/admin/audit?object=user&amp;object_id={r["exec1"]}"'
    resp, text = await page(app, "GET", f"/admin/users/{r['exec1']}", "manager_n")
    assert resp.status == 200 and history in text and 'href="/admin/audit?actor=exec1"' in text
    resp, text = await page(app, "GET", f"/admin/users/{r['agent_n']}", "lead_n")
    assert resp.status == 200 and "/admin/audit" not in text
    customer = r["north_customer"]
    resp, text = await page(app, "GET", f"/customers/{customer}", "admin")
    assert resp.status == 200 and f'href="/admin/audit?customer={customer}"' in text


def test_the_api_document_describes_the_route():
    paths = document(routes_of(FEATURES))["paths"]
    op = paths["/api/v1/audit"]["get"]
    assert sorted(op["x-roles"]) == ["admin", "manager"] and "before=<id>" in op["summary"]
    assert "invalid_audit_filter" in op["responses"]["400"]["description"]
    assert "/api/v1/audit.csv" in paths


async def test_an_export_reads_the_trail_once_however_many_chunks_it_sends(app, monkeypatch):
    """A chunk a time through one query: paging would gather and sort a
    manager's rows again for every chunk (23 s for 80,000 rows, docs/benchmarks.md)."""
    from sqlalchemy import event
    from callcenter.audit_trail import export
    monkeypatch.setattr(export, "CHUNK", 2)
    shown = [e["id"] for e in await entries(app, "admin", "?limit=500")]
    assert len(shown) > 2 * export.CHUNK
    engine = app.services.sessions.kw["bind"].sync_engine
    reads: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM audit_log" in statement:
            reads.append(statement)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        resp = await app.client.get("/api/v1/audit.csv", headers=app.headers("admin"))
        lines = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert resp.status == 200
    assert [int(line[0]) for line in lines[1:]] == shown   # every row once, newest first
    assert len(reads) <= 3   # the newest id, the count, the rows (not one read a chunk)


async def sqlite_plan(session, stmt) -> list[str]:
    """SQLite's plan of ``stmt``: the detail of each step (its planner follows rules, not row counts)."""
    from sqlalchemy import text
    sql = str(stmt.compile(session.bind, compile_kwargs={"literal_binds": True}))
    return [row[3] for row in (await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))).all()]


async def postgres_plan(session, stmt) -> list[dict]:
    """PostgreSQL's plan of ``stmt`` (EXPLAIN (FORMAT JSON)), its nodes top
    down, on an analysed trail of 50,000 rows: PostgreSQL chooses by the
    statistics, and on a near-empty table reading every row is its cheapest
    plan (and a right one), so an empty table says nothing about the indexes."""
    import json

    from sqlalchemy import text
    await session.execute(text(
        "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, details) "
        "SELECT 100000 + g, now(), 'user:u' || (g % 97), 'thing.a' || (g % 37), "
        "(ARRAY['location', 'user', 'store', 'team', 'campaign', 'complaint', 'customer', 'work_item',"
        " 'call'])[1 + g % 9], (g % 500)::text, '{}' FROM generate_series(1, 50000) AS g"))
    await session.execute(text("ANALYZE audit_log"))
    sql = str(stmt.compile(session.bind, compile_kwargs={"literal_binds": True}))
    plan = (await session.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"))).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)
    return list(nodes(plan[0]["Plan"]))


async def test_the_filters_by_who_and_what_read_an_index_not_the_whole_trail(sessions):
    """A rare actor or action must not scan every row (0016's indexes)."""
    from callcenter.audit_trail import query
    from callcenter.org.scope import Scope
    async with sessions() as s:
        for given in ({"actor": "nobody"}, {"action": "user.delete"}):
            f = query.parse_filter(given, "Asia/Kolkata")
            stmt = (select(AuditEntry.id).where(*query.matching(Scope("admin"), f))
                    .order_by(AuditEntry.id.desc()).limit(101))
            if on_postgres():
                plan = await postgres_plan(s, stmt)
                on_trail = [n for n in plan if n.get("Relation Name") == "audit_log"]
                assert on_trail and all(n["Node Type"] != "Seq Scan" for n in on_trail), (given, plan)
                assert any(n.get("Index Name", "").startswith("ix_audit_log_a") for n in on_trail), (given, plan)
                await s.rollback()
            else:
                plan = " ".join(await sqlite_plan(s, stmt))
                assert "SCAN audit_log" not in plan and "ix_audit_log_a" in plan, (given, plan)


async def test_a_managers_page_reads_the_trail_newest_first_and_stops_at_the_page(sessions):
    """Not every row about the location's objects gathered and sorted for
    each page (592 ms a page with 300,000 customers a location, docs/benchmarks.md)."""
    from callcenter.audit_trail import query
    from callcenter.org.scope import Scope
    async with sessions() as s:
        f = query.parse_filter({}, "Asia/Kolkata")
        stmt = (select(AuditEntry.id).where(*query.matching(Scope("manager", user_id=1, location_id=1), f))
                .order_by(AuditEntry.id.desc()).limit(101))
        if on_postgres():  # the trail read backwards along its ids under the limit, nothing sorted
            plan = await postgres_plan(s, stmt)
            limit, trail = plan[0], plan[1]
            assert limit["Node Type"] == "Limit" and not any(n["Node Type"] == "Sort" for n in plan), plan
            assert (trail["Node Type"], trail["Relation Name"], trail["Index Name"], trail["Scan Direction"]) == \
                ("Index Scan", "audit_log", "audit_log_pkey", "Backward"), plan
        else:  # the trail walked along its ids (no index over the filter), nothing sorted
            plan = await sqlite_plan(s, stmt)
            assert "SCAN audit_log" in plan and "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
