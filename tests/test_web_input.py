"""Odd values in query strings and paths, sent to the real routes: numbers in
other scripts' digits (``²``, ``٣``), signs, huge numbers and impossible or
far-off dates answer 4xx with the feature's error id, never 500; and no text
of a request reaches a redirect's ``Location`` header."""
from __future__ import annotations

import pytest

from tests.light_app import running_light_app
from web import requests

HUGE = "9" * 30
API = [  # (who, path and query, status, error id)
    ("manager_n", "/api/v1/reports/agents?team=²", 422, "invalid_parameter"),
    ("manager_n", "/api/v1/reports/agents?team=٣", 422, "invalid_parameter"),
    ("manager_n", "/api/v1/reports/agents?store=1_0", 422, "invalid_parameter"),
    ("manager_n", f"/api/v1/reports/agents?offset={HUGE}", 422, "invalid_parameter"),
    ("manager_n", "/api/v1/reports/overview?limit=%2B5", 422, "invalid_parameter"),
    ("manager_n", "/api/v1/reports/agents?date=0001-01-01", 422, "invalid_date"),
    ("manager_n", "/api/v1/reports/agents?date=9999-12-31", 422, "invalid_date"),
    ("manager_n", "/api/v1/reports/agents?date=２０２４-०१-01", 422, "invalid_date"),
    ("manager_n", "/api/v1/reports/nps?date=9999-12-31", 422, "invalid_date"),
    ("manager_n", "/api/v1/reports/nps?date=2024-01-01&to=0001-01-01", 422, "invalid_date"),
    ("manager_n", f"/api/v1/buckets?agent={HUGE}", 422, "invalid_request"),
    ("manager_n", "/api/v1/buckets?campaign=99999999999999999999", 422, "invalid_request"),
    ("manager_n", "/api/v1/buckets/fresh?page=²", 422, "invalid_request"),
    ("manager_n", f"/api/v1/buckets/fresh?per_page={HUGE}", 422, "invalid_request"),
    ("admin", "/api/v1/users?limit=٣", 422, "invalid_request"),
    ("admin", f"/api/v1/users?offset={HUGE}", 422, "invalid_request"),
    ("admin", "/api/v1/users?team_id=99999999999999999999", 422, "invalid_request"),
    ("manager_n", f"/api/v1/headcount?limit={HUGE}", 422, "invalid_request"),
    ("manager_n", f"/api/v1/campaigns?offset={HUGE}", 422, "invalid_campaign"),
    ("agent_n", f"/api/v1/complaints?customer={HUGE}", 422, "invalid_request"),
    ("agent_n", "/api/v1/work/²", 404, "not_found"),
    ("agent_n", f"/api/v1/work/{HUGE}", 404, "not_found"),
]
PAGES = [  # (who, path and query, status)
    ("manager_n", "/reports?page=²", 422),
    ("manager_n", f"/reports/daily?page={HUGE}", 422),
    ("manager_n", "/reports/daily?date=0001-01-01", 422),
    ("manager_n", "/reports/nps?date=9999-12-31", 422),
    ("manager_n", "/buckets?agent=²&page=٣", 200),   # pages ignore a number they cannot read
    ("manager_n", f"/buckets?agent={HUGE}&campaign={HUGE}", 200),
    ("admin", f"/admin/users?team={HUGE}&page=²", 200),
]


@pytest.fixture
async def api(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        yield app


@pytest.mark.parametrize("who, path, status, error", API, ids=[p for _w, p, _s, _e in API])
async def test_odd_numbers_and_dates_in_the_api_are_refused_by_name(api, who, path, status, error):
    resp = await api.client.get(path, headers=api.headers(who))
    body = await resp.json()
    assert (resp.status, body["error"]) == (status, error), body


@pytest.mark.parametrize("who, path, status", PAGES, ids=[p for _w, p, _s in PAGES])
async def test_odd_numbers_and_dates_on_pages_never_fail(api, who, path, status):
    resp = await api.client.get(path, headers=api.headers(who), allow_redirects=False)
    assert resp.status == status, (await resp.text())[:500]


@pytest.mark.parametrize("query", [
    "next=/buckets%0D%0ASet-Cookie:%20cc_session=planted",
    "x=%0D%0ASet-Cookie:%20cc_session=planted", "x=%0Aevil&y=%0D", "x=%E2%80%A8&q=%C3%A9",
])
async def test_the_start_page_redirect_never_carries_request_text_into_headers(api, query):
    resp = await api.client.get("/?" + query, headers=api.headers("agent_n"), allow_redirects=False)
    assert resp.status == 303
    location = resp.headers["Location"]
    assert location.startswith("/buckets") and "Set-Cookie" not in resp.headers
    assert location.isascii() and not any(c in location for c in "\r\n\x00 ")


async def test_the_start_page_keeps_its_filters(api):
    resp = await api.client.get("/?bucket=callback&q=asha+k", headers=api.headers("agent_n"),
                                allow_redirects=False)
    assert resp.headers["Location"] == "/buckets?bucket=callback&q=asha+k"


async def test_the_login_page_keeps_a_local_next_only(api):
    resp = await api.client.get("/login?next=/buckets%0D%0ASet-Cookie:%20a=1")
    assert resp.status == 200 and 'name="next" value="/"' in await resp.text()
    resp = await api.client.get("/login?next=/customers?q=%E0%A4%85")
    assert resp.status == 200 and 'name="next" value="/customers?q=%E0%A4%85"' in await resp.text()


@pytest.mark.parametrize("value, expected", [
    ("/buckets?bucket=fresh", "/buckets?bucket=fresh"), ("/x?q=%E0%A4%85", "/x?q=%E0%A4%85"),
    ("/x?q=अ", "/x?q=%E0%A4%85"), ("/a b", "/a%20b"),
    ("/a\u2028b", "/"), ("/a\u0085b", "/"), ("/a\u200eb", "/"), ("/a\tb", "/"), ("/%0d%0a", "/%0d%0a"),
    ("/.//evil.example", "/"), ("/buckets?q=a//b", "/buckets?q=a//b"), ("//evil.example", "/"), ("/\\evil", "/"),
    ("/login/", "/"), ("https://evil.example", "/"),
])
def test_safe_next_gives_a_local_path_fit_for_a_header(value, expected):
    from web.errors import safe_next
    assert safe_next(value) == expected


def test_numbers_are_ascii_digits_with_an_upper_bound():
    assert requests.ascii_whole(" 42 ") == 42 and requests.ascii_whole("0") == 0
    for raw in ("²", "٣", "１", "1_000", "+1", "-1", "1e3", "0x1", "", None, 7, "1" * 13):
        assert requests.ascii_whole(raw) is None, raw
    assert requests.iso_date("2024-11-05").isoformat() == "2024-11-05"
    for raw in ("20241105", "2024-W45-2", "２０２４-11-05", "2024-02-30", "0001-01-01", "9999-12-31", None):
        assert requests.iso_date(raw) is None, raw
