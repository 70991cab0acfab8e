"""The partial commit of a customer upload through the JSON API: the valid
rows committed, the invalid, repeated and DND rows skipped and listed in the
rejects file (CSV and XLSX: every original cell under the client's header,
plus Row and Reason), that file fixed and uploaded again without duplicating
anyone, strict mode, and a file with nothing valid refused."""
import csv
import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from callcenter.customers.models import Customer
from callcenter.models import AuditEntry
from callcenter.work.models import WorkItem
from tests.test_uploads_customers import app, commit, upload  # noqa: F401 (the fixture)

HEADER = "Mobile No,Customer Name,Store Code,DOB,Loyalty Tier"
FOUR = [
    "98765 43220,Asha Rao,DEL01,05/03/1990,Gold",
    "98765 4322,Short Number,DEL02,6 Mar 1991,Silver",     # one digit short: invalid
    "098765-43222,Ravi Kumar,DEL02,,Platinum",
    "+91 98765 43223,Meena,DEL01,1990-03-05,",
]


def csv_bytes(header: str, rows: list[str]) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


async def rejects_csv(app, out) -> list[list[str]]:
    resp = await app.client.get(out["rejects_csv_url"], headers=app.headers("manager_n"))
    assert resp.status == 200, await resp.text()
    assert "attachment" in resp.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))


async def rejects_xlsx(app, out) -> list[list]:
    resp = await app.client.get(out["rejects_xlsx_url"], headers=app.headers("manager_n"))
    assert resp.status == 200, await resp.text()
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


async def work_items_per_customer(sessions) -> dict:
    async with sessions() as session:
        return dict((await session.execute(
            select(Customer.mobile, func.count(WorkItem.id)).join(WorkItem, WorkItem.customer_id == Customer.id)
            .group_by(Customer.mobile))).all())


async def test_four_rows_one_invalid_commit_three_and_the_rejects_list_the_bad_row(app, sessions):
    out = await (await upload(app, csv_bytes(HEADER, FOUR))).json()
    assert out["status"] == "validated"
    assert (out["total"], out["new"], out["invalid"], out["to_commit"], out["rejected"]) == (4, 3, 1, 3, 1)
    expected = [[*HEADER.split(","), "Row", "Reason"],
                ["98765 4322", "Short Number", "DEL02", "6 Mar 1991", "Silver", "3",
                 "mobile: '98765 4322': not a valid phone number"]]
    assert await rejects_csv(app, out) == expected
    assert await rejects_xlsx(app, out) == [expected[0], [*expected[1][:5], 3, expected[1][6]]]

    resp = await commit(app, out["id"])
    result = await resp.json()
    assert resp.status == 200, result
    assert (result["rows_committed"], result["created"], result["work_items"]) == (3, 3, 3)
    assert result["skipped"] == {"invalid": 1, "duplicate": 0, "dnd": 0}
    assert result["rejects_csv_url"] == f"/api/v1/uploads/{out['id']}/rejects.csv"
    assert set(await work_items_per_customer(sessions)) == {"+919876543220", "+919876543222",
                                                            "+919876543223"}
    report = await (await app.client.get(f"/api/v1/uploads/{out['id']}", headers=app.headers("manager_n"))).json()
    assert report["status"] == "committed" and report["committed"]["skipped"]["invalid"] == 1
    async with sessions() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    done = [e.details for e in entries if e.action == "upload.commit"]
    assert done and done[0]["rows_committed"] == 3 and done[0]["skipped_invalid"] == 1
    exports = [e.details for e in entries if e.action == "report.exported"]
    assert [(e["filters"]["report"], e["filters"]["format"], e["rows"]) for e in exports] == [
        ("upload_rejects", "csv", 1), ("upload_rejects", "xlsx", 1)]


async def test_repeated_and_dnd_rows_are_skipped_and_in_the_rejects(app, sessions):
    rows = [*FOUR, "(+91) 98765-43214,On DND,DEL01,,", "98765 43220,Asha Twice,DEL01,,Gold"]
    out = await (await upload(app, csv_bytes(HEADER, rows))).json()
    assert (out["invalid"], out["duplicates_in_file"], out["dnd"], out["to_commit"]) == (1, 1, 1, 3)
    table = await rejects_csv(app, out)
    assert [(r[0], r[1], r[5], r[6]) for r in table[1:]] == [
        ("98765 4322", "Short Number", "3", "mobile: '98765 4322': not a valid phone number"),
        ("(+91) 98765-43214", "On DND", "6", "on the DND list: excluded"),
        ("98765 43220", "Asha Twice", "7", "the same mobile as row 2: skipped")]
    result = await (await commit(app, out["id"])).json()
    assert result["rows_committed"] == 3
    assert result["skipped"] == {"invalid": 1, "duplicate": 1, "dnd": 1}
    assert "+919876543214" not in await work_items_per_customer(sessions)


async def test_strict_mode_refuses_an_invalid_row_and_commits_a_clean_file(app, sessions):
    out = await (await upload(app, csv_bytes(HEADER, FOUR))).json()
    resp = await commit(app, out["id"], strict=True)
    refused = await resp.json()
    assert resp.status == 409 and refused["reason"] == "invalid_rows"
    assert await work_items_per_customer(sessions) == {}
    resp = await commit(app, out["id"], strict="yes")
    assert resp.status == 409 and (await resp.json())["reason"] == "invalid_request"
    clean = await (await upload(app, csv_bytes(HEADER, [FOUR[0]]))).json()
    resp = await commit(app, clean["id"], strict=True)
    assert resp.status == 200 and (await resp.json())["rows_committed"] == 1


