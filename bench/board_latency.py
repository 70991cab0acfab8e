"""AMI event → supervisor's board latency, under the click-to-call load (needs root, like the tests).

    sudo unshare -n bash -c 'ip link set lo up; .venv/bin/python bench/board_latency.py \
        [--boards 50] [--pairs 2] [--rate 50] [--concurrent 250] [--calls 500] [--talk-ms 5000] [--json out.json]'

Each run is ``bench/click_to_call_load.py``'s run, unchanged (real Asterisk 22 +
sipp, the server in this process, the HTTP load generator in a child process),
with ``--boards`` WebSocket clients connected to ``GET /ws`` — the socket
``web/static/board.js`` follows through ``panel.js`` — before the load starts.
The boards are aiohttp WebSocket clients (what the server serves a browser is
exactly that socket; no DOM is drawn), spread over ``--board-procs`` child
processes so their CPU is not the server's. They use an admin service token:
an admin's scope sees every call, so every board gets every call step (the
heaviest fan-out; a team lead's board gets its team's share).

Timestamps (all ``time.perf_counter()``, CLOCK_MONOTONIC, shared by the
processes), bench-only hooks on the server's objects, nothing in the product:

* **AMI arrival**: ``AmiLink._dispatch`` is wrapped; the time it is entered
  (the protocol hands it the messages read from the socket in one loop
  iteration) is the arrival time of the events it routes. The tracker is
  synchronous, so the ``LiveCallReporter.call_changed`` it calls for a new step
  runs inside that dispatch: the step (call id, state) takes that arrival time.
  Steps reported outside an AMI dispatch (none expected) are counted apart.
* **publish**: ``LiveBus.publish`` entered for the step (after the reporter's
  queue and, for a call placed elsewhere, its owner lookup);
* **bus delivered**: ``LiveBus._deliver`` entered with the message from Redis
  pub/sub (the hub fans out from there);
* **board receipt**: the client's time when aiohttp hands it the frame, before
  parsing.

Latency per (step, board) = board receipt − AMI arrival: p50/p95/p99/max,
with the three legs' medians per step for what dominates.

CPU: the same ``server_cpu_ms_per_call`` as click_to_call_load (this process's
``time.process_time()`` over the load window) with ``--boards`` boards and with
0, alternated (``--pairs`` of each: boards, none, boards, none...) since the
machine is noisy; the hooks run in both.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import click_to_call_load as c2c  # noqa: E402

pct = c2c.pct


# ================================================================ the boards (child processes)

async def boards_main() -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    cfg = json.loads(await stdin.readline())
    receipts: dict[str, list[float]] = {}
    counts = {"messages": 0, "calls": 0, "closed": 0, "close_codes": {}}

    def say(obj) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    headers = {"Authorization": f"Bearer {cfg['token']}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        sockets = []
        for _ in range(cfg["boards"]):
            ws = await session.ws_connect(cfg["url"], heartbeat=None, max_msg_size=0)
            hello = await ws.receive_json(timeout=30)
            assert hello.get("type") == "hello", hello
            sockets.append(ws)

        async def follow(ws) -> None:
            while True:
                msg = await ws.receive()
                t = time.perf_counter()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                counts["messages"] += 1
                data = msg.data
                if '"type":"call"' not in data:
                    continue
                call = json.loads(data).get("call") or {}
                counts["calls"] += 1
                receipts.setdefault(f"{call.get('id')}|{call.get('state')}", []).append(t)
            counts["closed"] += 1
            code = str(ws.close_code)
            counts["close_codes"][code] = counts["close_codes"].get(code, 0) + 1

        followers = [asyncio.create_task(follow(ws)) for ws in sockets]
        say({"event": "ready"})
        eof = asyncio.create_task(stdin.readline())  # the parent closes our stdin when it is done
        await asyncio.wait([eof, asyncio.gather(*followers)], return_when=asyncio.FIRST_COMPLETED,
                           timeout=cfg["budget"])
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
        for ws in sockets:
            await ws.close()
    say({"event": "result", "receipts": receipts, **counts})


class Boards:
    """``n`` board clients in ``procs`` child processes."""

    def __init__(self, n: int, procs: int) -> None:
        self.n, self.procs = n, max(1, min(procs, n))
        self.children = []

    async def start(self, url: str, token: str, budget: float) -> None:
        share = [self.n // self.procs + (1 if i < self.n % self.procs else 0) for i in range(self.procs)]
        for k in share:
            child = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).resolve()), "--boards-mode",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=str(HERE.parent),
                limit=1 << 28)
            self.children.append(child)
            child.stdin.write((json.dumps({"url": url, "token": token, "boards": k, "budget": budget})
                               + "\n").encode())
        for child in self.children:
            line = await asyncio.wait_for(child.stdout.readline(), 60)
            if json.loads(line or b"{}").get("event") != "ready":
                raise RuntimeError("a board process failed to connect")

    async def results(self) -> list[dict]:
        out = []
        for child in self.children:
            if child.returncode is None and not child.stdin.is_closing():
                child.stdin.close()
            line = await asyncio.wait_for(child.stdout.readline(), 60)
            out.append(json.loads(line))
            await asyncio.wait_for(child.wait(), 10)
        return out

    def kill(self) -> None:
        for child in self.children:
            if child.returncode is None:
                child.kill()


# ================================================================ one run (this process)

async def one_run(args, boards: int) -> dict:
    from callcenter.auth.tokens import create_token

    arrived: dict[str, float] = {}     # "call id|state" -> AMI arrival
    published: dict[str, float] = {}
    publish_took: list[float] = []     # LiveBus.publish, entry to return (owner placement + Redis PUBLISH)
    delivered: dict[str, float] = {}
    outside = {"steps": 0}
    board_set = Boards(boards, args.board_procs) if boards else None
    original_start = c2c.start_server

    async def start_server(stack, workdir, agent_names, contact, carrier_port):
        server, services, token = await original_start(stack, workdir, agent_names, contact, carrier_port)
        ami, reporter, bus = services.ami, services.live_calls, services.live
        in_dispatch: list[float | None] = [None]
        dispatch, changed, publish, deliver = ami._dispatch, reporter.call_changed, bus.publish, bus._deliver

        def hooked_dispatch(msgs):
            in_dispatch[0] = time.perf_counter()
            try:
                dispatch(msgs)
            finally:
                in_dispatch[0] = None

        def hooked_changed(call):
            key = f"{call.call_id}|{call.state}"
            if key not in arrived:
                t = in_dispatch[0]
                if t is None:
                    outside["steps"] += 1
                    t = time.perf_counter()
                arrived[key] = t
            changed(call)

        async def hooked_publish(event, *a, **kw):
            if event.get("type") != "call":
                return await publish(event, *a, **kw)
            t = time.perf_counter()
            published.setdefault(f"{event['call']['id']}|{event['call']['state']}", t)
            try:
                return await publish(event, *a, **kw)
            finally:
                publish_took.append(time.perf_counter() - t)

        def hooked_deliver(raw):
            t = time.perf_counter()
            if (b'"type":"call"' if isinstance(raw, bytes) else '"type":"call"') in raw:
                call = json.loads(raw)["event"]["call"]
                delivered.setdefault(f"{call['id']}|{call['state']}", t)
            deliver(raw)

        async def hooked_publish_agents(items):
            t = time.perf_counter()
            for event, _agent in items:
                published.setdefault(f"{event['call']['id']}|{event['call']['state']}", t)
            try:
                return await publish_agents(items)
            finally:
                publish_took.append(time.perf_counter() - t)

        ami._dispatch, reporter.call_changed = hooked_dispatch, hooked_changed
        bus.publish, bus._deliver = hooked_publish, hooked_deliver
        publish_agents = getattr(bus, "publish_agents", None)  # the batched publisher (absent before it)
        if publish_agents is not None:
            bus.publish_agents = hooked_publish_agents
        if board_set is not None:
            async with services.sessions() as session, session.begin():
                board_token = await create_token(session, "boards", "admin", actor="bench")
            budget = args.calls / args.rate + args.talk_ms / 1000 + 180
            await board_set.start(str(server.make_url("/ws")), board_token, budget)
        return server, services, token

    c2c.start_server = start_server
    try:
        report = await c2c.run(args)
        got = await board_set.results() if board_set is not None else []
    finally:
        c2c.start_server = original_start
        if board_set is not None:
            board_set.kill()
    report["boards"] = boards
    report["steps_outside_ami_dispatch"] = outside["steps"]
    report["steps_seen"] = len(arrived)
    to_publish = [published[k] - t0 for k, t0 in arrived.items() if k in published]
    report["server_legs_ms"] = {
        "ami_to_publish": {q: c2c.r3(pct(to_publish, n)) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))},
        "publish_call": {q: c2c.r3(pct(publish_took, n)) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))},
        "steps_per_second": round(len(arrived) / report["window_seconds"], 1) if report["window_seconds"] else None,
    }
    if board_set is not None:
        lat, legs = [], {"ami_to_publish": [], "publish_to_bus": [], "bus_to_board": []}
        unmatched = 0
        for r in got:
            for key, times in r["receipts"].items():
                t0 = arrived.get(key)
                if t0 is None:
                    unmatched += len(times)
                    continue
                lat.extend(t - t0 for t in times)
                if key in published and key in delivered:
                    legs["bus_to_board"].extend(t - delivered[key] for t in times)
        for key, t0 in arrived.items():
            if key in published:
                legs["ami_to_publish"].append(published[key] - t0)
                if key in delivered:
                    legs["publish_to_bus"].append(delivered[key] - published[key])
        report["board"] = {
            "received": sum(r["calls"] for r in got), "messages": sum(r["messages"] for r in got),
            "unmatched": unmatched, "expected": len(delivered) * boards,
            "close_codes": [r["close_codes"] for r in got],
            "ms": {q: c2c.r3(pct(lat, n)) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))}
            | {"max": c2c.r3(max(lat, default=None)), "n": len(lat)},
            "legs_p50_ms": {k: c2c.r3(pct(v, 50)) for k, v in legs.items()},
            "legs_p95_ms": {k: c2c.r3(pct(v, 95)) for k, v in legs.items()},
        }
    return report


def summary(runs: list[dict], boards: int) -> str:
    def med(key, which):
        vals = [r[key] for r in runs if (r["boards"] > 0) == which]
        return statistics.median(vals) if vals else None

    lines = ["| Run | Boards | Connected / failed | Server CPU ms/call | Asterisk CPU ms/call | "
             "Board msgs (got / expected) | AMI → board p50 / p95 / p99 / max, ms | legs p50: AMI→publish, "
             "publish→bus, bus→board, ms |", "|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(runs, 1):
        b = r.get("board")
        failed = sum(r["failed"].values())
        lat = legs = got = "—"
        if b:
            m = b["ms"]
            lat = f"{m['p50']} / {m['p95']} / {m['p99']} / {m['max']}"
            lp = b["legs_p50_ms"]
            legs = f"{lp['ami_to_publish']}, {lp['publish_to_bus']}, {lp['bus_to_board']}"
            got = f"{b['received']} / {b['expected']}"
        lines.append(f"| {i} | {r['boards']} | {r['connected']} / {failed} | {r['server_cpu_ms_per_call']} | "
                     f"{r['asterisk_cpu_ms_per_call']} | {got} | {lat} | {legs} |")
    on, off = med("server_cpu_ms_per_call", True), med("server_cpu_ms_per_call", False)
    if on and off:
        lines.append("")
        lines.append(f"Median server CPU per call: {on} ms with {boards} boards, {off} ms without: "
                     f"ratio **{on / off:.2f}**.")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--boards", type=int, default=50, help="board clients in the boards' runs (default 50)")
    p.add_argument("--board-procs", type=int, default=2, help="child processes holding them (default 2)")
    p.add_argument("--pairs", type=int, default=2, help="boards/no-boards run pairs, alternated (default 2)")
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--concurrent", type=int, default=250)
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--talk-ms", type=int, default=5000)
    p.add_argument("--sample-interval", type=float, default=0.5)
    p.add_argument("--json", type=Path, help="also write the runs to this file")
    p.add_argument("--boards-mode", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.boards_mode:
        asyncio.run(boards_main())
        return 0
    if os.geteuid() != 0:
        print("needs root (the PBX root is entered with chroot)", file=sys.stderr)
        return 2
    import logging
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runs = []
    for i in range(args.pairs * 2):
        boards = args.boards if i % 2 == 0 else 0
        report = asyncio.run(one_run(args, boards))
        runs.append(report)
        print(json.dumps(report), flush=True)
    print(summary(runs, args.boards))
    if args.json:
        args.json.write_text(json.dumps(runs) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
