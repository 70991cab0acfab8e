"""Two servers against one at the same click-to-call load, through nginx
(``callcenter cluster``), on the real PBX. Needs root (Asterisk in its root)
and its own network namespace, like the PBX tests:

    unshare -n bash -c 'ip link set lo up; .venv/bin/python bench/cluster_load.py \\
        [--servers 1 2] [--rounds 2] [--rate 20] [--calls 600] [--talk-ms 6000] [--json out.json]'

Each run starts a fresh cluster (``callcenter cluster --servers N``: N serve
processes, nginx, one Asterisk, one Redis, a fresh SQLite database), one 250-channel
trunk answered by a sipp carrier on 127.0.0.2 (``uas_answer_bye_nortp``:
answers, hangs up after talk-ms, no RTP) and one desktop agent per call on a
sipp UAS on 127.0.0.10. This process posts ``POST /api/v1/calls`` to nginx
at ``--rate`` calls/s (every call its own agent), then waits until every
call has ended and the trunk is free. Variants alternate run by run.

Measured over the window from the first request to the last call's end:
CPU (utime+stime from /proc) of the servers together, of nginx, Asterisk and
Redis; per call accepted. Latency: request to the 202, seen by this client
through nginx. What it says: whether a second server costs CPU per call
(leases, two AMI trackers, the live bus) and what it does to latency."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter import config as cc_config  # noqa: E402 - after the path
from callcenter.features import load_settings  # noqa: E402
from callcenter.pbx.process import AsteriskProcess  # noqa: E402
from tests.harness import Agent, TrunkSpec, seed  # noqa: E402
from tests.stack import PBX_ROOT, Sipp, free_port  # noqa: E402

CARRIER_IP, PHONE_IP = "127.0.0.2", "127.0.0.10"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
        except (OSError, ValueError):
            pass
    return total


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError):
                pass
    return found


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))] if s else float("nan")


def config(workdir: Path) -> Path:
    rtp = random.randrange(40000, 58000, 2000)
    path = workdir / "cc.toml"
    path.write_text(cc_config.render_new({
        "web": {"port": free_port("127.0.0.1", udp=False)},
        "redis": {"url": f"redis://127.0.0.1:{free_port('127.0.0.1', udp=False)}/0", "managed": True},
        "pbx": {"root": PBX_ROOT, "instance": f"bench-{uuid.uuid4().hex[:8]}", "sip_port": free_port(tcp=False),
                "rtp_start": rtp, "rtp_end": rtp + 1998, "http_port": free_port("127.0.0.1", udp=False)},
        "ami": {"port": free_port("127.0.0.1", udp=False)},
        "ivr": {"enabled": False},
    }))
    return path


async def one_run(servers: int, args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"cc-cluster-bench-{servers}-"))
    settings = load_settings(config(workdir))
    settings.state_dir.mkdir(parents=True)
    sipp_dir = workdir / "sipp"
    carrier = Sipp(sipp_dir).start("uas_answer_bye_nortp", CARRIER_IP, None, ["-d", args.talk_ms], timeout=600)
    phone = Sipp(sipp_dir).start("uas_answer_nortp", PHONE_IP, None, timeout=600)
    agents = [Agent(f"ag{n:05d}", contact=f"sip:{PHONE_IP}:{phone.port}") for n in range(args.calls)]
    token, _ = await seed(settings, agents, [TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    out = open(workdir / "cluster.out", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "callcenter.main", "cluster", "--config", str(settings.path),
                             "--servers", str(servers), "--first-port", str(free_port(udp=False, span=servers))],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{settings.web.port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
            state_file = settings.state_dir / "cluster" / "cluster.json"
            deadline = time.monotonic() + 180
            while not (state_file.exists() and await _healthy(http, url, json.loads(state_file.read_text()))):
                assert proc.poll() is None and time.monotonic() < deadline, (workdir / "cluster.out").read_text()
                await asyncio.sleep(0.5)
            state = json.loads(state_file.read_text())
            server_pids = [s["pid"] for s in state["servers"]]
            nginx_master = int((settings.state_dir / "cluster" / "nginx.pid").read_text())
            nginx_pids = [nginx_master, *children_of(nginx_master)]
            asterisk_pids = AsteriskProcess(settings).stale_pids()
            redis_pids = [p for p in children_of(proc.pid) if p not in server_pids + nginx_pids + asterisk_pids]
            groups = {"servers": server_pids, "nginx": nginx_pids, "asterisk": asterisk_pids, "redis": redis_pids}
            before = {name: cpu_seconds(pids) for name, pids in groups.items()}
            latencies, statuses = [], []
            started = time.monotonic()

            async def place(n: int) -> None:
                await asyncio.sleep(max(0.0, started + n / args.rate - time.monotonic()))
                t0 = time.monotonic()
                async with http.post(url + "/api/v1/calls", headers=headers,
                                     json={"agent": agents[n].name, "number": f"+9198{n:08d}"}) as resp:
                    await resp.read()
                    statuses.append(resp.status)
                    if resp.status == 202:
                        latencies.append(time.monotonic() - t0)
            await asyncio.gather(*(place(n) for n in range(args.calls)))
            sent = time.monotonic() - started
            while True:  # every call ended: the trunk free again
                async with http.get(url + "/api/v1/trunks", headers=headers) as resp:
                    trunk = (await resp.json())["trunks"][0]
                if trunk["in_use"] == 0 and trunk["reserved"] == 0:
                    break
                assert time.monotonic() - started < sent + args.talk_ms / 1000 + 120, trunk
                await asyncio.sleep(0.2)
            window = time.monotonic() - started
            after = {name: cpu_seconds(pids) for name, pids in groups.items()}
        accepted = statuses.count(202)
        cpu = {name: round((after[name] - before[name]) / max(accepted, 1) * 1000, 2) for name in groups}
        return {"servers": servers, "calls": args.calls, "accepted": accepted, "refused": len(statuses) - accepted,
                "rate": round(args.calls / sent, 1), "window_s": round(window, 1),
                "cpu_ms_per_call": cpu, "request_to_202_ms": {
                    "p50": round(pct(latencies, 50) * 1000, 1), "p99": round(pct(latencies, 99) * 1000, 1),
                    "max": round(max(latencies) * 1000, 1) if latencies else None}}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()
        carrier.stop()
        phone.stop()
        shutil.rmtree(settings.pbx.host_path(settings.pbx.instance_dir), ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


async def _healthy(http, url: str, state: dict) -> bool:
    for server in state["servers"]:
        try:
            async with http.get(f"http://127.0.0.1:{server['port']}/healthz") as resp:
                if resp.status != 200:
                    return False
        except aiohttp.ClientError:
            return False
    return True


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--calls", type=int, default=600)
    p.add_argument("--talk-ms", type=int, default=6000)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    results = []
    for round_ in range(args.rounds):
        for servers in args.servers:
            result = asyncio.run(one_run(servers, args))
            result["round"] = round_ + 1
            print(json.dumps(result), flush=True)
            results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
