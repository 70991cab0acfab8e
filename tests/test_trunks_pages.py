"""Trunks in the browser and the JSON API, against the real server, Redis and
Asterisk: an admin adds a trunk through the page (with the form's CSRF token),
the config sync renders it into Asterisk within 2 s and the page lists its live
channels; a host name instead of an IP address is refused with a clear
message; removal through the page (refused while a campaign calls through
the trunk); the API adds and removes for admins only; every change audited."""
from __future__ import annotations

import asyncio
import inspect
import re
import time

import pytest
from sqlalchemy import select

from callcenter.auth.tokens import create_token
from callcenter.models import AuditEntry, Trunk
from tests import factories as f
from tests.browser import WebUser
from tests.harness import TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

ROOT = WebUser("root", "admin", password="root-password-1")
BOSS = WebUser("boss", "manager", password="boss-password-1")
FORM = {"name": "carrier-1", "host": "127.0.0.2", "port": "5070", "channels": "30",
        "inbound_headroom": "4", "dids": "8062250000-8062250099", "pilot": ""}


async def eventually(check, timeout: float = 15.0):
    """``check()`` (plain or async) true within ``timeout`` seconds (a deadline against hanging: the
    config sync looks every 2 s, or at once when poked, but a busy machine stretches that)."""
    deadline = time.monotonic() + timeout
    while not (await result if inspect.isawaitable(result := check()) else result):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.05)


async def has_endpoint(pbx_stack, name: str, present: bool = True) -> bool:
    """Whether Asterisk has loaded the PJSIP endpoint ``name`` (a trunk's)."""
    return (name in await asyncio.to_thread(pbx_stack.pjsip_endpoints)) == present


def row_of(html: str, name: str) -> str:
    start = html.index(f'data-trunk="{name}"')
    return html[start:html.index("</tr>", start)]


async def test_admin_adds_lists_and_removes_a_trunk_in_the_page(web_server, web_client, pbx_stack):
    server = await web_server(users=[ROOT, BOSS])
    admin = web_client(server)
    await admin.login("root", ROOT.password)
    resp = await admin.get("/admin")
    assert 'href="/admin/trunks"' in await resp.text()
    resp = await admin.get("/admin/trunks")
    html = await resp.text()
    assert resp.status == 200 and "No trunk yet" in html and 'value="5060"' in html

    # a host name is refused, clearly, and what was typed stays in the form
    resp = await admin.post("/admin/trunks", {**FORM, "host": "sip.carrier.example"})
    html = await resp.text()
    assert resp.status == 422
    assert "give the carrier&#39;s IPv4 address" in html and "not a host name" in html
    assert 'value="sip.carrier.example"' in html and 'value="carrier-1"' in html
    for bad, says in ((FORM | {"port": "sip"}, "port must be a whole number"),
                      (FORM | {"dids": "80622-8062250099"}, "same number of digits"),
                      (FORM | {"inbound_headroom": "30"}, "below the channel count"),
                      (FORM | {"pilot": "8062260000"}, "must be one of the trunk&#39;s DIDs")):
        resp = await admin.post("/admin/trunks", bad)
        assert resp.status == 422 and says in await resp.text(), says
    # no token, or from another site: refused
    assert (await admin.post("/admin/trunks", FORM, csrf=False)).status == 403
    assert (await admin.post("/admin/trunks", FORM, origin="https://evil.example")).status == 403
    async with server.services.sessions() as s:
        assert (await s.execute(select(Trunk))).scalars().all() == []

    resp = await admin.post("/admin/trunks", FORM)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/trunks?created=carrier-1"
    # the config sync renders it into Asterisk and loads its channels within 2 s
    await eventually(lambda: "carrier-1" in server.services.trunk_limits)
    await eventually(lambda: has_endpoint(pbx_stack, "carrier-1"), timeout=20)
    html = await (await admin.get("/admin/trunks?created=carrier-1")).text()
    assert "Trunk carrier-1 added" in html
    row = row_of(html, "carrier-1")
    assert "127.0.0.2:5070" in row and "8062250000–8062250099" in row and "pilot 8062250000" in row
    cells = dict(re.findall(r'data-label="([^"]+)"[^>]*>([^<]*)<', row))
    assert (cells["Max channels"], cells["Kept for inbound"], cells["In use"], cells["Reserved"],
            cells["Foreign"], cells["Queued"]) == ("30", "4", "0", "0", "0", "0")

    # a manager may neither see nor change trunks
    boss = web_client(server)
    await boss.login("boss", BOSS.password)
    assert (await boss.get("/admin/trunks")).status == 403
    assert (await boss.post("/admin/trunks/carrier-1/remove", {})).status == 403

    # a campaign calling through it holds the trunk
    async with server.services.sessions() as s, s.begin():
        trunk = (await s.execute(select(Trunk).where(Trunk.name == "carrier-1"))).scalar_one()
        campaign = await f.campaign(s, "Diwali calls", trunk_id=trunk.id)
    resp = await admin.post("/admin/trunks/carrier-1/remove", {})
    html = await resp.text()
    assert resp.status == 409 and "Trunk carrier-1 was not removed" in html and "Diwali calls" in html
    async with server.services.sessions() as s, s.begin():
        (await s.get(type(campaign), campaign.id)).status = "closed"
    resp = await admin.post("/admin/trunks/carrier-1/remove", {})
    assert resp.status == 303 and resp.headers["Location"] == "/admin/trunks?removed=carrier-1"
    html = await (await admin.get("/admin/trunks?removed=carrier-1")).text()
    assert "Trunk carrier-1 removed" in html and 'data-trunk="carrier-1"' not in html
    await eventually(lambda: "carrier-1" not in server.services.trunk_limits)
    await eventually(lambda: has_endpoint(pbx_stack, "carrier-1", False), timeout=20)
    async with server.services.sessions() as s:
        entries = (await s.execute(select(AuditEntry.actor, AuditEntry.action).where(
            AuditEntry.entity == "trunk").order_by(AuditEntry.id))).all()
    assert entries == [("root", "trunk.add"), ("root", "trunk.remove")]


