"""Customer uploads through the JSON API with real CSV and XLSX files full of
the brief's mess: the validation report (exact rows and reasons), nothing
committed in strict mode while a row is bad (the default partial commit:
tests/test_uploads_rejects.py), a good file committed whole, re-uploads
updating instead of duplicating, DND numbers left out, stale and repeated
commits refused, files that are not spreadsheets or too large refused."""
import csv
import datetime as dt
import io
import os

import aiohttp
import openpyxl
import pytest
from sqlalchemy import func, select

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer, DndNumber
from callcenter.models import AuditEntry, User
from callcenter.notifications.models import Notification
from callcenter.work.models import WorkItem
from tests import factories as f
from tests.event_texts import add_event_texts
from tests.light_app import light_app

HEADER = "Mobile No;Customer Name;Store Code;DOB;Anniversary Date;E-mail;Loyalty Tier;Points\r\n"
GOOD = [
    "+91 98765 43210;Asha Rao;DEL01;05/03/1990;12-11-2015;asha@example.com;Gold;1200",
    "098765-43211;Ravi Kumar;del02;5 Mar 1990;;;Silver;300",
    "919876543212;Meena;DEL01;1990-03-05;March 7 2012;;;",
    "98765 43213;Old Customer;DEL02;32937;;;Platinum;9000",
    "(+91) 98765-43214;On DND;DEL01;;;;;",
]
BAD = [
    "98765 4321;Short Number;DEL01;;;;;",            # too short
    "98765 43215;Bad Date;DEL01;31/02/1990;;;;",      # no such day
    "98765 43216;Far Store;BLR01;;;;;",               # other location's store
    "+91 98765 43210;Asha Again;DEL01;;;;;",          # same as the first row
    "011 2345 6789;Landline;DEL01;;;;;",              # not a mobile
]


def messy_csv(rows) -> bytes:
    # cp1252 (Excel on Windows), ';' separated, blank lines inside
    lines = [HEADER.rstrip("\r\n")]
    for i, row in enumerate(rows):
        lines.append(row)
        if i == 1:
            lines.append(";;;;;;;")
            lines.append("")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    async with sessions() as session:
        north = await session.get(type(await f.location(session, "east")), app.rows["north"])
        camp = await f.campaign(session, "Birthdays", loc=north)
        app.rows["campaign"] = camp.id
        await f.customer(session, "+919876543213", "Old Name", data={"since": "2019"})
        await add_event_texts(session)
        (await session.get(User, app.rows["manager_n"])).email = "manager@example.org"
        session.add(DndNumber(number="+919876543214", source="manual", added_by="test"))
        await session.commit()
    yield app
    await app.client.close()


async def upload(app, data: bytes, name="customers.csv", who="manager_n", campaign=None):
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(data), filename=name, content_type="application/octet-stream")
    return await app.client.post(f"/api/v1/campaigns/{campaign or app.rows['campaign']}/uploads",
                                 data=form, headers=app.headers(who))


async def commit(app, upload_id, who="manager_n", **body):
    return await app.client.post(f"/api/v1/uploads/{upload_id}/commit", json=body,
                                 headers=app.headers(who))


def leftovers(settings) -> list:
    return sorted(p.name for p in settings.uploads_dir.iterdir()) if settings.uploads_dir.exists() else []


async def counts(sessions):
    async with sessions() as session:
        return (await session.scalar(select(func.count()).select_from(Customer)),
                await session.scalar(select(func.count()).select_from(WorkItem)))


async def test_a_file_with_bad_rows_is_reported_and_a_strict_commit_commits_nothing(app, sessions):
    resp = await upload(app, messy_csv(GOOD + BAD))
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["status"] == "validated" and out["to_commit"] == 4 and out["rejected"] == 6
    assert (out["total"], out["invalid"], out["duplicates_in_file"], out["dnd"]) == (10, 4, 1, 1)
    assert out["duplicates_existing"] == 1
    # rows: header 1, good rows 2-3, two blank lines 4-5, then 6..
    assert [(r["row"], r["reason"]) for r in out["invalid_rows"]] == [
        (9, "mobile: '98765 4321': not a valid phone number"),
        (10, "birthday: '31/02/1990' is not a date that exists"),
        (11, "store_code: the store 'BLR01' is not in this campaign's location"),
        (13, "mobile: '011 2345 6789' is a landline number, not a mobile"),
    ]
    assert [(r["row"], r["status"], r["reason"]) for r in out["skipped_rows"]] == [
        (8, "dnd", "on the DND list: excluded"),
        (12, "duplicate", "the same mobile as row 2: skipped")]
    before = await counts(sessions)
    resp = await commit(app, out["id"], strict=True)
    assert resp.status == 409
    refused = await resp.json()
    assert refused["error"] == "upload_not_committable" and refused["reason"] == "invalid_rows"
    assert "4 invalid row(s)" in refused["message"]
    assert await counts(sessions) == before == (1, 0)

    report = await app.client.get(out["report_url"], headers=app.headers("manager_n"))
    assert report.status == 200 and "attachment" in report.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await report.text())))
    assert [(int(r["row"]), r["status"]) for r in rows] == [
        (2, "new"), (3, "new"), (6, "new"), (7, "update"), (8, "dnd"), (9, "invalid"),
        (10, "invalid"), (11, "invalid"), (12, "duplicate"), (13, "invalid")]
    assert rows[0]["mobile"] == "+919876543210"


