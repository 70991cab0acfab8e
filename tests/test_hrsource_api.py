"""The HR source through the JSON API and the page, against a small HR system
on 127.0.0.1: an admin configures it (OAuth2 client credentials, a paged
list), fetches now, reads the head-count report and commits it; leavers are
disabled and their customers re-allocated, movers moved, joiners created,
exactly as with an uploaded file. Every way the HR system goes wrong is a
failed fetch with a plain error, nothing changed; secrets never come back
nor reach the logs."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from callcenter.hrsource.models import HrSource
from callcenter.models import AuditEntry, User
from callcenter.work.models import WorkItem
from tests.fake_hr import ACCESS_TOKEN, CLIENT_SECRET, STATIC_TOKEN
from tests.hr_setup import api, hr, known, source_settings, todays_list  # noqa: F401 - fixtures
from tests.light_app import call, page

SECRETS = (CLIENT_SECRET, ACCESS_TOKEN, STATIC_TOKEN)


async def users_by_employee_id(sessions) -> dict:
    async with sessions() as s:
        return {u.employee_id: u for u in (await s.scalars(select(User).where(User.employee_id.is_not(None))))}


async def test_an_admin_configures_the_source_fetches_now_and_commits_the_report(api, hr, known, sessions,
                                                                                caplog):
    caplog.set_level(logging.DEBUG)
    hr.employees = todays_list()
    assert (await call(api, "PUT", "/api/v1/hrsource", "manager_n", source_settings(hr)))[0] == 403
    status, body = await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr))
    assert status == 200 and body["client_secret_set"] is True and body["static_token_set"] is False
    status, shown = await call(api, "GET", "/api/v1/hrsource", "admin")
    assert shown["list_url"] == hr.url("/api/employees") and shown["mapping"]["store_code"] == "store.code"
    assert CLIENT_SECRET not in str(body) + str(shown)
    async with sessions() as s:
        stored = await s.get(HrSource, 1)
        assert stored.client_secret_sealed and CLIENT_SECRET not in stored.client_secret_sealed

    status, fetched = await call(api, "POST", "/api/v1/hrsource/fetch", "admin")
    assert status == 201, fetched
    fetch, report = fetched["fetch"], fetched["headcount"]
    assert (fetch["status"], fetch["trigger"], fetch["requested_by"]) == ("validated", "manual", "admin")
    assert (fetch["employees"], fetch["pages"]) == (12, 6)             # two per page, through links.next
    assert report["status"] == "validated" and report["invalid"] == 0
    assert report["planned"] == {"create": 2, "move": 1, "update": 0, "deactivate": 1, "reactivate": 0,
                                 "unchanged": 8}
    assert hr.token_requests == [{"content_type": "application/x-www-form-urlencoded",
                                  "grant_type": "client_credentials", "client_id": "callcenter",
                                  "client_secret": CLIENT_SECRET}]
    assert set(hr.list_requests) == {f"Bearer {ACCESS_TOKEN}"}
    assert (await users_by_employee_id(sessions))["E100"].active is True   # nothing applied yet

    status, committed = await call(api, "POST", f"/api/v1/headcount/{report['id']}/commit", "admin")
    assert status == 200 and (committed["deactivated"], committed["moved"], committed["created"]) == (1, 1, 2)
    assert committed["work_reallocated"] == 3
    users = await users_by_employee_id(sessions)
    assert users["E100"].active is False
    assert users["E101"].active is True                                  # "On Notice" counts as active
    assert users["E102"].store_id == api.rows["s1"]
    assert (users["E200"].mobile, users["E200"].languages, users["E200"].store_id) == (
        "+919876543210", "hi,en", api.rows["s1"])
    assert users["E201"].mobile == "+919876543211"
    async with sessions() as s:
        owners = set((await s.scalars(select(WorkItem.agent_id).where(WorkItem.id.in_(known["items"])))).all())
        assert owners and known["ids"]["E100"] not in owners and None not in owners
        audit = " ".join(str(a.details) for a in (await s.scalars(select(AuditEntry))).all())
    _, listed = await call(api, "GET", "/api/v1/hrsource/fetches", "admin")
    assert [(f["id"], f["status"], f["upload_status"]) for f in listed["fetches"]] == [
        (fetch["id"], "validated", "committed")]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HR source fetch" in logged
    assert not [secret for secret in SECRETS if secret in logged or secret in audit]


@pytest.mark.parametrize("changes, status, error, words", [
    ({"client_secret": "not-the-secret-value"}, 502, "hr_source_failed", "the token URL answered 401"),
    ({"auth": "token", "static_token": "a-stale-fixed-token"}, 502, "hr_source_failed",
     "the employee list URL answered 401"),
    ({"list_url": "/api/slow", "auth": "none", "paging": "none", "timeout_seconds": 1}, 503,
     "hr_source_unreachable", "the employee list URL timed out after 1 s"),
    ({"list_url": "/api/garbage", "auth": "none"}, 502, "hr_source_failed",
     "the answer of the employee list URL is not JSON"),
    ({"list_url": "/api/huge", "auth": "none", "paging": "none"}, 502, "hr_source_failed",
     "the answer of the employee list URL is larger than 1 MB"),
    ({"list_url": "/api/huge-stream", "auth": "none", "paging": "none"}, 502, "hr_source_failed",
     "the answer of the employee list URL is larger than 1 MB"),
    ({"list_path": "data.staff"}, 502, "hr_source_failed", "the answer had no list at data.staff (page 1)"),
    ({"list_url": "/api/elsewhere", "auth": "none"}, 502, "hr_source_failed",
     "the next-page link points to another server than the employee list URL"),
    ({"max_pages": 3}, 502, "hr_source_failed", "the list goes on past 3 pages: raise the page limit"),
])
async def test_a_failing_hr_system_is_a_failed_fetch_in_plain_words(api, hr, known, sessions, settings, caplog,
                                                                   changes, status, error, words):
    caplog.set_level(logging.DEBUG)
    settings.work.upload_max_mb = 1
    hr.employees = todays_list()
    if changes.get("list_url"):
        changes = {**changes, "list_url": hr.url(changes["list_url"])}
    assert (await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr, **changes)))[0] == 200
    resp = await api.client.post("/api/v1/hrsource/fetch", headers=api.headers("admin"))
    body = await resp.json()
    assert (resp.status, body["error"], body["message"]) == (status, error, words)
    assert (resp.headers.get("Retry-After") is not None) == (status == 503)
    _, listed = await call(api, "GET", "/api/v1/hrsource/fetches", "admin")
    assert [(f["id"], f["status"], f["error"], f["upload_id"]) for f in listed["fetches"]] == [
        (body["fetch_id"], "failed", words, None)]
    assert (await users_by_employee_id(sessions))["E100"].active is True
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert words in logged
    assert not [s for s in (*SECRETS, "not-the-secret-value", "a-stale-fixed-token") if s in logged]


async def test_the_hr_system_down_answers_503_with_retry_after(api, hr, known):
    hr.down = True
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr))
    resp = await api.client.post("/api/v1/hrsource/fetch", headers=api.headers("admin"))
    assert resp.status == 503 and resp.headers["Retry-After"] == "60"
    assert (await resp.json())["message"] == "the token URL answered 503"


@pytest.mark.parametrize("changes, words", [
    ({"list_url": "http://hr.example.com/api/employees"}, "must use https"),
    ({"list_url": "ftp://hr.example.com/list"}, "must be a full https:// address"),
    ({"token_url": "http://10.0.0.5/token"}, "must use https"),
    ({"list_url": "https://user:pw@hr.example.com/x"}, "may not hold a user name or password"),
    ({"mapping": {"employee_id": "code"}}, "map the source field of: name, store code"),
    ({"mapping": {"salary": "pay", "employee_id": "code"}}, "unknown fields: salary"),
    ({"daily_at": "25:99"}, "is no time of day"),
    ({"max_leavers_percent": 150}, "from 0 to 100"),
    ({"auth": "magic"}, "must be one of none, token, client_credentials"),
    ({"colour": "blue"}, "unknown settings: colour"),
])
async def test_wrong_settings_are_refused_with_the_reason(api, hr, changes, words):
    status, body = await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr, **changes))
    assert (status, body["error"]) == (422, "invalid_hr_source") and words in body["message"], body
    if set(changes) <= {"list_url", "token_url", "mapping", "daily_at", "auth", "max_leavers_percent"}:
        assert body["field"] == next(iter(changes))                       # the setting to fix
    _, shown = await call(api, "GET", "/api/v1/hrsource", "admin")
    assert shown["list_url"] == "" and shown["client_secret_set"] is False      # nothing kept


async def test_an_https_name_is_accepted_without_being_looked_up_and_secrets_are_kept_or_forgotten(api, hr):
    status, body = await call(api, "PUT", "/api/v1/hrsource", "admin",
                              source_settings(hr, list_url="https://hr.example.com/api/v2/employees"))
    assert status == 200 and body["list_url"] == "https://hr.example.com/api/v2/employees"
    status, body = await call(api, "PUT", "/api/v1/hrsource", "admin", {"client_secret": "", "client_id": "cc2"})
    assert status == 200 and body["client_secret_set"] is True and body["client_id"] == "cc2"
    status, body = await call(api, "PUT", "/api/v1/hrsource", "admin", {"client_secret": None})
    assert status == 422 and body["message"] == "the client id and client secret are needed to ask for a token"
    status, body = await call(api, "PUT", "/api/v1/hrsource", "admin", {"auth": "none", "client_secret": None})
    assert status == 200 and body["client_secret_set"] is False


async def test_the_page_shows_secrets_only_as_set_and_fetch_now_leads_to_the_report(api, hr, known):
    hr.employees = todays_list()
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr))
    resp, html = await page(api, "GET", "/admin/hrsource", "admin")
    assert resp.status == 200 and 'data-secret-state="client_secret">(set)' in html
    assert 'data-secret-state="static_token">(not set)' in html and CLIENT_SECRET not in html
    assert (await page(api, "GET", "/admin/hrsource", "manager_n"))[0].status in (403, 404)
    form = {k: str(v) for k, v in source_settings(hr, client_secret="").items() if k != "mapping"}
    form.update({f"map_{k}": v for k, v in source_settings(hr)["mapping"].items()}, enabled="on")
    resp, html = await page(api, "POST", "/admin/hrsource", "admin", {**form, "max_pages": "7"})
    assert resp.status == 303, html[html.find('role="alert"'):][:300]
    _, shown = await call(api, "GET", "/api/v1/hrsource", "admin")
    assert (shown["max_pages"], shown["client_secret_set"], shown["auto_commit"]) == (7, True, False)
    resp, _ = await page(api, "POST", "/admin/hrsource/fetch", "admin")
    assert resp.status == 303 and resp.headers["Location"].startswith("/admin/headcount/")
    resp, html = await page(api, "GET", resp.headers["Location"], "admin")
    assert resp.status == 200 and "E200" in html
    hr.down = True
    resp, html = await page(api, "POST", "/admin/hrsource/fetch", "admin")
    assert resp.status == 503 and "The fetch failed: the token URL answered 503" in html
    assert 'data-status="failed"' in html and 'data-status="validated"' in html


async def test_a_json_token_request_and_page_number_paging(api, hr, known):
    hr.employees = todays_list()
    await call(api, "PUT", "/api/v1/hrsource", "admin",
               source_settings(hr, token_body="json", paging="page", page_param="page", scope="hr.read"))
    status, fetched = await call(api, "POST", "/api/v1/hrsource/fetch", "admin")
    assert status == 201 and hr.token_requests == [{
        "content_type": "application/json", "grant_type": "client_credentials", "client_id": "callcenter",
        "client_secret": CLIENT_SECRET, "scope": "hr.read"}]
    assert (fetched["fetch"]["employees"], fetched["fetch"]["pages"]) == (12, 7)   # six full, then an empty one
    assert fetched["headcount"]["planned"]["create"] == 2


async def test_a_fixed_token_and_a_top_level_list_without_status(api, hr, known, sessions):
    hr.employees = todays_list()
    mapping = {"employee_id": "code", "name": "fullName", "store_code": "store.code"}
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(
        hr, auth="token", static_token=STATIC_TOKEN, list_path="data.employees.0", paging="none",
        mapping=mapping, active_statuses=""))
    status, body = await call(api, "POST", "/api/v1/hrsource/fetch", "admin")
    assert status == 502 and body["message"] == "data.employees.0 in the answer is not a list (page 1)"
    await call(api, "PUT", "/api/v1/hrsource", "admin", {"list_path": "data.employees"})
    status, fetched = await call(api, "POST", "/api/v1/hrsource/fetch", "admin")
    assert status == 201 and hr.list_requests[-1] == f"Bearer {STATIC_TOKEN}"
    # the first page only (no paging), everyone listed active: E100 is not disabled
    assert fetched["headcount"]["planned"]["deactivate"] == 0 and fetched["fetch"]["employees"] == 2