async def test_the_trunks_api_adds_and_removes_for_admins_only(web_server):
    server = await web_server(users=[ROOT])
    async with server.services.sessions() as s, s.begin():
        admin = await create_token(s, "root-api", user_id=server.user_ids["root"], actor="test")
    body = {"name": "carrier-2", "host": "127.0.0.2", "port": 5080, "channels": 20, "dids": "8062270000-8062270009"}
    resp = await server.client.post("/api/v1/trunks", json=body, headers=server.headers())  # a manager's token
    assert resp.status == 403
    resp = await server.client.post("/api/v1/trunks", json=body | {"host": "carrier.example"},
                                    headers=server.headers(admin))
    error = await resp.json()
    assert resp.status == 422 and error["error"] == "invalid_host" and "not a host name" in error["message"]
    resp = await server.client.post("/api/v1/trunks", json=body | {"colour": "red"}, headers=server.headers(admin))
    assert resp.status == 422 and "colour" in (await resp.json())["message"]
    resp = await server.client.post("/api/v1/trunks", json=body, headers=server.headers(admin))
    assert resp.status == 201 and (await resp.json()) == {
        "name": "carrier-2", "host": "127.0.0.2", "port": 5080, "max_channels": 20, "inbound_headroom": 0,
        "dids": "8062270000-8062270009", "pilot": "8062270000", "pbx_node": "main"}
    resp = await server.client.post("/api/v1/trunks", json=body, headers=server.headers(admin))
    assert resp.status == 409 and (await resp.json())["error"] == "trunk_exists"
    await eventually(lambda: "carrier-2" in server.services.trunk_limits)
    assert (await server.trunks())["carrier-2"]["max_channels"] == 20  # the board, for team leads and up

    assert (await server.client.delete("/api/v1/trunks/carrier-2", headers=server.headers())).status == 403
    resp = await server.client.delete("/api/v1/trunks/carrier-2", headers=server.headers(admin))
    assert resp.status == 200 and (await resp.json()) == {
        "name": "carrier-2", "removed": True, "kept_for_call_records": False}
    resp = await server.client.delete("/api/v1/trunks/carrier-2", headers=server.headers(admin))
    assert resp.status == 404 and (await resp.json())["error"] == "trunk_not_found"
    await eventually(lambda: "carrier-2" not in server.services.trunk_limits)



async def test_with_a_second_pbx_node_an_admin_moves_a_trunk_and_sees_its_node_down(web_server, web_client,
                                                                                     pbx_stack):
    # a peer node whose Asterisk does not answer: its trunks are down wherever they are shown
    dead = free_port("127.0.0.1", udp=False)
    server = await web_server(users=[ROOT], trunks=[TrunkSpec("carrier", "127.0.0.2", 5070)],
                              pbx={"peers": [f"b=127.0.0.1:{dead}"]})
    admin = web_client(server)
    await admin.login("root", ROOT.password)
    html = await (await admin.get("/admin/trunks")).text()
    row = row_of(html, "carrier")
    assert 'data-node="main"' in row and "PBX down" not in row and '<option value="b">b</option>' in row

    resp = await admin.post("/admin/trunks/carrier/home", {"node": "b;x"})
    assert resp.status == 422 and "Trunk carrier was not moved" in await resp.text()
    assert (await admin.post("/admin/trunks/carrier/home", {"node": "b"}, csrf=False)).status == 403
    resp = await admin.post("/admin/trunks/carrier/home", {"node": "b"})
    assert resp.status == 303 and resp.headers["Location"] == "/admin/trunks?homed=carrier"
    # node main drops it from its Asterisk; the page and the API show it on node b, down
    await eventually(lambda: has_endpoint(pbx_stack, "carrier", present=False), timeout=20)
    await eventually(lambda: server.services.tracker.trunk_nodes.get("carrier") == "b")
    row = row_of(await (await admin.get("/admin/trunks?homed=carrier")).text(), "carrier")
    assert 'data-node="b"' in row and 'data-pbx="down"' in row
    trunk = (await server.trunks())["carrier"]
    assert (trunk["pbx_node"], trunk["pbx_up"]) == ("b", False)
    async with server.services.sessions() as s:
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "trunk.home"))).scalar_one()
    assert entry.actor == "root" and (entry.details["before"], entry.details["after"]) == ("main", "b")
    resp = await server.client.post("/api/v1/trunks", json={"name": "carrier-2", "host": "127.0.0.3",
                                                            "dids": "8062260000-8062260009", "pbx_node": "b c"},
                                    headers=server.headers(await _admin_token(server)))
    assert resp.status == 422 and (await resp.json())["error"] == "invalid_node"


async def _admin_token(server) -> str:
    async with server.services.sessions() as s, s.begin():
        return await create_token(s, f"adm-{time.monotonic_ns()}", user_id=server.user_ids["root"], actor="test")