async def test_a_good_file_commits_every_row_and_a_second_upload_updates(app, sessions):
    out = await (await upload(app, messy_csv(GOOD))).json()
    assert out["status"] == "validated" and out["invalid"] == 0
    assert (out["total"], out["to_commit"], out["new"], out["duplicates_existing"], out["dnd"]) == (5, 4, 3, 1, 1)
    resp = await commit(app, out["id"], allocate="store")
    result = await resp.json()
    assert resp.status == 200, result
    assert (result["created"], result["updated"], result["work_items"]) == (3, 1, 4)
    assert result["allocation"]["allocated"] == 4
    async with sessions() as session:
        people = {c.mobile: c for c in (await session.scalars(select(Customer))).all()}
        assert "+919876543214" not in people                       # DND: left out
        asha = people["+919876543210"]
        assert (asha.name, asha.birthday, asha.anniversary, asha.email) == (
            "Asha Rao", dt.date(1990, 3, 5), dt.date(2015, 11, 12), "asha@example.com")
        assert asha.data == {"loyalty_tier": "Gold", "points": "1200"}
        old = people["+919876543213"]
        assert old.name == "Old Customer" and old.birthday == dt.date(1990, 3, 5)
        assert old.data == {"since": "2019", "loyalty_tier": "Platinum", "points": "9000"}
        items = (await session.scalars(select(WorkItem))).all()
        assert len(items) == 4 and all(i.agent_id is not None for i in items)
        by_store = {i.store_id for i in items if i.customer_id == people["+919876543211"].id}
        assert by_store == {app.rows["s2"]}
        actions = (await session.scalars(select(AuditEntry.action))).all()
        assert "upload.validate" in actions and "upload.commit" in actions
        told = (await session.scalars(select(Notification).where(Notification.event == "upload.committed"))).all()
        assert sorted((n.channel, n.recipient) for n in told) == [("email", "manager@example.org"),
                                                                  ("log", "user:manager_n")]
        assert all("4 rows into Birthdays" in n.body for n in told)   # the operator who committed it

    again = await commit(app, out["id"])
    assert again.status == 409 and (await again.json())["reason"] == "committed"

    changed = GOOD[:1] + ["098765-43211;Ravi K.;DEL02;;;;Gold;350"]
    second = await (await upload(app, messy_csv(changed))).json()
    assert second["duplicates_existing"] == 2 and second["already_in_campaign"] == 2
    result = await (await commit(app, second["id"])).json()
    assert (result["created"], result["updated"], result["work_items"]) == (0, 2, 0)
    assert await counts(sessions) == (4, 4)
    async with sessions() as session:
        ravi = await session.scalar(select(Customer).where(Customer.mobile == "+919876543211"))
        assert ravi.name == "Ravi K." and ravi.birthday == dt.date(1990, 3, 5)  # kept: cell empty
        assert ravi.data == {"loyalty_tier": "Gold", "points": "350"}


async def test_xlsx_made_with_write_only_and_typed_cells(app, sessions):
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Sheet1")
    ws.append(["Phone", "Name", "Birth Date", "Store", "Last Visit"])
    ws.append([9876543220, "Typed Date", dt.datetime(1985, 7, 1), "DEL01", dt.datetime(2024, 10, 2)])
    ws.append([None, None, None, None, None])
    ws.append(["+91-98765-43221", "Text Date", "01.07.85", "DEL02", "2024-10-03"])
    ws.append([9876543222.0, "Serial", 31229, "DEL01", None])
    buf = io.BytesIO()
    wb.save(buf)
    out = await (await upload(app, buf.getvalue(), name="March.xlsx")).json()
    assert out["status"] == "validated" and out["total"] == 3, out
    result = await (await commit(app, out["id"])).json()
    assert result["created"] == 3
    async with sessions() as session:
        people = {c.mobile: c for c in (await session.scalars(select(Customer))).all()}
    assert people["+919876543220"].birthday == dt.date(1985, 7, 1)
    assert people["+919876543220"].data == {"last_visit": "2024-10-02"}
    assert people["+919876543221"].birthday == dt.date(1985, 7, 1)
    assert people["+919876543222"].birthday == dt.date(1985, 7, 1)


