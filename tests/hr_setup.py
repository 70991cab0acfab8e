"""What the HR-source tests share: the light app with a session secret, a
fake HR system on 127.0.0.1, known store executives (one with open work),
and the source's settings as an admin would save them."""
from __future__ import annotations

import pytest

from callcenter.org.models import Store
from tests import factories as f
from tests.fake_hr import CLIENT_ID, CLIENT_SECRET, FakeHr, employee
from tests.light_app import running_light_app

UNCHANGED = [f"E10{n}" for n in range(3, 10)]   # seven more executives of DEL02, listed as they are
MAPPING = {"employee_id": "code", "name": "fullName", "store_code": "store.code", "status": "state",
           "languages": "langs", "mobile": "phone"}


@pytest.fixture
async def hr():
    fake = await FakeHr().start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def api(settings, sessions):
    settings.security.session_secret = "a-session-secret-of-this-install-0123456789"
    async with running_light_app(settings, sessions) as app:
        yield app


@pytest.fixture
async def known(api, sessions):
    """Ten executives with employee ids (13 active store executives in all,
    with the organisation's three); the one who resigns has open work."""
    async with sessions() as s:
        del01, del02 = await s.get(Store, api.rows["s1"]), await s.get(Store, api.rows["s2"])
        people = {"E100": await f.user(s, "ravi", store=del01, employee_id="E100", mobile="+919811100100"),
                  "E101": await f.user(s, "sita", store=del01, employee_id="E101", mobile="+919811100101"),
                  "E102": await f.user(s, "arun", store=del02, employee_id="E102", mobile="+919811100102")}
        for n, code in enumerate(UNCHANGED):
            people[code] = await f.user(s, f"exec{code.lower()}", store=del02, employee_id=code,
                                        mobile=f"+91981110020{n}")
        camp = await f.campaign(s, loc=None)
        items = [(await f.work_item(s, camp, await f.customer(s, store=del01), people["E100"])).id
                 for _ in range(3)]
        await s.commit()
        return {"ids": {k: u.id for k, u in people.items()}, "items": items}


def todays_list(resigned=("E100",)) -> list[dict]:
    """The HR system's list: E100 resigned, E101 on notice, E102 moved to
    DEL01, two new joiners, the seven others as they are."""
    rows = [employee("E100", "Ravi", "DEL01", "Resigned" if "E100" in resigned else "Active", ("en",)),
            employee("E101", "Sita", "DEL01", "Resigned" if "E101" in resigned else "On Notice", ("en",)),
            employee("E102", "Arun", "DEL01", "Active", ("en",)),
            employee("E200", "Kavya Rao", "DEL01", "Active", ("hi", "en"), phone="9876543210"),
            employee("E201", "Imran Khan", "DEL02", "Active", ("hi",), phone=9876543211)]
    rows += [employee(code, f"Exec{code.lower()}", "DEL02", "Resigned" if code in resigned else "Active",
                      ("en",)) for code in UNCHANGED]
    return rows


def source_settings(hr: FakeHr, **changes) -> dict:
    return {"enabled": True, "list_url": hr.url("/api/employees"), "auth": "client_credentials",
            "token_url": hr.url("/oauth/token"), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "list_path": "data.employees", "paging": "next", "next_field": "links.next",
            "mapping": MAPPING, "active_statuses": "Active, On Notice", "timeout_seconds": 5,
            "daily_at": "06:00", **changes}
