"""The CSRF token on every state-changing browser request, whatever its body,
against the real app, Redis and database: a multipart form (a file upload)
without its ``_csrf`` field first is refused before anything is stored, on
each upload route (pages and the JSON API used with the session cookie); with
the token it is accepted. And a walk over the router: every POST, PUT, PATCH
and DELETE route open to a session refuses a form without the token."""
from __future__ import annotations

import re

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from callcenter.org.models import Store
from callcenter.spreadsheets.models import Upload
from tests import factories as f
from tests.browser import WebClient, WebUser
from web import csrf
from web.app import _ROLES
from web.auth import PUBLIC

pytestmark = pytest.mark.pbx

ANITA = WebUser("anita", "admin", password="anita-password-1")
HEADCOUNT = b"Employee ID,Name,Store Code,Status,Languages,Mobile\nE200,Kavya Rao,DEL01,Active,hi,9876543210\n"
UPLOADS = [  # (page path, API path, file name, content, page's answer, API's answer)
    ("/admin/headcount", "/api/v1/headcount", "headcount.csv", HEADCOUNT, 303, 201),
    ("/dnd/import", "/api/v1/dnd/uploads", "dnd.csv", b"mobile\n9876543210\n", 303, 201),
    ("/campaigns/{campaign}/uploads", "/api/v1/campaigns/{campaign}/uploads", "customers.csv",
     b"name,mobile\nAsha,9876543210\n", 303, 201),
    ("/admin/stores/import", "/api/v1/stores/import", "stores.csv",
     b"code,name,location\nDEL77,Delhi 77,north\n", 200, 201),
]


def upload_form(token: str | None, filename: str, content: bytes, *, token_last: bool = False) -> aiohttp.FormData:
    """The form as the page sends it: ``_csrf`` first, then the file."""
    data = aiohttp.FormData()
    if token is not None and not token_last:
        data.add_field("_csrf", token)
    data.add_field("file", content, filename=filename, content_type="text/csv")
    if token is not None and token_last:
        data.add_field("_csrf", token)
    return data


async def send(browser: WebClient, method: str, path: str, data) -> tuple[int, str]:
    resp = await browser.http.request(method, browser.url(path), data=data, allow_redirects=False,
                                      headers={"Origin": browser.base})
    return resp.status, await resp.text()


async def stored(server) -> int:
    """Uploads and stores in the database: what an accepted upload adds to."""
    async with server.services.sessions() as session:
        return (await session.scalar(select(func.count()).select_from(Upload))
                + await session.scalar(select(func.count()).select_from(Store)))


@pytest.fixture
async def admin(web_server, web_client):
    server = await web_server(users=[ANITA])
    async with server.services.sessions() as session:
        north = await f.location(session, "north")
        await f.store(session, north, code="DEL01")
        server.campaign_id = (await f.campaign(session, loc=north)).id
        await session.commit()
    browser = web_client(server)
    await browser.login(ANITA.name, ANITA.password)
    assert browser.csrf
    return server, browser


@pytest.mark.parametrize("page", [True, False], ids=["page", "api-with-cookie"])
async def test_an_upload_without_its_token_first_is_refused_before_anything_is_stored(admin, page):
    server, browser = admin
    for page_path, api_path, filename, content, page_status, api_status in UPLOADS:
        path = (page_path if page else api_path).format(campaign=server.campaign_id)
        before = await stored(server)
        for token, last in ((None, False), ("not-the-token", False), (browser.csrf, True)):
            status, text = await send(browser, "POST", path, upload_form(token, filename, content, token_last=last))
            assert status == 403 and "csrf_failed" in text, (path, token, last, status, text[:300])
        assert await stored(server) == before, path
        status, text = await send(browser, "POST", path, upload_form(browser.csrf, filename, content))
        assert status == (page_status if page else api_status), (path, status, text[:500])
        assert await stored(server) > before, path


async def test_a_form_in_multipart_without_the_token_changes_nothing(admin):
    """A plain form (adding a DND number) sent as multipart: on main its handler's
    ``request.post()`` read it and the token was never asked for."""
    server, browser = admin
    form = aiohttp.FormData({"number": "9876500001"})
    form.add_field("note", b"", filename="x.txt")  # any file part makes it multipart
    status, text = await send(browser, "POST", "/dnd/add", form)
    assert status == 403 and "csrf_failed" in text
    assert (await browser.get("/api/v1/dnd/9876500001")).status == 200
    assert not (await (await browser.get("/api/v1/dnd/9876500001")).json())["dnd"]
    form = aiohttp.FormData({"_csrf": browser.csrf, "number": "9876500001"})
    form.add_field("note", b"", filename="x.txt")
    status, _ = await send(browser, "POST", "/dnd/add", form)
    assert status == 303
    assert (await (await browser.get("/api/v1/dnd/9876500001")).json())["dnd"]


async def test_every_state_changing_route_open_to_a_session_checks_the_token(admin):
    server, browser = admin
    app = server.client.server.app
    checked, public, missed = 0, [], []
    for route in app.router.routes():
        method = route.method
        if method in csrf.SAFE_METHODS or isinstance(route.resource, web.StaticResource):
            continue
        canonical = route.resource.canonical
        if PUBLIC in _ROLES[(method, canonical)]:
            public.append((method, canonical))
            continue
        path = re.sub(r"\{[^}]+\}", "1", canonical)
        multipart = aiohttp.FormData({"name": "x"})
        multipart.add_field("file", b"a,b\n", filename="f.csv")
        for body in (multipart, {"name": "x"}, None):
            status, text = await send(browser, method, path, body)
            if status != 403 or "csrf_failed" not in text:
                missed.append((method, canonical, type(body).__name__, status))
        checked += 1
    assert not missed
    assert checked > 60
    assert public == [("POST", "/login")]  # checks its own login-form token (test_web_sessions)
    assert (await browser.get("/api/v1/dnd")).status == 200  # still logged in: /logout was refused too
