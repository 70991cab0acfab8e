"""Click-to-call load benchmark on the real PBX stack (needs root, like the tests).

    .venv/bin/python bench/click_to_call_load.py [--rate 50] [--concurrent 250] [--calls 500]
                                                 [--talk-ms 5000] [--audio] [--database sqlite|postgres]
                                                 [--profile out.prof] [--json out.json]

What runs where (everything on 127.0.0.x):

* this process: Redis + Asterisk 22 in its root (``tests.stack.PbxStack``) as
  children, sipp carrier UAS on 127.0.0.2 (``uas_answer_bye_nortp -d talk-ms``:
  answers, hangs up after talk-ms) and the agents' desktop phones on
  127.0.0.10 (``uas_answer_nortp``: answers at once), and **the server
  in-process** (``create_app`` under aiohttp's ``TestServer``, a real TCP
  socket), set up like ``tests/harness.py`` does: fresh SQLite database, one
  250-channel trunk, ``concurrent + 10`` desktop agents with a static contact.
* ``--audio``: both UAS send PCMA RTP for the whole call instead (the carrier
  a 500 Hz tone with ``uas_answer_bye``, the phone 700 Hz with ``uas_answer``;
  ``bench/call_audio.py``), so Asterisk bridges and MixMonitor records real
  audio (recording is on, as in production); the WAVs are counted, sized and
  a few checked for both tones after the run.
* ``--database postgres``: the server's database is a throw-away PostgreSQL
  cluster of the bench's own with fsync on (``bench/bench_postgres.py``),
  migrated as the tests' template is; its processes' CPU is reported beside
  Asterisk's and Redis's (the database work is then outside this process).
* a child process (this script with ``--client-mode``): the HTTP load
  generator (aiohttp client, ``POST /api/v1/calls`` with a manager token) and
  the ``CoreShowChannels`` sampler (its own AMI connection, admin user). So
  the CPU time of this process is the server's alone (plus the two small
  hooks below), not the load generator's.

Pacing: request *i* is sent no earlier than ``i / rate`` after the start and
only while fewer than ``--concurrent`` calls are live; a call counts as live
from its request until the server has finished ending it (row written, trunk
channels released, agent freed): the client is told through a pipe once both
``CallEffects._finish`` and ``TrunkAccounting.end_call`` have run for it.
Before 2026-12-07 only ``_finish`` was hooked, and under load an agent was
then reused before Redis freed it (409 agent_busy): ``_finish`` also runs for
a call that ended *while* its previous row was being written, whose release
is only scheduled with the next batch. A refused request (non-202) frees its
slot at once.
When the limit binds, sending resumes at the rate without catching up.

Latency, per accepted call (both clocks are CLOCK_MONOTONIC, shared by the
two processes):
* ``request → Originate written``: from the client's ``perf_counter()`` just
  before ``session.post`` to the server entering ``AmiLink.originate`` (this
  script wraps it; the action is built and handed to the socket transport in
  the same synchronous step, before the first ``await``);
* ``request → Originate response``: to Asterisk's ``Response`` to that
  Originate (``Async: true``: "successfully queued");
* ``request → HTTP 202``: to the client having the response headers;
* the server's own ``callcenter_request_to_originate_seconds`` histogram
  (from ``ClickToCall.place`` entry to the Originate response), reported as
  the bucket bound holding p50/p99.

CPU: this process's ``time.process_time()`` (all its threads, incl. aiosqlite
workers) over the measured window, from the client's first request to the
last call ended and the server's effects idle, divided by calls accepted;
Asterisk's utime+stime from ``/proc/<pid>/stat`` (all threads) over the same
window; Redis likewise, for context. Before the window, with the server up
and no call, each process's CPU per second is measured over ``--idle-seconds``
(the server's loops and Asterisk's timers cost that however few calls come:
it weighs more per call at a low rate). With ``--database postgres``, the
cluster's processes likewise (``BenchPostgres.cpu_seconds``). ``--profile``
runs cProfile on this process's event loop over the window, timed by the
thread's CPU clock (not wall time: waits and other threads' GIL turns are
left out); it slows the server, so a profiled run's CPU figures are not
comparable with others.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"
TRUNK = "carrier"
TRUNK_CHANNELS = 250


# ================================================================ helpers

def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not samples:
        return None
    s = sorted(samples)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def histogram_quantile_bound(hist, q: float) -> float | None:
    """The upper bound of the bucket holding the q-quantile of a prometheus Histogram."""
    buckets = []
    for metric in hist.collect():
        for s in metric.samples:
            if s.name.endswith("_bucket"):
                buckets.append((float(s.labels["le"]), s.value))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return None
    want = q * buckets[-1][1]
    for le, count in buckets:
        if count >= want:
            return le
    return None


def ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 1000:.1f}"


# ================================================================ load generator (child process)

async def client_main() -> None:
    import aiohttp

    from tests.stack import AmiClient

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    cfg = json.loads(await stdin.readline())
    rate, concurrent, total = cfg["rate"], cfg["concurrent"], cfg["calls"]
    deadline = time.monotonic() + cfg["budget"]

    def say(obj) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    free_agents = collections.deque(cfg["agents"])
    slots = asyncio.Semaphore(concurrent)
    live: dict[str, str] = {}          # call id -> agent
    ended_early: set[str] = set()
    told_ended: set[str] = set()
    busy_with = collections.Counter()  # 409 agent_busy: what the client knew of the call holding the agent
    requests: dict[str, dict] = {}     # call id -> {t0, t1}
    refused = collections.Counter()
    all_ended = asyncio.Event()
    sending_done = False
    live_peak = 0

    def check_done() -> None:
        if sending_done and not live and pending_requests == 0:
            all_ended.set()

    async def read_ends() -> None:
        while True:
            line = await stdin.readline()
            if not line:
                return
            cid = line.decode().strip()
            told_ended.add(cid)
            agent = live.pop(cid, None)
            if agent is None:
                ended_early.add(cid)
                continue
            free_agents.append(agent)
            slots.release()
            check_done()

    peak = {"trunk": 0, "all": 0, "samples": 0}
    sampling = True

    async def sample() -> None:
        ami = await AmiClient.connect(cfg["ami_host"], cfg["ami_port"], cfg["ami_user"], cfg["ami_secret"],
                                      events=False)
        try:
            while sampling and time.monotonic() < deadline:
                _, channels = await ami.list_action("CoreShowChannels", timeout=10)
                n = sum(1 for c in channels if c.get("Channel", "").startswith(f"PJSIP/{TRUNK}-"))
                peak["trunk"] = max(peak["trunk"], n)
                peak["all"] = max(peak["all"], len(channels))
                peak["samples"] += 1
                await asyncio.sleep(cfg["sample_interval"])
        finally:
            await ami.close()

    pending_requests = 0
    headers = {"Authorization": f"Bearer {cfg['token']}"}
    conn = aiohttp.TCPConnector(limit=concurrent)
    async with aiohttp.ClientSession(cfg["url"], connector=conn, headers=headers) as session:

        async def request(i: int, agent: str) -> None:
            nonlocal pending_requests, live_peak
            t0 = time.perf_counter()
            cid = None
            try:
                async with session.post("/api/v1/calls", json={"agent": agent, "number": f"+9198{i:08d}"}) as resp:
                    t1 = time.perf_counter()
                    body = await resp.json(content_type=None)
                    if resp.status == 202:
                        cid = body["id"]
                    else:
                        refused[f"{resp.status} {body.get('error', '?') if isinstance(body, dict) else '?'}"] += 1
                        if isinstance(body, dict) and body.get("error") == "agent_busy":
                            held = body.get("call")   # the call the server says the agent is on
                            busy_with[("told ended" if held in told_ended else "accepted, live" if held in requests
                                       else "never accepted")] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                refused[f"client error {type(error).__name__}"] += 1
            pending_requests -= 1
            if cid is None:
                free_agents.append(agent)
                slots.release()
            else:
                requests[cid] = {"t0": t0, "t1": t1}
                if cid in ended_early:
                    ended_early.discard(cid)
                    free_agents.append(agent)
                    slots.release()
                else:
                    live[cid] = agent
                    live_peak = max(live_peak, len(live))
            check_done()

        reader = asyncio.create_task(read_ends())
        sampler = asyncio.create_task(sample())
        await asyncio.sleep(cfg["sample_interval"])  # the sampler's first look: nothing live yet
        say({"event": "start"})
        t_start = time.perf_counter()
        next_t = t_start
        tasks = []
        blocked = 0.0
        for i in range(total):
            if time.monotonic() > deadline:
                break
            now = time.perf_counter()
            if next_t > now:
                await asyncio.sleep(next_t - now)
            if slots.locked():
                b0 = time.perf_counter()
                try:
                    await asyncio.wait_for(slots.acquire(), max(0.1, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                finally:
                    blocked += time.perf_counter() - b0
            else:
                await slots.acquire()
            next_t = max(next_t + 1 / rate, time.perf_counter())
            pending_requests += 1
            tasks.append(asyncio.create_task(request(i, free_agents.popleft())))
        t_sent = time.perf_counter()
        sending_done = True
        await asyncio.gather(*tasks)
        check_done()
        try:
            await asyncio.wait_for(all_ended.wait(), max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        t_end = time.perf_counter()
        say({"event": "done", "live": len(live)})
        sampling = False
        try:
            await asyncio.wait_for(sampler, 15)
        except Exception as error:  # noqa: BLE001 - report, don't hide
            peak["error"] = repr(error)
        reader.cancel()
    say({"event": "result", "sent": len(tasks), "accepted": len(requests), "refused": dict(refused),
         "requests": requests, "still_live": len(live), "agent_busy_with": dict(busy_with), "send_seconds": t_sent - t_start,
         "run_seconds": t_end - t_start, "blocked_seconds": blocked, "live_peak": live_peak,
         "peak_trunk_channels": peak["trunk"], "peak_all_channels": peak["all"],
         "channel_samples": peak["samples"], "sampler_error": peak.get("error")})


# ================================================================ the server (this process)

async def start_server(stack, workdir: Path, agent_names: list[str], contact: str, carrier_port: int,
                       database_url: str = ""):
    """What tests/harness.py's ``call_server`` does: a fresh database (SQLite in
    the state folder, or ``database_url``, already migrated) with the trunk and
    the agents, then the app under a TestServer on 127.0.0.1."""
    from aiohttp.test_utils import TestServer

    from callcenter import db
    from callcenter.auth.tokens import create_token
    from callcenter.trunks.service import add_trunk
    from callcenter.users.service import create_user
    from web.app import create_app
    from web.keys import SERVICES

    base = stack.settings
    settings = dataclasses.replace(
        base, state_dir=workdir / "state",
        database=dataclasses.replace(base.database, url=database_url),
        redis=dataclasses.replace(base.redis, managed=False, key_prefix=f"b{uuid.uuid4().hex[:8]}:"),
        pbx=dataclasses.replace(base.pbx, managed=False, sync_config=True))
    settings.state_dir.mkdir(parents=True)
    engine = db.make_engine(settings.database_url)
    await db.migrate(engine)
    sessions = db.sessionmaker(engine)
    async with sessions() as session, session.begin():
        await add_trunk(session, TRUNK, CARRIER_IP, carrier_port, "8062247000-8062247749",
                        channels=TRUNK_CHANNELS, inbound_headroom=0, actor="bench")
        for name in agent_names:
            await create_user(session, settings, name, "agent", "desktop", contact=contact, actor="bench")
        token = await create_token(session, "bench", "manager", actor="bench")
    await engine.dispose()
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    services = server.app[SERVICES]
    await asyncio.wait_for(services.pbx_sync.changed.wait(), 15)
    await services.ami.wait_connected(10)
    return server, services, token


async def run(args) -> dict:
    from sqlalchemy import func, select

    from callcenter.models import Call
    from bench.call_audio import audio_scenarios, recordings_summary
    from bench.bench_postgres import BenchPostgres
    from tests.harness import hang_up_everything
    from tests.stack import PbxStack, Sipp, free_port

    workdir = Path(tempfile.mkdtemp(prefix="c2c-bench-"))
    budget = args.calls / args.rate + args.talk_ms / 1000 + 90   # the client gives up after this
    sipp_timeout = budget + 60
    stack = PbxStack(workdir)
    sipps: list[Sipp] = []
    server = None
    child = None
    postgres = BenchPostgres() if args.database == "postgres" else None
    try:
        database_url = await postgres.start() if postgres else ""
        await stack.start()
        if args.audio:
            carrier_scenario, phone_scenario = (str(p) for p in audio_scenarios(workdir / "audio", args.talk_ms))
        else:
            carrier_scenario, phone_scenario = "uas_answer_bye_nortp", "uas_answer_nortp"
        carrier = Sipp(workdir / "sipp").start(carrier_scenario, CARRIER_IP, free_port(CARRIER_IP, tcp=False),
                                               ["-d", args.talk_ms], timeout=sipp_timeout)
        sipps.append(carrier)
        phone = Sipp(workdir / "sipp").start(phone_scenario, PHONE_IP, free_port(PHONE_IP, tcp=False),
                                             timeout=sipp_timeout)
        sipps.append(phone)
        agents = [f"ag{n:04d}" for n in range(args.concurrent + 10)]
        server, services, token = await start_server(stack, workdir, agents, f"sip:{PHONE_IP}:{phone.port}",
                                                     carrier.port, database_url)

        # -- hooks: Originate timestamps, call ends -> the client
        written: dict[str, float] = {}
        replied: dict[str, float] = {}
        ami = services.ami
        original_originate = ami.originate

        async def originate(headers, variables, *, timeout):
            t = time.perf_counter()
            try:
                return await original_originate(headers, variables, timeout=timeout)
            finally:
                cid = variables.get("CC_CALL_ID", "")
                written[cid] = t
                replied[cid] = time.perf_counter()
        ami.originate = originate

        effects = services.effects
        accounting = effects.releases.accounting
        original_finish, original_end_call = effects._finish, accounting.end_call
        finished_ids: set[str] = set()   # _finish ran (its row written, or about to be: see the docstring)
        released_ids: set[str] = set()   # its channels and agent freed in Redis

        def tell_if_done(cid: str) -> None:
            if cid in finished_ids and cid in released_ids:
                finished_ids.discard(cid)
                released_ids.discard(cid)
                if child is not None and child.stdin is not None and not child.stdin.is_closing():
                    child.stdin.write(f"{cid}\n".encode())

        def finished(call, counted: bool = True):
            try:
                original_finish(call, counted)
            finally:
                finished_ids.add(call.call_id)
                tell_if_done(call.call_id)

        async def end_call(trunk, legs, agent_id, call_id):
            released = await original_end_call(trunk, legs, agent_id, call_id)
            released_ids.add(call_id)
            tell_if_done(call_id)
            return released
        effects._finish, accounting.end_call = finished, end_call

        ast_pid = stack.asterisk.pid
        redis_pid = stack.redis._proc.pid
        with open(f"/proc/{ast_pid}/comm") as fh:
            assert fh.read().strip().startswith("asterisk"), "stack.asterisk.pid is not Asterisk"

        # -- what each process spends with no call at all (the server's loops, Asterisk's timers)
        idle = {}
        if args.idle_seconds > 0:
            await asyncio.sleep(1)
            i0 = (time.process_time(), proc_cpu_seconds(ast_pid), proc_cpu_seconds(redis_pid),
                  postgres.cpu_seconds() if postgres else 0.0, time.perf_counter())
            await asyncio.sleep(args.idle_seconds)
            i1 = (time.process_time(), proc_cpu_seconds(ast_pid), proc_cpu_seconds(redis_pid),
                  postgres.cpu_seconds() if postgres else 0.0, time.perf_counter())
            wall = i1[4] - i0[4]
            idle = {name: round((b - a) / wall * 1000, 1)
                    for name, a, b in zip(("server", "asterisk", "redis", "postgres"), i0, i1)}
            if postgres is None:
                del idle["postgres"]

        # -- the load generator
        child = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--client-mode",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(ROOT))
        a = stack.settings.ami
        child.stdin.write((json.dumps({
            "url": str(server.make_url("/")), "token": token, "agents": agents, "rate": args.rate,
            "concurrent": args.concurrent, "calls": args.calls, "budget": budget,
            "sample_interval": args.sample_interval, "ami_host": a.host, "ami_port": a.port,
            "ami_user": a.admin_username, "ami_secret": a.admin_secret}) + "\n").encode())

        async def message(want: str) -> dict:
            t_limit = time.monotonic() + budget + 30
            while time.monotonic() < t_limit:
                line = await asyncio.wait_for(child.stdout.readline(), budget + 30)
                if not line:
                    raise RuntimeError("the load generator exited early")
                msg = json.loads(line)
                if msg.get("event") == want:
                    return msg
            raise TimeoutError(want)

        profiler = cProfile.Profile(time.thread_time) if args.profile else None  # the loop thread's CPU
        statements = count_statements(services.engine) if args.profile else None
        load_before = os.getloadavg()
        await message("start")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        ast0, redis0 = proc_cpu_seconds(ast_pid), proc_cpu_seconds(redis_pid)
        pg0 = postgres.cpu_seconds() if postgres else 0.0
        drops0 = ami.disconnects
        if profiler:
            profiler.enable()
        await message("done")
        try:
            await asyncio.wait_for(effects.idle.wait(), 10)
        except asyncio.TimeoutError:
            pass
        if profiler:
            profiler.disable()
            statements.stop()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        ast1, redis1 = proc_cpu_seconds(ast_pid), proc_cpu_seconds(redis_pid)
        pg1 = postgres.cpu_seconds() if postgres else 0.0
        if profiler:
            profiler.dump_stats(str(args.profile))
        drops = ami.disconnects - drops0
        result = await message("result")
        child.stdin.close()
        await asyncio.wait_for(child.wait(), 10)

        # -- after the window
        await asyncio.sleep(1)
        final_channels = await ami.action_list("CoreShowChannels")
        recordings = recordings_summary(stack.settings.pbx.recordings_dir)
        reserved = len(await services.accounting.reservations(TRUNK))
        async with services.sessions() as session:
            rows = (await session.execute(
                select(Call.state, Call.end_reason, Call.customer_answered_at.is_not(None), func.count())
                .group_by(Call.state, Call.end_reason, Call.customer_answered_at.is_not(None)))).all()
        m = services.metrics.request_to_originate

        reqs = result["requests"]
        to_written = [written[c] - r["t0"] for c, r in reqs.items() if c in written]
        to_replied = [replied[c] - r["t0"] for c, r in reqs.items() if c in replied]
        to_http = [r["t1"] - r["t0"] for r in reqs.values()]
        accepted = result["accepted"]
        connected = sum(n for state, _reason, answered, n in rows if answered)
        failed = collections.Counter()
        for state, reason, answered, n in rows:
            if not answered:
                failed[reason if state == "ended" else f"not ended ({state})"] += n
        for k, n in result["refused"].items():
            failed[f"refused {k}"] += n
        server_cpu, ast_cpu, pg_cpu = cpu1 - cpu0, ast1 - ast0, pg1 - pg0
        per = max(accepted, 1)
        report = {
            "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(),
                        "loadavg_before": [round(x, 2) for x in load_before]},
            "args": {"rate": args.rate, "concurrent": args.concurrent, "calls": args.calls,
                     "talk_ms": args.talk_ms, "sample_interval": args.sample_interval,
                     "audio": args.audio, "database": args.database, "profiled": bool(args.profile)},
            "placed": result["sent"], "accepted": accepted, "connected": connected, "failed": dict(failed),
            "send_seconds": round(result["send_seconds"], 2), "window_seconds": round(wall1 - wall0, 2),
            "achieved_rate": round(result["sent"] / result["send_seconds"], 1) if result["send_seconds"] else None,
            "limit_blocked_seconds": round(result["blocked_seconds"], 2), "live_calls_peak": result["live_peak"],
            "server_cpu_s": round(server_cpu, 3), "asterisk_cpu_s": round(ast_cpu, 3),
            "redis_cpu_s": round(redis1 - redis0, 3),
            "idle_cpu_ms_per_s": idle,
            "server_cpu_ms_per_call": round(server_cpu / per * 1000, 2),
            "asterisk_cpu_ms_per_call": round(ast_cpu / per * 1000, 2),
            "redis_cpu_ms_per_call": round((redis1 - redis0) / per * 1000, 2),
            "server_to_asterisk_cpu": round(server_cpu / ast_cpu, 3) if ast_cpu else None,
            "postgres_cpu_s": round(pg_cpu, 3) if postgres else None,
            "postgres_cpu_ms_per_call": round(pg_cpu / per * 1000, 2) if postgres else None,
            "server_and_postgres_to_asterisk_cpu": round((server_cpu + pg_cpu) / ast_cpu, 3)
            if postgres and ast_cpu else None,
            "postgres_settings": postgres.settings if postgres else None,
            "recordings": recordings,
            "originate_samples": len(to_written),
            "req_to_originate_written_ms": {"p50": r3(pct(to_written, 50)), "p99": r3(pct(to_written, 99)),
                                            "max": r3(max(to_written, default=None))},
            "req_to_originate_response_ms": {"p50": r3(pct(to_replied, 50)), "p99": r3(pct(to_replied, 99)),
                                             "max": r3(max(to_replied, default=None))},
            "req_to_http_202_ms": {"p50": r3(pct(to_http, 50)), "p99": r3(pct(to_http, 99)),
                                   "max": r3(max(to_http, default=None))},
            "server_histogram_ms_le": {"p50": r3(histogram_quantile_bound(m, 0.5)),
                                       "p99": r3(histogram_quantile_bound(m, 0.99))},
            "peak_trunk_channels": result["peak_trunk_channels"], "peak_all_channels": result["peak_all_channels"],
            "channel_samples": result["channel_samples"], "sampler_error": result["sampler_error"],
            "final_reserved": reserved, "final_channels": len(final_channels),
            "agent_busy_with": result["agent_busy_with"],
            "sql_statements_in_window": statements.top() if statements else None,
            "still_live_at_end": result["still_live"], "ami_disconnects_in_window": drops,
        }
        return report
    finally:
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()
        if server is not None:
            from web.keys import SERVICES
            try:
                await hang_up_everything(server.app[SERVICES].ami)
            except Exception:  # noqa: BLE001
                pass
            await server.close()
        for s in sipps:
            s.stop()
        await stack.stop()
        if postgres is not None:
            postgres.remove()
        if not os.environ.get("CC_KEEP_PBX_INSTANCE"):
            shutil.rmtree(stack.settings.pbx.host_path(stack.settings.pbx.instance_dir), ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)


class count_statements:
    """SQL statements the server sends in the window (``--profile``), by their
    first words: what the database is asked per call."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.counts: collections.Counter = collections.Counter()
        self.on = True
        self.engine = engine.sync_engine
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, _params, _context, executemany) -> None:
        if self.on:
            words = " ".join(statement.split()[:6])
            self.counts[f"{words}{' (many)' if executemany else ''}"] += 1

    def stop(self) -> None:
        self.on = False

    def top(self, n: int = 25) -> dict[str, int]:
        return dict(self.counts.most_common(n))


