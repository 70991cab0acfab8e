"""Registration storm of web phones through the real server (needs root, like the tests).

    sudo unshare -n bash -c 'ip link set lo up; .venv/bin/python bench/webphone_registrations.py \
        [--phones 500] [--spread 50] [--steady 60] [--json out.json]'

What runs where (everything on 127.0.0.1):

* this process: Redis + Asterisk 22 (``tests.stack.PbxStack``) as children and
  **the server in-process** (``create_app`` under aiohttp's ``TestServer``),
  set up as tests/harness.py does (fresh SQLite database, own Redis prefix,
  config synced to Asterisk by ``PbxConfigSync``): ``--phones`` agents in
  browser mode, all with the same login password (one argon2 hash computed
  at set-up and copied: the hashing is not what is measured).
* a child process (this script with ``--client-mode``): ``--phones`` browser
  stand-ins started evenly over ``--spread`` seconds. Each: GET /login (the
  form's CSRF token), POST /login (argon2 check), GET /api/v1/phone (the
  login's fresh SIP credentials: the server writes them, re-renders
  pjsip.conf and waits until Asterisk's res_pjsip reload holds them), then
  the server's /sip WebSocket (relayed to Asterisk's) and a SIP REGISTER
  (expires 300, as web/static/phone.js) answering the digest challenge
  (tests/sip_ws.py's client; it answers Asterisk's qualify OPTIONS).

Reported:
* storm: time from the first login to all phones registered (the server's
  view from Asterisk's ContactStatus events, then checked once against
  Asterisk's own ``PJSIPShowContacts``); p50/p95/max of login (GET+POST),
  GET /api/v1/phone, REGISTER (both round trips) as the client saw them;
  res_pjsip reloads done by the config sync (a hook on
  ``callcenter.pbx.sync.reload_modules``) and how long each took; how long
  GET /api/v1/phone waited for Asterisk (a hook on ``wait_applied``);
  server CPU (``time.process_time()`` of this process, all threads) and
  Asterisk CPU (``/proc/<pid>/stat``) over the storm; the argon2 checks'
  CPU measured apart (``time.process_time()`` around ``verify_password``:
  argon2 hashes in threads of its own (parallelism 4), and the check runs
  on the event loop's thread, blocking it, so little else runs meanwhile)
  and the wall time the loop was blocked by them.
* steady state: ``--steady`` seconds with every phone registered: Asterisk's
  qualify OPTIONS every 20 s to each phone (through the relay) and the
  phones re-registering at JsSIP's average pace (JsSIP renews a 300 s
  registration after a random 150-268 s: one REGISTER per phone every
  ~209 s on average, spread evenly here); Asterisk and server CPU per minute.

Results: docs/benchmarks.md, "Web phone" (2026-12-06, 2 vCPUs, 500 phones over 50 s,
logins apart): all registered after 50.3 s, GET /api/v1/phone p50/p95 177/452 ms,
REGISTER 6.3/61 ms, 391 res_pjsip reloads, server 23.4 s and Asterisk 15.4 s of CPU over
the storm; steady state Asterisk 1.56 s and server 3.1 s of CPU per minute; a login
costs 197 ms of server CPU (argon2 190 ms).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import logging
import os
import re
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from click_to_call_load import cpu_model, pct, proc_cpu_seconds  # noqa: E402 - the benches' shared helpers

PASSWORD = "bench-login-9f3a7c21e5"
REGISTER_EXPIRES = 300
JSSIP_MEAN_RENEWAL = (REGISTER_EXPIRES / 2 + REGISTER_EXPIRES - 32) / 2   # s, uniform in [S/2, S-32]
_FORM_CSRF = re.compile(r'name="_csrf" value="([^"]*)"')


def summary_ms(samples):
    return {"n": len(samples), "p50": r_ms(pct(samples, 50)), "p95": r_ms(pct(samples, 95)),
            "max": r_ms(max(samples, default=None))}


def r_ms(v):
    return None if v is None else round(v * 1000, 1)


# ================================================================ the browsers (child process)

async def client_main() -> None:
    import aiohttp

    from tests.sip_ws import SipWsClient

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    cfg = json.loads(await stdin.readline())
    base, names, spread = cfg["url"].rstrip("/"), cfg["names"], cfg["spread"]

    def say(obj) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    phones: dict[str, SipWsClient] = {}
    timings = collections.defaultdict(list)
    failures = collections.Counter()
    registered_at: list[float] = []
    cookies: dict[str, str] = {}
    plain = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                  connector=aiohttp.TCPConnector(limit=0),
                                  timeout=aiohttp.ClientTimeout(total=90))

    async def login(name: str) -> bool:
        t0 = time.perf_counter()
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             timeout=aiohttp.ClientTimeout(total=90)) as http:
                async with http.get(base + "/login") as resp:
                    match = _FORM_CSRF.search(await resp.text())
                async with http.post(base + "/login", data={"name": name, "password": PASSWORD,
                                                            "_csrf": match.group(1) if match else ""},
                                     headers={"Origin": base}, allow_redirects=False) as resp:
                    if resp.status != 303:
                        failures[f"login {resp.status}"] += 1
                        return False
                cookies[name] = next(m.value for m in http.cookie_jar if m.key == "cc_session")
        except Exception as error:  # noqa: BLE001 - counted, reported
            failures[f"login error {type(error).__name__}"] += 1
            return False
        timings["login"].append(time.perf_counter() - t0)
        return True

    async def phone_up(name: str, t0: float) -> None:
        try:
            t1 = time.perf_counter()
            headers = {"Cookie": f"cc_session={cookies[name]}", "Origin": base}
            async with plain.get(base + "/api/v1/phone", headers=headers) as resp:
                if resp.status != 200:
                    failures[f"phone {resp.status}"] += 1
                    return
                phone = await resp.json()
            t2 = time.perf_counter()
            sip = SipWsClient(base.replace("http://", "ws://") + phone["ws_path"], phone["endpoint"],
                              phone["password"], domain=phone["realm"], headers=headers)
            await sip.connect()
            phones[name] = sip
            t3 = time.perf_counter()
            status = await sip.register(expires=REGISTER_EXPIRES, timeout=30)
            t4 = time.perf_counter()
            if status != 200:
                failures[f"register {status}"] += 1
                return
        except Exception as error:  # noqa: BLE001 - counted, reported
            failures[f"error {type(error).__name__}"] += 1
            return
        timings["phone"].append(t2 - t1)
        timings["ws_connect"].append(t3 - t2)
        timings["register"].append(t4 - t3)
        timings["total"].append(t4 - t0)
        registered_at.append(t4)

    async def one(name: str) -> None:
        t0 = time.perf_counter()
        if name in cookies or await login(name):
            await phone_up(name, t0)

    async def spread_over(seconds: float, job) -> None:
        t_start = time.perf_counter()
        tasks = []
        for i, name in enumerate(names):
            due = t_start + i * seconds / max(1, len(names))
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(job(name)))
        done, pending = await asyncio.wait(tasks, timeout=cfg["budget"])
        for task in pending:
            task.cancel()
            failures["gave up (budget)"] += 1

    if cfg["logins_first"]:
        # the logins apart, at most ``login_concurrency`` at a time
        gate = asyncio.Semaphore(cfg["login_concurrency"])

        async def gated(name):
            async with gate:
                await login(name)
        say({"event": "login_start"})
        t = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(gated(n) for n in names)), cfg["budget"] * 4)
        say({"event": "login_done", "seconds": time.perf_counter() - t, "ok": len(cookies),
             "failures": dict(failures), "login": timings["login"]})
        await stdin.readline()   # the parent's go
    say({"event": "start"})
    t_start = time.perf_counter()
    await spread_over(spread, one)
    say({"event": "storm_done", "registered": len(registered_at), "failures": dict(failures),
         "first_start": t_start, "last_registered": max(registered_at, default=None),
         "timings": {k: v for k, v in timings.items()}})

    # -- steady state: wait for the parent's go, then re-register at JsSIP's pace
    msg = json.loads(await stdin.readline())
    duration = msg["steady"]
    options0 = sum(sum(1 for r in p.requests if r.method == "OPTIONS") for p in phones.values())
    interval = JSSIP_MEAN_RENEWAL / max(1, len(phones))
    order = list(phones.values())
    rereg = collections.Counter()
    rereg_times = []
    pending = set()

    async def renew(p):
        t = time.perf_counter()
        try:
            rereg[await p.register(expires=REGISTER_EXPIRES, timeout=15)] += 1
            rereg_times.append(time.perf_counter() - t)
        except Exception as error:  # noqa: BLE001
            rereg[type(error).__name__] += 1

    say({"event": "steady_start"})
    t0 = time.perf_counter()
    k = 0
    while time.perf_counter() - t0 < duration and order:
        task = asyncio.create_task(renew(order[k % len(order)]))
        pending.add(task)
        task.add_done_callback(pending.discard)
        k += 1
        await asyncio.sleep(max(0.0, t0 + k * interval - time.perf_counter()))
    if pending:
        await asyncio.wait(pending, timeout=20)
    t1 = time.perf_counter()
    options1 = sum(sum(1 for r in p.requests if r.method == "OPTIONS") for p in phones.values())
    still = sum(1 for p in phones.values() if p.connected)
    say({"event": "steady_done", "seconds": t1 - t0, "options": options1 - options0,
         "reregisters": {str(k): v for k, v in rereg.items()}, "rereg": summary_ms(rereg_times),
         "connected": still})
    await stdin.readline()
    await asyncio.gather(*(p.close() for p in phones.values()), return_exceptions=True)
    await plain.close()
    say({"event": "closed"})


# ================================================================ the server (this process)

async def start_server(stack, workdir: Path, names: list[str]):
    from aiohttp.test_utils import TestServer

    from callcenter import db
    from callcenter.auth.passwords import hash_password
    from callcenter.users.service import create_user
    from web.app import create_app
    from web.keys import SERVICES

    base = stack.settings
    settings = dataclasses.replace(
        base, state_dir=workdir / "state",
        database=dataclasses.replace(base.database, url=""),
        redis=dataclasses.replace(base.redis, managed=False, key_prefix=f"b{uuid.uuid4().hex[:8]}:"),
        pbx=dataclasses.replace(base.pbx, managed=False, sync_config=True))
    settings.state_dir.mkdir(parents=True)
    engine = db.make_engine(settings.database_url)
    await db.migrate(engine)
    sessions = db.sessionmaker(engine)
    password_hash = hash_password(PASSWORD)
    async with sessions() as session, session.begin():
        for name in names:
            user, _ = await create_user(session, settings, name, "agent", "browser", actor="bench")
            user.password_hash = password_hash
    await engine.dispose()
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    services = server.app[SERVICES]
    await asyncio.wait_for(services.pbx_sync.changed.wait(), 15)
    await services.ami.wait_connected(10)
    return server, services, settings


async def run(args) -> dict:
    from callcenter.auth import passwords
    from callcenter.pbx import sync as pbx_sync_module
    from callcenter.pbx.sync import admin_list
    from tests.stack import PbxStack

    workdir = Path(tempfile.mkdtemp(prefix="wp-storm-"))
    stack = PbxStack(workdir)
    server = None
    child = None
    budget = args.spread + 120
    try:
        await stack.start()
        names = [f"wp{n:04d}" for n in range(args.phones)]
        t = time.perf_counter()
        server, services, settings = await start_server(stack, workdir, names)
        setup_s = time.perf_counter() - t

        # -- hooks: res_pjsip reloads, the wait for them, argon2 checks
        reloads: list[dict] = []
        original_reload = pbx_sync_module.reload_modules

        async def reload_modules(settings_, modules=("res_pjsip.so",), timeout=10.0):
            t0 = time.perf_counter()
            try:
                return await original_reload(settings_, modules, timeout)
            finally:
                reloads.append({"at": t0, "seconds": time.perf_counter() - t0, "modules": list(modules),
                                "phones": len(services.pbx_sync.current[1]) if services.pbx_sync.current else None})
        pbx_sync_module.reload_modules = reload_modules

        waits: list[float] = []
        original_wait = services.pbx_sync.wait_applied

        async def wait_applied(since, timeout):
            t0 = time.perf_counter()
            try:
                return await original_wait(since, timeout)
            finally:
                waits.append(time.perf_counter() - t0)
        services.pbx_sync.wait_applied = wait_applied

        argon = {"n": 0, "cpu": 0.0, "wall": 0.0}
        original_verify = passwords.verify_password

        def verify_password(password_hash, password):
            c0, w0 = time.process_time(), time.perf_counter()
            try:
                return original_verify(password_hash, password)
            finally:
                argon["n"] += 1
                argon["cpu"] += time.process_time() - c0
                argon["wall"] += time.perf_counter() - w0
        passwords.verify_password = verify_password

        # -- the browsers
        child = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).resolve()), "--client-mode",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(ROOT),
            limit=64 * 1024 * 1024)
        child.stdin.write((json.dumps({"url": str(server.make_url("/")), "names": names,
                                       "spread": args.spread, "budget": budget,
                                       "logins_first": not args.logins_in_storm,
                                       "login_concurrency": args.login_concurrency}) + "\n").encode())
        ast_pid = stack.asterisk.pid
        with open(f"/proc/{ast_pid}/comm") as fh:
            assert fh.read().strip().startswith("asterisk")

        async def message(want: str, timeout: float) -> dict:
            while True:
                line = await asyncio.wait_for(child.stdout.readline(), timeout)
                if not line:
                    raise RuntimeError("the browsers' process exited early")
                msg = json.loads(line)
                if msg.get("event") == want:
                    return msg

        online = services.webphone.registrations.is_online
        logins = None
        if not args.logins_in_storm:
            await message("login_start", 30)
            lc0, lw0, la0 = time.process_time(), time.perf_counter(), proc_cpu_seconds(ast_pid)
            argon.update(n=0, cpu=0.0, wall=0.0)
            done = await message("login_done", budget * 4 + 30)
            lc1, lw1, la1 = time.process_time(), time.perf_counter(), proc_cpu_seconds(ast_pid)
            logins = {"ok": done["ok"], "failures": done["failures"], "seconds": round(lw1 - lw0, 2),
                      "login_ms": summary_ms(done["login"]),
                      "server_cpu_s": round(lc1 - lc0, 3), "asterisk_cpu_s": round(la1 - la0, 3),
                      "argon2": {"checks": argon["n"], "cpu_s": round(argon["cpu"], 3),
                                 "ms_each": round(argon["cpu"] / max(1, argon["n"]) * 1000, 1),
                                 "wall_ms_each": round(argon["wall"] / max(1, argon["n"]) * 1000, 1)},
                      "server_cpu_ms_per_login": round((lc1 - lc0) / max(1, done["ok"]) * 1000, 1),
                      "pjsip_reloads": len(reloads)}
            argon.update(n=0, cpu=0.0, wall=0.0)
            await asyncio.sleep(3)
            child.stdin.write(b"go\n")
        await message("start", 30)
        cpu0, w0, ast0 = time.process_time(), time.perf_counter(), proc_cpu_seconds(ast_pid)
        reloads.clear()
        all_online_at = None
        storm_task = asyncio.create_task(message("storm_done", budget + 30))
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            if all_online_at is None and all(online(f"wb-{n}") for n in names):
                all_online_at = time.perf_counter()
            if all_online_at is not None and storm_task.done():
                break
            await asyncio.sleep(0.1)
        storm = await storm_task
        cpu1, w1, ast1 = time.process_time(), time.perf_counter(), proc_cpu_seconds(ast_pid)
        contacts = await admin_list(settings, "PJSIPShowContacts", timeout=20)
        wb_contacts = sum(1 for c in contacts if c.get("Event") == "ContactList"
                          and c.get("Endpoint", c.get("AOR", "")).startswith("wb-"))
        storm_reloads = list(reloads)

        # -- steady state
        await asyncio.sleep(5)
        child.stdin.write((json.dumps({"steady": args.steady}) + "\n").encode())
        await message("steady_start", 10)
        scpu0, sw0, sast0 = time.process_time(), time.perf_counter(), proc_cpu_seconds(ast_pid)
        steady = await message("steady_done", args.steady + 60)
        scpu1, sw1, sast1 = time.process_time(), time.perf_counter(), proc_cpu_seconds(ast_pid)
        steady_reloads = len(reloads) - len(storm_reloads)
        child.stdin.write(b"close\n")
        await message("closed", 60)
        await asyncio.wait_for(child.wait(), 20)

        tm = storm["timings"]
        t_first = storm["first_start"]
        storm_wall = w1 - w0
        minutes = (sw1 - sw0) / 60
        return {
            "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "loadavg_end": os.getloadavg()},
            "args": {"phones": args.phones, "spread": args.spread, "steady": args.steady},
            "setup_seconds": round(setup_s, 1),
            "logins_apart": logins,
            "registered_ok": storm["registered"], "failures": storm["failures"],
            "all_registered_after_s": round(all_online_at - t_first, 2) if all_online_at else None,
            "last_register_200_after_s": round(storm["last_registered"] - t_first, 2)
            if storm["last_registered"] else None,
            "asterisk_contacts_after_storm": wb_contacts,
            "login_ms": summary_ms(tm.get("login", [])), "get_phone_ms": summary_ms(tm.get("phone", [])),
            "ws_connect_ms": summary_ms(tm.get("ws_connect", [])),
            "register_ms": summary_ms(tm.get("register", [])), "total_ms": summary_ms(tm.get("total", [])),
            "wait_applied_ms": summary_ms(waits),
            "pjsip_reloads": len(storm_reloads),
            "reload_seconds": {"p50": round(pct([r["seconds"] for r in storm_reloads], 50) or 0, 3),
                               "max": round(max((r["seconds"] for r in storm_reloads), default=0), 3)},
            "reload_modules": collections.Counter(",".join(r["modules"]) for r in storm_reloads),
            "storm_window_s": round(storm_wall, 2),
            "server_cpu_storm_s": round(cpu1 - cpu0, 3), "asterisk_cpu_storm_s": round(ast1 - ast0, 3),
            "argon2": {"checks": argon["n"], "cpu_s": round(argon["cpu"], 3),
                       "ms_each": round(argon["cpu"] / max(1, argon["n"]) * 1000, 1),
                       "wall_s": round(argon["wall"], 3)},
            "server_cpu_storm_without_argon2_s": round(cpu1 - cpu0 - argon["cpu"], 3),
            "steady": {"seconds": round(sw1 - sw0, 1), "options_answered": steady["options"],
                       "reregisters": steady["reregisters"], "rereg_ms": steady["rereg"],
                       "connected_at_end": steady["connected"], "pjsip_reloads": steady_reloads,
                       "asterisk_cpu_s": round(sast1 - sast0, 3), "server_cpu_s": round(scpu1 - scpu0, 3),
                       "asterisk_cpu_s_per_min": round((sast1 - sast0) / minutes, 3),
                       "server_cpu_s_per_min": round((scpu1 - scpu0) / minutes, 3),
                       "asterisk_core_pct": round((sast1 - sast0) / (sw1 - sw0) * 100, 2),
                       "server_core_pct": round((scpu1 - scpu0) / (sw1 - sw0) * 100, 2)},
        }
    finally:
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()
        if server is not None:
            await server.close()
        await stack.stop()
        if not os.environ.get("CC_KEEP_PBX_INSTANCE"):
            shutil.rmtree(stack.settings.pbx.host_path(stack.settings.pbx.instance_dir), ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--phones", type=int, default=500, help="browser phones (default 500)")
    p.add_argument("--spread", type=float, default=50.0, help="logins spread evenly over N s (default 50)")
    p.add_argument("--steady", type=float, default=60.0, help="steady-state window, s (default 60)")
    p.add_argument("--logins-in-storm", action="store_true",
                   help="log in within the storm too (default: the logins first, apart, then the phones' storm)")
    p.add_argument("--login-concurrency", type=int, default=2, help="logins at a time before the storm (default 2)")
    p.add_argument("--json", type=Path, help="also write the result to this file")
    p.add_argument("--client-mode", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client_mode:
        asyncio.run(client_main())
        return 0
    if os.geteuid() != 0:
        print("needs root (the PBX root is entered with chroot)", file=sys.stderr)
        return 2
    if not (1 <= args.phones <= 2000 and 1 <= args.spread <= 600 and 10 <= args.steady <= 600):
        print("--phones 1..2000, --spread 1..600, --steady 10..600", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
