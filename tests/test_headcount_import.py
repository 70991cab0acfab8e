"""The head-count import end to end through the JSON API: a real CSV and a
real XLSX with new, leaving, moving and changed executives; the counts; the
leavers' customers re-allocated to the remaining executives of their store;
a file with bad rows commits nothing and its report names the rows."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from callcenter.auth import passwords
from callcenter.models import AuditEntry, User
from callcenter.spreadsheets.models import Upload
from callcenter.work.models import WorkItem
from tests import factories as f
from tests.light_app import running_light_app

HEADER = ["Employee ID", "Name", "Store Code", "Status", "Languages", "Mobile"]
ROWS = [
    ["E100", "Ravi Kumar", "DEL01", "Resigned", "hi", "9811100100"],     # leaves
    ["E101", "Sita Devi", "DEL01", "Active", "hi,en", "9811100101"],     # unchanged
    ["E102", "Arun Singh", "DEL01", "Transferred", "hi", "9811100102"],  # moves DEL02 -> DEL01
    ["E103", "Meena Iyer", "DEL02", "active", "en", "9811100103"],       # renamed
    ["E200", "Kavya Rao", "DEL01", "Active", "Hindi, English", "+91 98765 43210"],  # new
    ["E201", "Imran Khan", "DEL02", "working", "", "098765 43211"],       # new
    ["E300", "Nobody Known", "DEL01", "Left", "", ""],                   # left, never known
]


@pytest.fixture
async def api(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


@pytest.fixture
async def known(api, sessions):
    """Four executives with employee ids and open work (and one closed item)."""
    async with sessions() as s:
        from callcenter.org.models import Store
        del01 = await s.get(Store, api.rows["s1"])
        del02 = await s.get(Store, api.rows["s2"])
        people = {
            "E100": await f.user(s, "ravi", store=del01, employee_id="E100", mobile="+919811100100"),
            "E101": await f.user(s, "sita", store=del01, employee_id="E101", mobile="+919811100101",
                                 languages="hi,en"),
            "E102": await f.user(s, "arun", store=del02, employee_id="E102", mobile="+919811100102",
                                 languages="hi"),
            "E103": await f.user(s, "meena", store=del02, employee_id="E103", mobile="+919811100103"),
        }
        people["E101"].display_name = "Sita Devi"
        people["E102"].display_name = "Arun Singh"
        camp = await f.campaign(s, loc=None)
        items = {"E100": [], "E102": []}
        for _ in range(4):
            cust = await f.customer(s, store=del01)
            items["E100"].append((await f.work_item(s, camp, cust, people["E100"])).id)
        closed = await f.work_item(s, camp, await f.customer(s, store=del01), people["E100"], bucket="closed")
        for _ in range(2):
            cust = await f.customer(s, store=del02)
            items["E102"].append((await f.work_item(s, camp, cust, people["E102"],
                                                    bucket="future_followup")).id)
        await s.commit()
        return {"ids": {k: u.id for k, u in people.items()}, "items": items, "closed": closed.id}


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def xlsx_bytes(rows, header) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(api, data: bytes, filename: str, who: str = "admin"):
    form = FormData()
    form.add_field("file", data, filename=filename)
    return await api.client.post("/api/v1/headcount", data=form, headers=api.headers(who))


async def check_outcome(api, sessions, known, body):
    assert body["status"] == "committed"
    assert {k: body[k] for k in ("total", "created", "updated", "moved", "deactivated", "unchanged",
                                 "work_reallocated", "work_unallocated")} == {
        "total": 7, "created": 2, "updated": 1, "moved": 1, "deactivated": 1, "unchanged": 2,
        "work_reallocated": 6, "work_unallocated": 0}
    ids = known["ids"]
    async with sessions() as s:
        users = {u.employee_id: u for u in (await s.scalars(
            select(User).where(User.employee_id.is_not(None)))).all()}
        assert users["E100"].active is False
        assert (users["E102"].store_id, users["E102"].location_id) == (api.rows["s1"], api.rows["north"])
        assert users["E103"].display_name == "Meena Iyer"
        new = users["E200"]
        assert (new.name, new.role, new.agent_kind, new.phone_mode, new.mobile, new.languages) == (
            "e200", "agent", "store", "mobile", "+919876543210", "hi,en")
        assert (new.store_id, new.location_id, new.active) == (api.rows["s1"], api.rows["north"], True)
        assert new.password_hash is None  # no login until an admin or manager resets a password
        assert users["E201"].mobile == "+919876543211" and users["E201"].store_id == api.rows["s2"]
        # the leaver's open customers went to the executives still active in DEL01
        del01_active = set((await s.scalars(select(User.id).where(
            User.store_id == api.rows["s1"], User.active.is_(True)))).all())
        agents = (await s.scalars(select(WorkItem.agent_id).where(
            WorkItem.id.in_(known["items"]["E100"])))).all()
        assert set(agents) <= del01_active and ids["E100"] not in agents and None not in agents
        # the mover's open customers (DEL02's) went to those still in DEL02
        del02_active = set((await s.scalars(select(User.id).where(
            User.store_id == api.rows["s2"], User.active.is_(True)))).all())
        agents = (await s.scalars(select(WorkItem.agent_id).where(
            WorkItem.id.in_(known["items"]["E102"])))).all()
        assert set(agents) <= del02_active and None not in agents
        assert (await s.get(WorkItem, known["closed"])).agent_id == ids["E100"]  # history stays
        actions = (await s.scalars(select(AuditEntry.action).where(
            AuditEntry.details["source"].as_string() == "headcount"))).all()
        assert sorted(actions) == ["user.add", "user.add", "user.disable", "user.move", "user.update"]
        assert await s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "headcount.commit")) == 1


async def test_csv_head_count_end_to_end(api, sessions, known):
    resp = await upload(api, csv_bytes(ROWS), "headcount.csv")
    assert resp.status == 201, await resp.text()
    report = await resp.json()
    assert report["status"] == "validated" and (report["total"], report["invalid"]) == (7, 0)
    assert report["planned"] == {"create": 2, "move": 1, "update": 1, "deactivate": 1,
                                 "reactivate": 0, "unchanged": 2}
    # nothing has changed yet
    async with sessions() as s:
        assert (await s.get(User, known["ids"]["E100"])).active is True
    csv_text = await (await api.client.get(report["report_url"], headers=api.headers("admin"))).text()
    lines = list(csv.DictReader(io.StringIO(csv_text)))
    assert [(int(l["row"]), l["status"]) for l in lines] == [
        (2, "deactivate"), (3, "unchanged"), (4, "move"), (5, "update"), (6, "create"),
        (7, "create"), (8, "unchanged")]
    assert "moves from DEL02 to DEL01" in lines[2]["reason"]

    resp = await api.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=api.headers("admin"))
    assert resp.status == 200, await resp.text()
    await check_outcome(api, sessions, known, await resp.json())
    # committing twice is refused
    resp = await api.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=api.headers("admin"))
    assert resp.status == 409 and (await resp.json())["error"] == "upload_not_committable"


async def test_xlsx_head_count_end_to_end(api, sessions, known):
    header = ["Emp Code", "Employee Name", "Store", "Emp Status", "Language", "Mobile No"]
    rows = [[*r[:5], int(r[5]) if r[5].isdigit() else r[5]] for r in ROWS]  # mobiles as number cells
    resp = await upload(api, xlsx_bytes(rows, header), "Head Count March.xlsx")
    assert resp.status == 201, await resp.text()
    report = await resp.json()
    assert report["status"] == "validated", report["invalid_rows"]
    resp = await api.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=api.headers("admin"))
    assert resp.status == 200, await resp.text()
    await check_outcome(api, sessions, known, await resp.json())


async def test_bad_rows_commit_nothing_and_the_report_names_them(api, sessions, known):
    rows = ROWS + [
        ["E400", "Bad Store", "XX99", "Active", "hi", "9811100400"],       # row 9
        ["E401", "Bad Mobile", "DEL01", "Active", "hi", "98111abc00"],     # row 10
        ["E101", "Sita Again", "DEL01", "Active", "hi", "9811100101"],     # row 11: duplicate id
        ["E402", "Odd Status", "DEL01", "on leave maybe", "hi", "9811100402"],  # row 12
        ["E403", "", "DEL01", "Active", "hi", "9811100403"],               # row 13: no name
        ["E404", "No Mobile", "DEL01", "Active", "hi", ""],                # row 14: new, no mobile
        ["E405", "Landline", "DEL01", "Active", "klingon", "011 2345 6789"],  # row 15
    ]
    async with sessions() as s:
        users_before = await s.scalar(select(func.count()).select_from(User))
    resp = await upload(api, csv_bytes(rows), "headcount.csv")
    assert resp.status == 201
    report = await resp.json()
    assert report["status"] == "rejected" and report["invalid"] == 7 and report["total"] == 14
    reasons = {r["row"]: r["reason"] for r in report["invalid_rows"]}
    assert sorted(reasons) == [9, 10, 11, 12, 13, 14, 15]
    assert "unknown store code XX99" in reasons[9]
    assert "bad mobile" in reasons[10]
    assert "also on row 3" in reasons[11]
    assert "unknown status" in reasons[12]
    assert "name is blank" in reasons[13]
    assert "needs a mobile" in reasons[14]
    assert "not a language: klingon" in reasons[15] and "bad mobile" in reasons[15]
    csv_text = await (await api.client.get(report["report_url"], headers=api.headers("admin"))).text()
    invalid = [int(l["row"]) for l in csv.DictReader(io.StringIO(csv_text)) if l["status"] == "invalid"]
    assert invalid == [9, 10, 11, 12, 13, 14, 15]

    resp = await api.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=api.headers("admin"))
    assert resp.status == 409 and (await resp.json())["error"] == "upload_not_committable"
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == users_before
        assert (await s.get(User, known["ids"]["E100"])).active is True
        assert (await s.get(Upload, report["id"])).status == "rejected"
        agents = (await s.scalars(select(WorkItem.agent_id).where(
            WorkItem.id.in_(known["items"]["E100"])))).all()
        assert set(agents) == {known["ids"]["E100"]}


async def test_files_that_are_not_head_counts(api):
    resp = await upload(api, b"\x00\x01binary junk" * 50, "headcount.csv")
    assert resp.status == 422 and (await resp.json())["error"] == "not_a_spreadsheet"
    resp = await upload(api, csv_bytes([["E1", "x"]], ["Employee ID", "Name"]), "h.csv")
    body = await resp.json()
    assert resp.status == 422 and body["error"] == "missing_columns"
    assert "store_code" in body["message"] and "status" in body["message"]


async def test_who_may_import(api, sessions, known):
    # a team lead or an agent may not; a manager only for their location's stores
    for who in ("lead_n", "exec1"):
        resp = await upload(api, csv_bytes(ROWS), "h.csv", who=who)
        assert resp.status == 403
    resp = await upload(api, csv_bytes(ROWS[:2]), "h.csv", who="manager_s")
    report = await resp.json()
    assert report["status"] == "rejected"
    assert all("not in your location" in r["reason"] for r in report["invalid_rows"])
    # the north manager may, and the south manager cannot see or commit the north one
    resp = await upload(api, csv_bytes(ROWS), "h.csv", who="manager_n")
    report = await resp.json()
    assert report["status"] == "validated"
    resp = await api.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=api.headers("manager_s"))
    assert resp.status == 404
    resp = await api.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=api.headers("manager_n"))
    assert resp.status == 200
    # the new executive logs in only once a manager resets their password (shown once)
    async with sessions() as s:
        new_id = await s.scalar(select(User.id).where(User.employee_id == "E200"))
    resp = await api.client.post(f"/api/v1/users/{new_id}/reset-password", headers=api.headers("manager_n"))
    generated = (await resp.json())["login_password"]
    async with sessions() as s:
        assert passwords.verify_password((await s.get(User, new_id)).password_hash, generated)


async def test_the_phone_column_gives_executives_the_web_phone(api, sessions, known):
    """A 'Phone' column moves executives to the web phone (or back to their
    mobile); a new web-phone executive needs no mobile; a bad value is a bad row."""
    header = [*HEADER, "Phone"]
    rows = [["E101", "Sita Devi", "DEL01", "Active", "hi,en", "9811100101", "Web phone"],   # mobile -> web
            ["E103", "Meena Iyer", "DEL02", "active", "en", "", ""],                      # blank: as is
            ["E202", "Nina Paul", "DEL01", "Active", "en", "", "browser"]]                 # new, web phone
    resp = await upload(api, csv_bytes(rows, header), "headcount.csv")
    report = await resp.json()
    assert resp.status == 201 and report["status"] == "validated", report
    resp = await api.client.post(f"/api/v1/headcount/{report['id']}/commit", headers=api.headers("admin"))
    assert resp.status == 200, await resp.text()
    async with sessions() as s:
        users = {u.employee_id: u for u in (await s.scalars(select(User).where(User.employee_id.is_not(None))))}
        sita, meena, nina = users["E101"], users["E103"], users["E202"]
        assert (sita.phone_mode, sita.sip_endpoint, sita.mobile) == ("browser", "wb-sita", None)
        assert (meena.phone_mode, meena.mobile) == ("mobile", "+919811100103")
        assert (nina.phone_mode, nina.sip_endpoint, nina.mobile) == ("browser", "wb-e202", None)

    back = [["E101", "Sita Devi", "DEL01", "Active", "hi,en", "9811100101", "mobile"],
            ["E103", "Meena Iyer", "DEL02", "active", "en", "", "landline"]]
    resp = await upload(api, csv_bytes(back, header), "headcount.csv")
    report = await resp.json()
    assert report["invalid"] == 1
    assert "unknown phone 'landline'" in report["invalid_rows"][0]["reason"]
