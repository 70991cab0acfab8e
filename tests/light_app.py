"""The app's routes and middleware (roles, scope, error ids) without the PBX:
the real ``api_middleware`` and routes table over a Services holding only
settings, metrics and database sessions, for API tests of features that need
no Redis, Asterisk or AMI. Users of a small organisation come with bearer tokens.

    app = await light_app(settings, sessions)
    resp = await app.client.get("/api/v1/campaigns", headers=app.headers("manager_n"))
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcenter.auth.tokens import create_token
from callcenter.services import Services
from monitoring.metrics import Metrics
from tests import factories as f
from web.app import FEATURES, add_routes, api_middleware, routes_of
from web.keys import SERVICES


@dataclass
class LightApp:
    client: TestClient
    services: Services
    tokens: dict[str, str] = field(default_factory=dict)
    rows: dict = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def organisation(session) -> dict:
    """north (2 stores, a team) and south locations with their people."""
    north, south = await f.location(session, "north"), await f.location(session, "south")
    s1 = await f.store(session, north, code="DEL01")
    s2 = await f.store(session, north, code="DEL02", language="hi")
    s3 = await f.store(session, south, code="BLR01", language="kn", region="south", city="Bengaluru")
    team = await f.team(session, north, name="north-1")
    rows = {"north": north, "south": south, "s1": s1, "s2": s2, "s3": s3, "team": team}
    rows["admin"] = await f.user(session, "admin", role="admin")
    rows["manager_n"] = await f.user(session, "manager_n", role="manager", loc=north)
    rows["manager_s"] = await f.user(session, "manager_s", role="manager", loc=south)
    rows["lead_n"] = await f.user(session, "lead_n", role="teamlead", team=team)
    rows["agent_n"] = await f.user(session, "agent_n", role="agent", team=team)
    rows["exec1"] = await f.user(session, "exec1", role="agent", store=s1)
    rows["exec2"] = await f.user(session, "exec2", role="agent", store=s2)
    rows["exec3"] = await f.user(session, "exec3", role="agent", store=s3)
    return rows


async def light_app(settings, sessions, aiohttp_client=None, features=None) -> LightApp:
    """``features``: another feature list than the server's (the routes and
    names of its features)."""
    features = FEATURES if features is None else features
    services = Services(settings=settings, metrics=Metrics(), sessions=sessions, features=features)
    app = web.Application(middlewares=[api_middleware])
    app[SERVICES] = services
    add_routes(app, routes_of(features))
    async with sessions() as session:
        rows = await organisation(session)
        tokens = {}
        for name in ("admin", "manager_n", "manager_s", "lead_n", "agent_n", "exec1", "exec2", "exec3"):
            tokens[name] = await create_token(session, f"t-{name.replace('_', '-')}",
                                              user_id=rows[name].id, actor="test")
        await session.commit()
        ids = {k: v.id for k, v in rows.items()}
    client = TestClient(TestServer(app))
    await client.start_server()
    return LightApp(client, services, tokens, ids)


@contextlib.asynccontextmanager
async def running_light_app(settings, sessions):
    """``light_app`` whose client is closed when the block ends (for a fixture:
    ``async with running_light_app(settings, sessions) as app: yield app``)."""
    app = await light_app(settings, sessions)
    try:
        yield app
    finally:
        await app.client.close()


async def call(app: LightApp, method: str, path: str, who: str, body=None) -> tuple[int, object]:
    """A JSON request as ``who``: (status, decoded JSON reply)."""
    resp = await app.client.request(method, path, headers=app.headers(who), json=body)
    return resp.status, await resp.json()


async def page(app: LightApp, method: str, path: str, who: str, data=None):
    """A page request as ``who`` (form ``data`` for a POST), redirects not followed: (response, text)."""
    resp = await app.client.request(method, path, headers=app.headers(who), data=data, allow_redirects=False)
    return resp, await resp.text()