@pytest.mark.parametrize("name,data,error", [
    ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(300), "not_a_spreadsheet"),
    ("noise.csv", os.urandom(5000), "not_a_spreadsheet"),
    ("fake.xlsx", b"Mobile,Name\n9876543210,A\n", "not_a_spreadsheet"),
    ("wrong.csv", b"Phone Number Of Customer,Name\n9876543210,A\n", "missing_columns"),
    ("empty.csv", b"Mobile,Name\n\n\n", "empty_spreadsheet"),
])
async def test_files_refused_whole(app, settings, name, data, error):
    resp = await upload(app, data, name=name)
    assert resp.status == 422
    out = await resp.json()
    assert out["error"] == error and out["message"]
    assert leftovers(settings) == []   # nothing kept


async def test_a_missing_column_is_named(app):
    out = await (await upload(app, b"Customer Name,DOB\nAsha,05/03/1990\n")).json()
    assert out["error"] == "missing_columns" and out["missing"] == ["mobile"]


async def test_a_10_mb_file(app, settings, tmp_path):
    notes = "x" * 1000
    lines = ["Mobile,Name,Store Code,Notes"] + [
        f"98{i:08d},Customer {i},DEL01,{notes}" for i in range(10_000)]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 10_000_000
    settings.work.upload_max_mb = 5
    resp = await upload(app, data, name="big.csv")
    assert resp.status == 413 and (await resp.json())["error"] == "too_large"
    assert leftovers(settings) == []   # nothing kept
    settings.work.upload_max_mb = 50
    out = await (await upload(app, data, name="big.csv")).json()
    assert out["status"] == "validated" and out["total"] == 10_000 and out["to_commit"] == 10_000


async def test_stale_uploads_are_refused(app, sessions, settings):
    first = await (await upload(app, messy_csv(GOOD))).json()
    second = await (await upload(app, messy_csv(GOOD[:2]))).json()
    stored = next(p for p in settings.uploads_dir.iterdir()
                  if p.suffix == ".csv" and not p.name.endswith(".report.csv")
                  and p.stat().st_size == len(messy_csv(GOOD)))
    stored.write_bytes(messy_csv(GOOD[:1]))
    resp = await commit(app, first["id"])
    assert resp.status == 409 and (await resp.json())["reason"] == "file_changed"
    async with sessions() as session:
        camp = await session.get(Campaign, app.rows["campaign"])
        camp.status = "closed"
        await session.commit()
    resp = await commit(app, second["id"])
    assert resp.status == 409 and (await resp.json())["reason"] == "campaign_closed"
    assert await counts(sessions) == (1, 0)
    resp = await upload(app, messy_csv(GOOD))
    assert resp.status == 409 and (await resp.json())["error"] == "campaign_closed"


@pytest.mark.parametrize("who,status", [("manager_s", 404), ("lead_n", 403), ("exec1", 403)])
async def test_only_the_campaigns_manager_uploads(app, settings, who, status):
    resp = await upload(app, messy_csv(GOOD), who=who)
    assert resp.status == status
    assert leftovers(settings) == []


async def test_upload_history_and_visibility(app):
    out = await (await upload(app, messy_csv(GOOD))).json()
    resp = await app.client.get(f"/api/v1/campaigns/{app.rows['campaign']}/uploads",
                                headers=app.headers("manager_n"))
    assert [u["id"] for u in (await resp.json())["uploads"]] == [out["id"]]
    resp = await app.client.get(f"/api/v1/uploads/{out['id']}", headers=app.headers("manager_s"))
    assert resp.status == 404
    resp = await app.client.get(f"/api/v1/uploads/{out['id']}/report.csv",
                                headers=app.headers("manager_s"))
    assert resp.status == 404
    resp = await commit(app, out["id"], who="manager_s")
    assert resp.status == 404
    resp = await app.client.get("/api/v1/uploads", headers=app.headers("admin"))
    assert [u["id"] for u in (await resp.json())["uploads"]] == [out["id"]]
