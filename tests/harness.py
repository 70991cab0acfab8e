"""pytest plugin: the callcenter server in-process against the real PBX stack.

``call_server(agents=..., trunks=...)`` creates a fresh database (own state
folder, own Redis key prefix) with those agents and trunks, starts the app on
the session's Asterisk and Redis (not managed by the app) and returns a
:class:`Server` with an HTTP client and an admin token.
``call_server(share=first)`` starts a second ``serve`` process of the same
system: the first's database and Redis key prefix (its agents, trunks and
tokens); ``lease_seconds`` sets the leases' lifetime (callcenter/ownership)."""
from __future__ import annotations

import asyncio
import dataclasses
import inspect
import io
import time
import uuid
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcenter import db
from callcenter.auth.tokens import create_token
from callcenter.org import service as org_service
from callcenter.org.scope import Scope
from callcenter.trunks.service import add_trunk
from callcenter.users.service import create_user
from tests import sqlite_template
from web.app import create_app
from web.keys import HUB, SERVICES


@dataclass
class Agent:
    name: str
    contact: str | None = None      # desktop phone with a static contact
    mobile: str | None = None       # mobile mode
    role: str = "agent"             # a supervisor ("teamlead", "manager") with a phone of their own
    team: str | None = None         # a team of call_server(teams=...)


@dataclass
class TrunkSpec:
    name: str
    host: str
    port: int
    channels: int = 250
    headroom: int = 0
    dids: str = "8062247000-8062247749"


async def eventually(check, what: str, timeout: float = 20.0, every: float = 0.05):
    """``check()`` (plain or async) once it is true, its value returned; an
    AssertionError naming ``what`` after ``timeout`` seconds (a deadline
    against hanging, not a measurement)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(every)


class Server:
    def __init__(self, client: TestClient, token: str, settings, agent_tokens: dict[str, str]):
        self.client = client
        self.token = token
        self.settings = settings
        self.agent_tokens = agent_tokens

    @property
    def services(self):
        return self.client.server.app[SERVICES]

    @property
    def hub(self):
        return self.client.server.app[HUB]

    def headers(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def place(self, agent: str, number: str, token: str | None = None, **extra):
        body = {"agent": agent, "number": number, **extra}
        return await self.client.post("/api/v1/calls", json=body, headers=self.headers(token))

    async def call(self, call_id: str) -> dict:
        resp = await self.client.get(f"/api/v1/calls/{call_id}", headers=self.headers())
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def wait_state(self, call_id: str, states, timeout: float = 20.0) -> dict:
        states = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while True:
            call = await self.call(call_id)
            if call["state"] in states and (call["state"] != "ended" or call["end_reason"]):
                if call["state"] != "ended" or await self._settled(call_id):
                    return await self.call(call_id)
            if time.monotonic() > deadline:
                raise AssertionError(f"call {call_id} never reached {states}: {call}")
            await asyncio.sleep(0.1)

    async def _settled(self, call_id: str) -> bool:
        """The ended call's effects (row, reservations) are written."""
        await asyncio.wait_for(self.services.effects.idle.wait(), 5)
        return True

    async def trunks(self) -> dict:
        resp = await self.client.get("/api/v1/trunks", headers=self.headers())
        assert resp.status == 200, await resp.text()
        return {t["name"]: t for t in (await resp.json())["trunks"]}


