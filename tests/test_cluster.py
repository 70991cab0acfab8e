"""Two real ``serve`` processes behind nginx, as ``callcenter cluster`` runs
them, on one Asterisk and one Redis it starts itself (and the suite's
database: SQLite or PostgreSQL). Whichever server a request lands on, the
answer is the same: a call placed through one is watched and hung up through
the other, a burst split over both never over-books the trunk, and the PBX's
owner killed mid-call (SIGKILL) leaves the call's row to the survivor."""
from __future__ import annotations

import asyncio
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from callcenter import config as cc_config
from callcenter.features import load_settings
from callcenter.pbx.process import AsteriskProcess
from tests.harness import Agent, TrunkSpec, eventually, seed
from tests.postgres import query
from tests.stack import PBX_ROOT, AmiClient, free_port
from tests.test_trunk_capacity import burst_lines

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"
START_TIMEOUT = 120  # Asterisk, then each server one after the other, on a busy machine


@dataclass
class RunningCluster:
    settings: object
    proc: subprocess.Popen
    output: Path
    token: str
    agent_tokens: dict
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:  # nginx: the one address
        return f"http://127.0.0.1:{self.settings.web.port}"

    def state(self) -> dict:
        return json.loads((self.settings.state_dir / "cluster" / "cluster.json").read_text())

    def server_url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.state()['servers'][n]['port']}"

    def headers(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def get(self, base: str, path: str, token: str | None = None) -> tuple[int, dict]:
        async with self.http.get(base + path, headers=self.headers(token)) as resp:
            return resp.status, await resp.json()

    async def post(self, base: str, path: str, body: dict | None = None, token: str | None = None):
        async with self.http.post(base + path, json=body or {}, headers=self.headers(token)) as resp:
            return resp.status, await resp.json()

    async def health(self, n: int) -> dict:
        """The server's /healthz, {} when it does not answer within 3 s."""
        try:
            async with self.http.get(self.server_url(n) + "/healthz",
                                     timeout=aiohttp.ClientTimeout(total=3)) as resp:
                return await resp.json()
        except (aiohttp.ClientError, OSError, ValueError, asyncio.TimeoutError):
            return {}

    async def owner(self) -> int | None:
        """The server (0, 1) holding the PBX's lease."""
        for n in (0, 1):
            if (await self.health(n)).get("leases", {}).get("pbx:main", {}).get("held"):
                return n
        return None

    async def ami(self) -> AmiClient:
        a = self.settings.ami
        return await AmiClient.connect(a.host, a.port, a.admin_username, a.admin_secret, events=False)

    async def trunk_channels(self, trunk: str = "carrier") -> int:
        ami = await self.ami()
        try:
            _, channels = await ami.list_action("CoreShowChannels")
        finally:
            await ami.close()
        return sum(1 for c in channels if c.get("Channel", "").startswith(f"PJSIP/{trunk}-"))


def _ports(used: set[int], span: int = 1, **kwargs) -> int:
    """A free port (``span`` in a row) none of ``used`` (picked, not bound yet)."""
    while True:
        port = free_port("127.0.0.1", span=span, **kwargs)
        if used.isdisjoint(range(port, port + span)):
            used.update(range(port, port + span))
            return port


def _config(tmp_path: Path, used: set[int]) -> Path:
    rtp = random.randrange(40000, 58000, 2000)
    overrides = {
        "web": {"port": _ports(used, udp=False)},
        "redis": {"url": f"redis://127.0.0.1:{_ports(used, udp=False)}/0", "managed": True,
                  "key_prefix": f"cl{uuid.uuid4().hex[:6]}:", "lease_seconds": 3.0},
        "pbx": {"root": PBX_ROOT, "instance": f"cluster-{uuid.uuid4().hex[:8]}", "sip_host": "127.0.0.1",
                "sip_port": _ports(used, tcp=False), "rtp_start": rtp, "rtp_end": rtp + 1998,
                "http_port": _ports(used, udp=False)},
        "ami": {"host": "127.0.0.1", "port": _ports(used, udp=False)},
        "ivr": {"port": _ports(used, udp=False)},
    }
    path = tmp_path / "cc.toml"
    path.write_text(cc_config.render_new(overrides))
    return path


@pytest.fixture
async def cluster(tmp_path):
    """Factory: ``await cluster(agents, trunks)`` -> a RunningCluster of two
    servers, stopped (SIGTERM, then whatever is left killed) at the end."""
    started: list[RunningCluster] = []

    async def start(agents=(), trunks=()) -> RunningCluster:
        used: set[int] = set()
        config = _config(tmp_path, used)
        settings = load_settings(config)
        settings.state_dir.mkdir(parents=True)
        token, agent_tokens = await seed(settings, agents, trunks)
        output = tmp_path / "cluster.out"
        first, first_ivr = _ports(used, span=2, udp=False), _ports(used, span=2, udp=False)
        with open(output, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "callcenter.main", "cluster", "--config", str(config),
                                     "--first-port", str(first), "--first-ivr-port", str(first_ivr)],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        running = RunningCluster(settings, proc, output, token, agent_tokens, aiohttp.ClientSession())
        started.append(running)

        async def up():
            assert proc.poll() is None, output.read_text()[-3000:]
            if not (settings.state_dir / "cluster" / "cluster.json").exists():
                return False
            healths = [await running.health(n) for n in (0, 1)]
            return all(h.get("status") == "ok" for h in healths) and await running.owner() is not None
        await eventually(up, "the cluster's two servers healthy and an owner of the PBX", START_TIMEOUT, 0.5)
        return running

    yield start
    for running in started:
        await running.http.close()
        running.proc.send_signal(signal.SIGTERM)
        try:
            running.proc.wait(60)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            running.proc.wait()
        for pid in [s.get("pid") for s in _state_or_empty(running)["servers"]] + \
                AsteriskProcess(running.settings).stale_pids():
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _state_or_empty(running: RunningCluster) -> dict:
    try:
        return running.state()
    except (OSError, ValueError):
        return {"servers": []}


def _log(running: RunningCluster, n: int) -> str:
    return Path(running.state()["servers"][n]["log"]).read_text(errors="replace")


async def _wait_call(running: RunningCluster, base: str, call_id: str, states, timeout: float = 30.0) -> dict:
    async def reached():
        status, call = await running.get(base, f"/api/v1/calls/{call_id}")
        return call if status == 200 and call["state"] in states else None
    return await eventually(reached, f"call {call_id} {states} at {base}", timeout, 0.1)


async def test_two_servers_behind_nginx_are_one_system(cluster, sipp):
    carrier = sipp("uas_answer", CARRIER_IP, free_port(CARRIER_IP, tcp=False), timeout=120)
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False), timeout=120)
    running = await cluster(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                            trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    a, b = running.server_url(0), running.server_url(1)

    # both started cleanly from their copies ([pbx]/[redis] managed = false); nginx spreads requests
    for n in (0, 1):
        log = _log(running, n)
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
    seen = Counter()
    for _ in range(6):
        seen[(await running.get(running.url, "/healthz"))[1]["server"]] += 1
    assert len(seen) == 2 and min(seen.values()) >= 2, seen

    # a large upload goes through nginx whole to a server (which answers: no such campaign)
    form = aiohttp.FormData()
    body = b"mobile,name\r\n" + b"+919876543210,Asha\r\n" * 150_000  # 3 MB
    form.add_field("file", io.BytesIO(body), filename="big.csv", content_type="text/csv")
    async with running.http.post(running.url + "/api/v1/campaigns/999999/uploads", data=form,
                                 headers=running.headers()) as resp:
        assert resp.status == 404 and (await resp.json())["error"], await resp.text()

    # asha's panel socket on B (through nginx's WebSocket upgrade, then B directly)
    sockets = [await running.http.ws_connect(base + "/ws", headers=running.headers(running.agent_tokens["asha"]),
                                             heartbeat=None) for base in (running.url, b)]
    for ws in sockets:
        assert json.loads((await ws.receive(timeout=10)).data)["type"] == "hello"

    status, placed = await running.post(a, "/api/v1/calls", {"agent": "asha", "number": "9876543210"})
    assert status == 202, placed
    call = await _wait_call(running, b, placed["id"], {"connected"})  # B sees what A placed
    assert call["agent"] == "asha"
    status, body = await running.post(b, f"/api/v1/calls/{placed['id']}/hangup")
    assert status == 202, body
    ended = await _wait_call(running, running.url, placed["id"], {"ended"})
    assert ended["end_reason"] == "completed", ended
    status, body = await running.post(a, f"/api/v1/calls/{placed['id']}/hangup")  # A knows it ended
    assert status == 409 and body["error"] == "call_ended", body

    for ws in sockets:  # each socket heard the call placed on A, to its end
        states = []
        while "ended" not in states:
            msg = json.loads((await ws.receive(timeout=20)).data)
            if msg["type"] == "call" and msg["call"]["id"] == placed["id"]:
                states.append(msg["call"]["state"])
        assert "connected" in states, states
        await ws.close()
    await eventually(lambda: _no_channels(running), "Asterisk back to no channel", 15, 0.2)
    status, trunks = await running.get(running.url, "/api/v1/trunks")
    [trunk] = [t for t in trunks["trunks"] if t["name"] == "carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0, trunk

    # a caller dials a DID: Asterisk's dialplan reaches a server's IVR through nginx
    sip = running.settings.pbx
    caller = sipp("builtin:uac", CARRIER_IP, free_port(CARRIER_IP, tcp=False),
                  [f"{sip.sip_host}:{sip.sip_port}", "-s", "8062247001", "-m", "1", "-d", "3000"])

    async def ivr_sessions():
        total = 0
        for base in (a, b):
            async with running.http.get(base + "/metrics") as resp:
                for line in (await resp.text()).splitlines():
                    if line.startswith("callcenter_ivr_sessions_total{"):
                        total += float(line.rsplit(" ", 1)[1])
        return total
    assert await eventually(ivr_sessions, "the caller's IVR session ended on a server", 30, 0.5) == 1
    caller.stop()


async def _no_channels(running: RunningCluster) -> bool:
    ami = await running.ami()
    try:
        _, channels = await ami.list_action("CoreShowChannels")
    finally:
        await ami.close()
    return not channels


@pytest.mark.load
async def test_a_burst_split_over_two_servers_never_overbooks_the_trunk(cluster, sipp):
    trunk, agents = burst_lines(sipp, timeout=240)
    running = await cluster(agents=agents, trunks=[trunk])
    servers = [running.server_url(0), running.server_url(1)]

    peak, sampling = 0, True

    async def sample():
        nonlocal peak
        while sampling:
            try:
                peak = max(peak, await running.trunk_channels())
            except (asyncio.TimeoutError, OSError):  # the sampler's own login, slow on a loaded machine:
                pass                                 # that sample is skipped, the next one counts
            await asyncio.sleep(1.0)  # the calls talk 30 s: the plateau is long; each sample is a login

    sampler = asyncio.create_task(sample())
    started = time.monotonic()
    results = await asyncio.gather(*(running.post(servers[n % 2], "/api/v1/calls",
                                                  {"agent": a.name, "number": f"+9198{n:08d}"})
                                     for n, a in enumerate(agents)))
    took = time.monotonic() - started
    statuses = Counter(status for status, _ in results)
    accepted = [(servers[n % 2], body["id"]) for n, (status, body) in enumerate(results) if status == 202]
    errors = Counter(body.get("error") for status, body in results if status != 202)
    said = (statuses, errors, f"the burst took {took:.1f} s")
    # On SQLite (one writer for both servers) a loaded machine may answer a few requests with a clean
    # 503 database_unavailable (the lock waited past busy_timeout): refused, never admitted, so never
    # over-booked; the trunk is then short of those few.
    refused_by_database = errors["database_unavailable"]
    assert refused_by_database <= 10 and set(errors) <= {"trunk_full", "database_unavailable"}, said
    if took < 25:  # no call can have ended yet (they talk 30 s): at most the trunk's channels admitted
        assert 250 - refused_by_database <= statuses[202] <= 250 and statuses[503] == 1000 - statuses[202], said
    else:  # a very slow machine: calls ended during the burst and freed channels for later requests
        assert statuses[202] >= 250 - refused_by_database and set(statuses) == {202, 503}, said
    assert {base for base, _ in accepted} == set(servers)  # both servers admitted calls

    async def all_ended():
        for base, call_id in accepted:
            if (await running.get(base, f"/api/v1/calls/{call_id}"))[1]["state"] != "ended":
                return False
        return True
    try:
        await eventually(all_ended, "every admitted call ended", 90, 1.0)
    except AssertionError:
        # The carrier stand-in drops a few calls under load: sipp aborts a call whose
        # INVITE Asterisk retransmitted before sipp's 200 OK arrived, and never sends
        # its BYE (its errors.log: "Aborting call on unexpected message"). Asterisk
        # rightly keeps those up; the agents hang them up.
        left = [(base, call_id) for base, call_id in accepted
                if (await running.get(base, f"/api/v1/calls/{call_id}"))[1]["state"] != "ended"]
        assert len(left) <= 80, f"{len(left)} calls still up 90 s after a 30 s talk"  # 55 seen, loaded CI
        for base, call_id in left:
            await running.post(base, f"/api/v1/calls/{call_id}/hangup")
        await eventually(all_ended, "every admitted call ended", 60, 1.0)
    sampling = False
    await sampler
    assert 200 <= peak <= 250, f"the burst peaked at {peak} channels on a 250-channel trunk"
    await eventually(lambda: _no_channels(running), "Asterisk back to no channel", 20, 0.5)
    status, trunks = await running.get(running.url, "/api/v1/trunks")
    [trunk] = [t for t in trunks["trunks"] if t["name"] == "carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0, trunk


async def test_the_owner_killed_mid_call_the_other_finishes_its_row(cluster, sipp):
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 10000], timeout=120)
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False), timeout=120)
    running = await cluster(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                            trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    owner = await running.owner()
    other = 1 - owner
    owner_url, other_url = running.server_url(owner), running.server_url(other)
    owner_pid = running.state()["servers"][owner]["pid"]

    status, placed = await running.post(owner_url, "/api/v1/calls", {"agent": "asha", "number": "9876543210"})
    assert status == 202, placed
    await _wait_call(running, other_url, placed["id"], {"connected"})
    os.kill(owner_pid, signal.SIGKILL)
    killed = time.monotonic()

    # the survivor, or the killed server started again by the cluster (whichever asks
    # first once the dead holder's lease ran out), owns the PBX within a lease and a renewal
    seen: dict[int, dict] = {}

    async def new_owner():
        for n in (0, 1):
            seen[n] = await running.health(n)
            lease = seen[n].get("leases", {}).get("pbx:main", {})
            if lease.get("held") and lease.get("token", 0) > 1:
                return n + 1  # true for server 0 too
        return None
    try:
        now_owner = await eventually(new_owner, "another process owning the PBX", 30, 0.2) - 1
    except AssertionError as error:
        raise AssertionError(f"{error}; last /healthz seen: {seen}") from None
    took_over = time.monotonic() - killed
    assert took_over < 20, f"took over after {took_over:.1f} s"  # a lease (3 s) and a renewal, on a busy box

    # the carrier hangs up at 10 s; the new owner sees it and writes the end, once
    call = await _wait_call(running, running.server_url(now_owner), placed["id"], {"ended"}, timeout=40)
    assert call["end_reason"] == "completed" and call["hangup_by"] == "customer", call
    assert (await _wait_call(running, other_url, placed["id"], {"ended"}))["end_reason"] == "completed"
    await eventually(lambda: _no_channels(running), "Asterisk back to no channel", 15, 0.2)
    rows = query(running.settings.database_url,
                 "SELECT state, ended_at IS NOT NULL FROM calls WHERE id = ?", placed["id"])
    ends = query(running.settings.database_url,
                 "SELECT count(*) FROM events WHERE kind = 'call.ended' AND entity_id = ?", placed["id"])
    assert rows == [("ended", True)] and ends == [(1,)], (rows, ends)
    status, trunks = await running.get(running.url, "/api/v1/trunks")
    [trunk] = [t for t in trunks["trunks"] if t["name"] == "carrier"]
    assert trunk["reserved"] == 0 and trunk["in_use"] == 0, trunk

    # the cluster started the killed server again: both serve
    async def restarted():
        server = running.state()["servers"][owner]
        return server["pid"] not in (None, owner_pid) and (await running.health(owner)).get("status") == "ok"
    await eventually(restarted, "the killed server started again", 60, 0.5)