async def test_the_fixed_rejects_file_uploaded_again_adds_only_the_fixed_customer(app, sessions):
    first = await (await upload(app, csv_bytes(HEADER, FOUR))).json()
    assert (await commit(app, first["id"])).status == 200
    table = await rejects_csv(app, first)
    table[1][0] = "98765 43221"   # fixed in Excel
    fixed = io.StringIO()
    csv.writer(fixed).writerows(table)
    fixed_bytes = fixed.getvalue().encode("utf-8-sig")

    again = await (await upload(app, fixed_bytes, name="rejects-fixed.csv")).json()
    assert (again["status"], again["total"], again["new"], again["invalid"]) == ("validated", 1, 1, 0)
    assert again["columns"] == ["mobile", "name", "store_code", "birthday", "loyalty_tier"]
    result = await (await commit(app, again["id"])).json()
    assert (result["created"], result["work_items"], result["rows_committed"]) == (1, 1, 1)
    async with sessions() as session:
        fixed_customer = await session.scalar(select(Customer).where(Customer.mobile == "+919876543221"))
    assert fixed_customer.name == "Short Number" and fixed_customer.birthday == dt.date(1991, 3, 6)
    assert fixed_customer.data == {"loyalty_tier": "Silver"}   # no "row" or "reason" kept

    # the whole original file and the fixed rows once more: updates, no second work item
    whole = await (await upload(app, csv_bytes(HEADER, [*FOUR, fixed.getvalue().splitlines()[1]]))).json()
    assert (whole["total"], whole["new"], whole["duplicates_existing"], whole["invalid"]) == (5, 0, 4, 1)
    assert whole["already_in_campaign"] == 4
    result = await (await commit(app, whole["id"])).json()
    assert (result["created"], result["updated"], result["work_items"], result["already_in_campaign"]) == (0, 4, 0, 4)
    assert await work_items_per_customer(sessions) == {
        "+919876543220": 1, "+919876543221": 1, "+919876543222": 1, "+919876543223": 1}


async def test_an_xlsx_with_mixed_columns_keeps_its_header_in_the_rejects(app, sessions):
    book = openpyxl.Workbook()
    sheet = book.active
    header = ["Customer Name", "Points", "Mobile Number", None, "Date of Birth", "Last Visit"]
    sheet.append(header)
    sheet.append(["Asha", 1200, 9876543230, "no header", dt.datetime(1990, 3, 5), "2024-11-02"])
    sheet.append(["Typo", 30, 987654323, "kept", dt.datetime(1985, 1, 2), None])
    sheet.append(["Landline", 5, "011 2345 6789", None, "31/02/1990", None])
    data = io.BytesIO()
    book.save(data)
    out = await (await upload(app, data.getvalue(), name="mixed.xlsx")).json()
    assert (out["total"], out["invalid"], out["to_commit"]) == (3, 2, 1)
    table = await rejects_xlsx(app, out)
    assert table[0] == ["Customer Name", "Points", "Mobile Number", None, "Date of Birth", "Last Visit",
                        "Row", "Reason"]
    assert table[1][:7] == ["Typo", "30", "987654323", "kept", "1985-01-02", None, 3]
    assert table[2][:7] == ["Landline", "5", "011 2345 6789", None, "31/02/1990", None, 4]
    assert "landline" in table[2][7] and "'31/02/1990' is not a date that exists" in table[2][7]
    assert (await rejects_csv(app, out))[0] == ["Customer Name", "Points", "Mobile Number", "",
                                                "Date of Birth", "Last Visit", "Row", "Reason"]
    assert (await commit(app, out["id"])).status == 200

    # fixed in Excel and uploaded as it is: the Row and Reason columns are ignored
    resp = await app.client.get(out["rejects_xlsx_url"], headers=app.headers("manager_n"))
    fixed = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    fixed.active["C2"] = "9876543231"
    fixed.active["C3"] = "98765 43232"
    fixed.active["E3"] = "28/02/1990"
    data = io.BytesIO()
    fixed.save(data)
    again = await (await upload(app, data.getvalue(), name="mixed-rejects.xlsx")).json()
    assert (again["total"], again["new"], again["invalid"]) == (2, 2, 0), again
    result = await (await commit(app, again["id"])).json()
    assert (result["created"], result["work_items"]) == (2, 2)
    assert len(await work_items_per_customer(sessions)) == 3


async def test_a_file_with_nothing_valid_is_refused_with_a_sentence(app, sessions):
    rows = ["98765 4322,Short,DEL01,,", "abc,Letters,DEL01,,", "(+91) 98765-43214,On DND,DEL01,,"]
    out = await (await upload(app, csv_bytes(HEADER, rows))).json()
    assert (out["status"], out["to_commit"], out["rejected"]) == ("rejected", 0, 3)
    assert len(await rejects_csv(app, out)) == 4
    resp = await commit(app, out["id"])
    refused = await resp.json()
    assert resp.status == 409 and refused["reason"] == "no_valid_rows"
    assert refused["message"].startswith("none of the upload's 3 row(s) can be committed")
    assert await work_items_per_customer(sessions) == {}


@pytest.mark.parametrize("who, status", [("manager_s", 404), ("agent_n", 403)])
async def test_the_rejects_are_the_campaign_managers(app, who, status):
    out = await (await upload(app, csv_bytes(HEADER, FOUR))).json()
    for url in (out["rejects_csv_url"], out["rejects_xlsx_url"]):
        assert (await app.client.get(url, headers=app.headers(who))).status == status
