"""CSRF and live-delivery rules that need no running stack: the multipart
form's first-field token (checked before the handler reads the form), local-only login redirects, who sees which event."""
from __future__ import annotations

import types

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcenter.config import Settings
from callcenter.org.scope import Scope
from web import csrf
from web.errors import safe_next
from callcenter.live import sees
from web.keys import SERVICES

TOKEN = "the-session-token"


@pytest.fixture
async def upload_app(tmp_path):
    async def upload(request: web.Request) -> web.Response:
        try:
            await csrf.verify(request, TOKEN)
        except csrf.CsrfError as error:
            return web.json_response({"error": error.error_id}, status=403)
        reader = await csrf.multipart(request)
        part = await reader.next()
        return web.json_response({"first": part.name, "text": (await part.read()).decode()})

    app = web.Application()
    app[SERVICES] = types.SimpleNamespace(settings=Settings(path=tmp_path / "cc.toml", state_dir=tmp_path))
    app.router.add_post("/upload", upload)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


def form(token: str | None) -> aiohttp.FormData:
    data = aiohttp.FormData()
    if token is not None:
        data.add_field("_csrf", token)
    data.add_field("file", b"name,mobile\nAsha,9876543210\n", filename="c.csv", content_type="text/csv")
    return data


async def test_a_multipart_form_carries_its_token_first(upload_app):
    origin = {"Origin": str(upload_app.make_url("")).rstrip("/")}
    resp = await upload_app.post("/upload", data=form(TOKEN), headers=origin)
    assert resp.status == 200 and (await resp.json()) == {"first": "file", "text": "name,mobile\nAsha,9876543210\n"}
    resp = await upload_app.post("/upload", data=form("wrong"), headers=origin)
    assert resp.status == 403
    resp = await upload_app.post("/upload", data=form(None), headers=origin)
    assert resp.status == 403
    # no Origin (nor Referer): a multipart post without the header is refused outright
    resp = await upload_app.post("/upload", data=form(TOKEN))
    assert resp.status == 403 and (await resp.json())["error"] == "origin_required"
    resp = await upload_app.post("/upload", data=form(TOKEN), headers={"Origin": "https://evil.example"})
    assert (await resp.json())["error"] == "foreign_origin"
    # with the header the body is the handler's, untouched
    resp = await upload_app.post("/upload", data=form(None), headers={**origin, "X-CSRF-Token": TOKEN})
    assert resp.status == 200 and (await resp.json())["first"] == "file"


async def test_a_multipart_body_that_is_not_a_form_or_an_oversized_token_is_refused(upload_app):
    origin = {"Origin": str(upload_app.make_url("")).rstrip("/")}
    for content_type, body in (("multipart/form-data", b"--x\r\n"),
                               ("multipart/form-data; boundary=x", b"no parts at all"),
                               ("multipart/form-data; boundary=x", b"--x--\r\n")):
        resp = await upload_app.post("/upload", data=body, headers={**origin, "Content-Type": content_type})
        assert resp.status == 403 and (await resp.json())["error"] == "csrf_failed"
    resp = await upload_app.post("/upload", data=form(TOKEN + "x" * csrf.MAX_TOKEN), headers=origin)
    assert resp.status == 403 and (await resp.json())["error"] == "csrf_failed"


@pytest.mark.parametrize("value, expected", [
    ("/buckets?bucket=fresh", "/buckets?bucket=fresh"), ("/", "/"), (None, "/"), ("", "/"),
    ("//evil.example/x", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"),
    ("/login?next=/x", "/"), ("/logout", "/"), ("/a\r\nSet-Cookie: x=1", "/"), ("buckets", "/"),
])
def test_only_local_paths_are_followed_after_login(value, expected):
    assert safe_next(value) == expected


def test_each_role_sees_the_events_of_its_own_part_of_the_hierarchy():
    about_asha = {"agent": {"id": 1, "team_id": 10, "location_id": 100}}
    assert sees(Scope("agent", user_id=1, team_id=10, location_id=100), about_asha)
    assert not sees(Scope("agent", user_id=2, team_id=10, location_id=100), about_asha)
    assert sees(Scope("teamlead", user_id=3, team_id=10, location_id=100), about_asha)
    assert not sees(Scope("teamlead", user_id=4, team_id=11, location_id=100), about_asha)
    assert sees(Scope("manager", user_id=5, location_id=100), about_asha)
    assert not sees(Scope("manager", user_id=6, location_id=200), about_asha)
    assert sees(Scope("admin", user_id=7), about_asha) and sees(Scope("admin"), about_asha)
    assert not sees(Scope("manager"), about_asha)  # a service token that is not admin
    # addressed to users: only them; to everyone: everyone
    assert sees(Scope("agent", user_id=2), {"users": [2, 9]})
    assert not sees(Scope("teamlead", user_id=3, team_id=10), {"users": [2]})
    assert sees(Scope("agent", user_id=8), {"everyone": True})