@pytest.fixture
async def call_server(pbx_stack, tmp_path):
    clients: list[TestClient] = []

    async def start(agents=(), trunks=(), teams=(), pbx=None, webphone=None, share: Server | None = None,
                    lease_seconds: float | None = None, ami=None, **calls_overrides) -> Server:
        base = pbx_stack.settings
        prefix = share.settings.redis.key_prefix if share else f"t{uuid.uuid4().hex[:8]}:"
        settings = dataclasses.replace(
            base, state_dir=tmp_path / f"state-{len(clients)}",
            database=dataclasses.replace(base.database, url=share.settings.database_url if share else ""),
            redis=dataclasses.replace(base.redis, managed=False, key_prefix=prefix,
                                      lease_seconds=lease_seconds or base.redis.lease_seconds),
            pbx=dataclasses.replace(base.pbx, managed=False, sync_config=True, **(pbx or {})),
            ami=dataclasses.replace(base.ami, **(ami or {})),
            calls=dataclasses.replace(base.calls, **calls_overrides))
        if webphone:  # a feature's section: set on the copy (settings.sections), not a dataclass field
            settings.webphone = dataclasses.replace(base.webphone, **webphone)
        settings.state_dir.mkdir(parents=True)
        if share is not None:
            return await _started(clients, settings, share.token, share.agent_tokens)
        token, agent_tokens = await seed(settings, agents, trunks, teams)
        return await _started(clients, settings, token, agent_tokens)

    yield start
    for client in clients:
        await hang_up_everything(client.server.app[SERVICES].ami)
        await closed(client)


async def seed(settings, agents=(), trunks=(), teams=()) -> tuple[str, dict[str, str]]:
    """A migrated database at ``settings.database_url`` with these trunks,
    teams and agents; (a manager token, each agent's own token)."""
    sqlite_template.copy_migrated(settings.database_url)
    engine = db.make_engine(settings.database_url)
    await db.migrate(engine)
    sessions = db.sessionmaker(engine)
    agent_tokens = {}
    async with sessions() as session, session.begin():
        for spec in trunks:
            await add_trunk(session, spec.name, spec.host, spec.port, spec.dids, channels=spec.channels,
                            inbound_headroom=spec.headroom, actor="test")
        if teams:
            await org_service.create_location(session, Scope(role="admin"), "BLR", "Bengaluru", actor="test")
        for team in teams:
            await org_service.create_team(session, Scope(role="admin"), team, "BLR", actor="test")
        for agent in agents:
            user, _ = await create_user(session, settings, agent.name, agent.role,
                                        "mobile" if agent.mobile else "desktop",
                                        contact=agent.contact, mobile=agent.mobile, actor="test",
                                        team=agent.team)
            agent_tokens[agent.name] = await create_token(session, f"tok-{agent.name}", user_id=user.id,
                                                          actor="test")
        token = await create_token(session, "ops", "manager", actor="test")
    await engine.dispose()
    return token, agent_tokens


async def _started(clients: list, settings, token: str, agent_tokens: dict[str, str]) -> Server:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    clients.append(client)
    server = Server(client, token, settings, agent_tokens)
    # the app rendered this database's trunks and phones and reloads res_pjsip
    await asyncio.wait_for(server.services.pbx_sync.changed.wait(), 45)  # a busy machine reloads slowly
    await server.services.ami.wait_connected(10)
    return server


CLOSE_SECONDS = 60.0


async def closed(client: TestClient) -> None:
    """The test server closed, within CLOSE_SECONDS: a close that hangs fails
    with every task's stack (what it waits for) instead of sitting until
    pytest's 300 s timeout, which shows only the idle event loop."""
    closing = asyncio.ensure_future(client.close())
    done, _ = await asyncio.wait({closing}, timeout=CLOSE_SECONDS)
    if not done:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        closing.cancel()
        pytest.fail(f"the server did not close within {CLOSE_SECONDS:.0f} s; its tasks:\n{stacks.getvalue()}")
    closing.result()


async def hang_up_everything(ami) -> None:
    """Leave Asterisk without channels, so no test sees another's calls."""
    if not ami.connected:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        channels = await ami.action_list("CoreShowChannels")
        if not channels:
            return
        for channel in channels:
            try:
                await ami.action("Hangup", {"Channel": channel["Channel"]})
            except Exception:  # noqa: BLE001 - already gone
                pass
        await asyncio.sleep(0.1)