def r3(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def table(r: dict) -> str:
    from bench.call_audio import describe

    lat = lambda k: f"{r[k]['p50']} / {r[k]['p99']} (max {r[k]['max']})"  # noqa: E731
    a = r["args"]
    rows = [
        ("Load", f"{a['calls']} calls at {a['rate']}/s, ≤ {a['concurrent']} concurrent, talk {a['talk_ms']} ms"),
        ("Media / database", f"{'PCMA RTP both legs' if a['audio'] else 'no RTP'}, recording on / {a['database']}"
                             f"{' (profiled: CPU not comparable)' if a['profiled'] else ''}"),
        ("Machine", f"{r['machine']['nproc']} × {r['machine']['cpu']}, load average before "
                    f"{' '.join(map(str, r['machine']['loadavg_before']))}"),
        ("Calls placed / accepted (202) / connected", f"{r['placed']} / {r['accepted']} / {r['connected']}"),
        ("Failed (by end_reason)", (", ".join(f"{k}: {v}" for k, v in sorted(r["failed"].items())) or "0")
         + (f" (agent_busy: the call holding the agent, as the client knew it: {r['agent_busy_with']})"
            if r["agent_busy_with"] else "")),
        ("Sending time / achieved rate", f"{r['send_seconds']} s / {r['achieved_rate']} calls/s "
                                         f"(limit held sending {r['limit_blocked_seconds']} s)"),
        ("Measured window", f"{r['window_seconds']} s"),
        ("Server CPU per call (this process)", f"{r['server_cpu_ms_per_call']} ms ({r['server_cpu_s']} s total)"),
        ("Asterisk CPU per call", f"{r['asterisk_cpu_ms_per_call']} ms ({r['asterisk_cpu_s']} s total)"),
        ("Server / Asterisk CPU (aim ≤ 0.5; ≤ 0.15 with audio)", f"{r['server_to_asterisk_cpu']}"),
        ("Redis CPU per call", f"{r['redis_cpu_ms_per_call']} ms"),
        ("Idle CPU before the run, ms per second (no call)",
         ", ".join(f"{k} {v}" for k, v in r["idle_cpu_ms_per_s"].items()) or "not measured"),
    ]
    if r["postgres_cpu_s"] is not None:
        rows += [("PostgreSQL CPU per call (its processes)",
                  f"{r['postgres_cpu_ms_per_call']} ms ({r['postgres_cpu_s']} s total)"),
                 ("(Server + PostgreSQL) / Asterisk CPU", f"{r['server_and_postgres_to_asterisk_cpu']}")]
    rows += [
        ("Recordings", describe(r["recordings"])),
        ("Request → Originate written, p50 / p99 ms (aim p99 < 20)", lat("req_to_originate_written_ms")),
        ("Request → Originate response, p50 / p99 ms", lat("req_to_originate_response_ms")),
        ("Request → HTTP 202, p50 / p99 ms", lat("req_to_http_202_ms")),
        ("Server histogram request_to_originate p50 / p99 (bucket ≤)",
         f"{r['server_histogram_ms_le']['p50']} / {r['server_histogram_ms_le']['p99']} ms"),
        ("Peak live calls (client) / trunk channels (CoreShowChannels)",
         f"{r['live_calls_peak']} / {r['peak_trunk_channels']} ({r['channel_samples']} samples, "
         f"{r['peak_all_channels']} channels in all)"),
        ("Final reserved / channels", f"{r['final_reserved']} / {r['final_channels']}"),
        ("Server AMI link drops during the window", f"{r['ami_disconnects_in_window']}"),
    ]
    out = ["| Metric | Value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=50.0, help="calls per second (default 50)")
    p.add_argument("--concurrent", type=int, default=250, help="at most this many live calls (default 250)")
    p.add_argument("--calls", type=int, default=500, help="calls to place (default 500)")
    p.add_argument("--talk-ms", type=int, default=5000, help="carrier hangs up after this (default 5000)")
    p.add_argument("--sample-interval", type=float, default=0.5, help="CoreShowChannels every N s (default 0.5)")
    p.add_argument("--audio", action="store_true",
                   help="both UAS send PCMA RTP for the whole call (default: no RTP)")
    p.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite",
                   help="sqlite (default) or a throw-away PostgreSQL cluster of the bench's own, fsync on")
    p.add_argument("--idle-seconds", type=float, default=5.0,
                   help="first measure each process's CPU this long with no call (default 5; 0: skip)")
    p.add_argument("--profile", type=Path, help="cProfile this process over the window into this file")
    p.add_argument("--json", type=Path, help="also write the result to this file")
    p.add_argument("--client-mode", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client_mode:
        asyncio.run(client_main())
        return 0
    if os.geteuid() != 0:
        print("needs root (the PBX root is entered with chroot)", file=sys.stderr)
        return 2
    if not (1 <= args.concurrent <= TRUNK_CHANNELS) or args.rate <= 0 or args.calls < 1:
        print(f"--concurrent must be 1..{TRUNK_CHANNELS}, --rate > 0, --calls ≥ 1", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report = asyncio.run(run(args))
    print(table(report))
    line = json.dumps(report)
    if args.json:
        args.json.write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
