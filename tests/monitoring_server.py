"""The whole server in-process without a PBX, for the monitoring tests: the
real app (create_app: every feature, the core's loops and gauges), a managed
redis-server on a free port, the AMI link logged in to tests/fake_ami.py,
one trunk in the database, and a queue that has answered one caller and
lost one (AMI queue events fed to the queue tracker). /metrics then serves
every series the rules and the dashboard read."""
from __future__ import annotations

import asyncio
import dataclasses
import socket

from aiohttp.test_utils import TestClient, TestServer

from callcenter import db
from callcenter.config import AmiSettings, MonitoringSettings, PbxSettings, RedisSettings, Settings, WebSettings
from callcenter.trunks.service import add_trunk
from tests.fake_ami import FakeAmi
from web.app import create_app
from web.keys import SERVICES

QUEUE_EVENTS = [
    {"Event": "QueueMemberAdded", "Queue": "sales", "Interface": "PJSIP/a1", "MemberName": "a1", "Status": "1"},
    {"Event": "QueueCallerJoin", "Queue": "sales", "Uniqueid": "u1", "Channel": "PJSIP/c-1", "Position": "1"},
    {"Event": "AgentConnect", "Queue": "sales", "Interface": "PJSIP/a1", "Uniqueid": "u1", "HoldTime": "4",
     "MemberName": "a1"},
    {"Event": "QueueCallerJoin", "Queue": "sales", "Uniqueid": "u2", "Channel": "PJSIP/c-2", "Position": "1"},
    {"Event": "QueueCallerAbandon", "Queue": "sales", "Uniqueid": "u2", "HoldTime": "50"},
    {"Event": "QueueCallerLeave", "Queue": "sales", "Uniqueid": "u2"},
    {"Event": "Hangup", "Uniqueid": "u2", "Channel": "PJSIP/c-2"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_server(tmp_path, monitoring: MonitoringSettings | None = None) -> tuple[TestClient, FakeAmi]:
    ami = await FakeAmi(secret="s3cret").start()
    settings = Settings(
        path=tmp_path / "cc.toml", state_dir=tmp_path / "state", web=WebSettings(port=free_port()),
        monitoring=monitoring or MonitoringSettings(),
        redis=RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0", managed=True),
        pbx=PbxSettings(managed=False, sync_config=False),
        ami=AmiSettings(port=ami.port, secret="s3cret", admin_secret="s3cret"))
    settings.ivr = dataclasses.replace(settings.ivr, port=free_port())
    settings.state_dir.mkdir()
    engine = db.make_engine(settings.database_url)
    await db.migrate(engine)
    async with db.sessionmaker(engine)() as session, session.begin():
        await add_trunk(session, "carrier1", "127.0.0.1", 5070, "1000-1099", channels=30, actor="test")
    await engine.dispose()
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=settings.web.port))
    await client.start_server()
    services = client.server.app[SERVICES]
    await services.ami.wait_connected(10)
    for event in QUEUE_EVENTS:
        services.queues.tracker.on_event(event)
    await client.get("/healthz")  # an HTTP request for the request counters
    await asyncio.sleep(0)
    return client, ami
