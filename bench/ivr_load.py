"""IVR load benchmark on the real PBX stack (needs root, like the tests).

    .venv/bin/python bench/ivr_load.py [--mode both|fastagi|dialplan] [--rate 10] [--concurrent 100]
                                       [--calls 300] [--json out.json]

The same flow runs two ways, each in a fresh Asterisk: through the FastAGI IVR
(``ivr/``, as in production: cc-inbound -> AGI) and written as plain dialplan
(Background/WaitExten, context ``bench-plain``):

    hello-world -> menu 1 (vm-press, digit 1) -> menu 2 (digit 2) -> menu 3 (digit 3) -> vm-goodbye, hang up

sipp on 127.0.0.2 places ``--calls`` calls at ``--rate`` per second, at most
``--concurrent`` at once; each caller sends 1, 2, 3 as RFC 4733 DTMF (3 s
apart) and waits for the PBX to hang up (about 10 s a call, so 10 calls/s
keep about 100 callers in the IVR).

Measured over the window from the first call to the last:
* FastAGI sessions per second (sessions started, from the first start to the
  last) and how they ended;
* digit -> next prompt: from Asterisk's DTMFEnd event of a caller's digit to
  the start of the next prompt on that channel (AGIExecStart of STREAM FILE,
  or Newexten of BackGround/Playback), both timestamped by Asterisk
  (timestampevents); p50/p99/max;
* CPU per call: Asterisk (utime+stime of all its threads from /proc) and, for
  FastAGI, the IVR server process (a child process of this script), and the
  ratio of Asterisk's CPU per call FastAGI / dialplan.

The bench's own AMI user (filtered to the four event types it reads, and
sampling CoreShowChannels every 0.5 s for the peak number of callers) adds
the same small cost to both runs.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.click_to_call_load import pct, proc_cpu_seconds  # noqa: E402

CARRIER_IP = "127.0.0.2"
DID = "8062247000"
BENCH_USER, BENCH_SECRET = "cc-bench-ivr", "bench-ivr-secret-0123456789"
STEPS = [("pause", 3000), ("dtmf", "1"), ("pause", 3000), ("dtmf", "2"), ("pause", 3000), ("dtmf", "3")]
FLOW = {
    "start": "hello",
    "nodes": {
        "hello": {"kind": "prompt", "prompt": "hello-world", "next": "m1"},
        "m1": {"kind": "menu", "prompt": "vm-press", "options": {"1": "m2"}, "timeout": 5, "on_failure": "bye"},
        "m2": {"kind": "menu", "prompt": "vm-press", "options": {"2": "m3"}, "timeout": 5, "on_failure": "bye"},
        "m3": {"kind": "menu", "prompt": "vm-press", "options": {"3": "bye"}, "timeout": 5, "on_failure": "bye"},
        "bye": {"kind": "hangup", "prompt": "vm-goodbye"},
    },
}
PLAIN = """
; bench/ivr_load.py: the benchmark flow as plain dialplan
[bench-plain]
exten => _X.,1,Answer()
 same => n,Playback(hello-world)
 same => n,Goto(bench-m1,s,1)
{menus}
[bench-bye]
exten => s,1,Playback(vm-goodbye)
 same => n,Hangup()
"""
MENU = """
[bench-m{n}]
exten => s,1,Background(vm-press)
 same => n,WaitExten(5)
 same => n,Goto(bench-bye,s,1)
exten => {n},1,Goto({next},s,1)
exten => i,1,Goto(bench-bye,s,1)
exten => t,1,Goto(bench-bye,s,1)
"""


def make_stack(workdir: Path, mode: str):
    from tests.stack import PbxStack, free_port

    class BenchStack(PbxStack):
        def _write(self) -> None:
            super()._write()
            etc = self.settings.pbx.host_path(self.settings.pbx.instance_dir + "/etc")
            manager = (etc / "manager.conf").read_text().replace("timestampevents = no", "timestampevents = yes")
            manager += (f"\n[{BENCH_USER}]\nsecret = {BENCH_SECRET}\ndeny = 0.0.0.0/0.0.0.0\n"
                        "permit = 127.0.0.1/255.255.255.255\nread = call,dtmf,agi,dialplan,system\nwrite = system\n"
                        + "".join(f"eventfilter(action(include),name({e})) =\n"
                                  for e in ("DTMFEnd", "AGIExecStart", "Newexten", "Hangup")))
            (etc / "manager.conf").write_text(manager)
            menus = "".join(MENU.format(n=n, next=f"bench-m{n + 1}" if n < 3 else "bench-bye") for n in (1, 2, 3))
            with open(etc / "extensions.conf", "a") as fh:
                fh.write(PLAIN.format(menus=menus))
            if mode == "dialplan":
                pjsip = (etc / "pjsip.conf").read_text().replace("context = cc-inbound", "context = bench-plain")
                (etc / "pjsip.conf").write_text(pjsip)

    stack = BenchStack(workdir)
    stack.settings.ivr = dataclasses.replace(stack.settings.ivr, port=free_port("127.0.0.1", udp=False))
    return stack


def start_ivr_child(stack, workdir: Path) -> subprocess.Popen:
    """The FastAGI IVR in a process of its own, so its CPU time is its own."""
    import yaml

    from callcenter import config as cc_config
    flows = workdir / "flows"
    flows.mkdir()
    (flows / "bench.yaml").write_text(yaml.safe_dump(FLOW))
    settings = stack.settings
    config = workdir / "ivr.toml"
    config.write_text(cc_config.render_new({
        "pbx": {"root": settings.pbx.root, "instance": settings.pbx.instance},
        "ivr": {"port": settings.ivr.port, "flows_dir": str(flows), "max_sessions": 1000},
    }))
    child = subprocess.Popen([sys.executable, __file__, "--serve-ivr", str(config)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, cwd=ROOT)
    line = child.stdout.readline().decode()
    if not line.startswith("ready"):
        child.kill()
        raise RuntimeError(f"the IVR child did not start: {line!r}")
    return child


async def serve_ivr(config_path: str) -> None:
    """--serve-ivr: run IvrService until stdin closes, then print its counters."""
    import logging

    from callcenter.features import load_settings
    from ivr.metrics import IvrMetrics
    from ivr.service import IvrService
    logging.basicConfig(level=logging.WARNING)
    service = IvrService(load_settings(config_path), IvrMetrics())
    await service.start()
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    outcomes = {}
    for record in service.recent:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    starts = sorted(r.started for r in service.recent)
    print(json.dumps({"outcomes": outcomes, "sessions": len(starts),
                      "first": starts[0] if starts else None, "last": starts[-1] if starts else None}), flush=True)
    await service.close()


def digit_to_prompt(events: list[dict], mode: str) -> list[float]:
    """Seconds from each received DTMFEnd to the next prompt start on its channel."""
    pending: dict[str, float] = {}
    out = []
    for e in events:
        uid, kind = e.get("Uniqueid"), e.get("Event")
        if kind == "DTMFEnd" and e.get("Direction") == "Received":
            pending[uid] = float(e["Timestamp"])
        elif uid in pending and (
                (mode == "fastagi" and kind == "AGIExecStart" and e.get("Command", "").startswith("STREAM FILE"))
                or (mode == "dialplan" and kind == "Newexten" and e.get("Application") in ("BackGround", "Playback"))):
            out.append(float(e["Timestamp"]) - pending.pop(uid))
    return out


async def run_mode(mode: str, args) -> dict:
    from callcenter.pbx.render import TrunkConf
    from tests.sipp.inbound_caller import write_caller
    from tests.stack import AmiClient, Sipp, free_port

    workdir = Path(tempfile.mkdtemp(prefix=f"ivr-bench-{mode}-"))
    stack = make_stack(workdir, mode)
    child = None
    await stack.start()
    try:
        stack.configure([TrunkConf("carrier", CARRIER_IP, 5099, 1000)], [])
        if mode == "fastagi":
            child = start_ivr_child(stack, workdir)
        ami = await AmiClient.connect("127.0.0.1", stack.settings.ami.port, BENCH_USER, BENCH_SECRET)
        scenario = write_caller(workdir / "caller", STEPS, end="wait_bye")
        sip = stack.settings.pbx
        asterisk_pid = stack.asterisk.pid
        ast0 = proc_cpu_seconds(asterisk_pid)
        ivr0 = proc_cpu_seconds(child.pid) if child else 0.0
        started = time.monotonic()
        caller = Sipp(workdir / "sipp").start(
            str(scenario), CARRIER_IP, free_port(CARRIER_IP, tcp=False),
            [f"{sip.sip_host}:{sip.sip_port}", "-s", DID, "-r", args.rate, "-l", args.concurrent,
             "-m", args.calls, "-max_recv_loops", 10000], timeout=args.calls / args.rate + 120)
        peak = 0
        while caller.running:
            _, channels = await ami.list_action("CoreShowChannels")
            peak = max(peak, len(channels))
            await asyncio.sleep(0.5)
        window = time.monotonic() - started
        ast_cpu = proc_cpu_seconds(asterisk_pid) - ast0
        ivr_cpu = (proc_cpu_seconds(child.pid) - ivr0) if child else None
        latencies = digit_to_prompt(ami.events, mode)
        hangups = sum(1 for e in ami.events if e.get("Event") == "Hangup")
        await ami.close()
        result = {"mode": mode, "calls": args.calls, "rate": args.rate, "concurrent": args.concurrent,
                  "sipp_exit": caller.proc.returncode, "window_s": round(window, 1), "hangups": hangups,
                  "peak_channels": peak,
                  "digits_measured": len(latencies),
                  "digit_to_prompt_ms": {q: round(pct(latencies, q) * 1000, 2) if latencies else None
                                         for q in (50, 99, 100)},
                  "asterisk_cpu_ms_per_call": round(ast_cpu / args.calls * 1000, 2)}
        if child:
            child.stdin.close()
            stats = json.loads(child.stdout.readline())
            child.wait(10)
            child = None
            span = (stats["last"] - stats["first"]) if stats["first"] else None
            result.update({"ivr_sessions": stats["sessions"], "ivr_outcomes": stats["outcomes"],
                           "sessions_per_s": round((stats["sessions"] - 1) / span, 2) if span else None,
                           "ivr_cpu_ms_per_call": round(ivr_cpu / args.calls * 1000, 2)})
        caller.stop()
        return result
    finally:
        if child is not None:
            child.kill()
        await stack.stop()
        shutil.rmtree(stack.settings.pbx.host_path(stack.settings.pbx.instance_dir), ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["both", "fastagi", "dialplan"], default="both")
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve-ivr", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ivr:
        return await serve_ivr(args.serve_ivr)
    if os.geteuid() != 0:
        sys.exit("bench/ivr_load.py needs root (Asterisk runs chrooted)")
    results = []
    for mode in (["fastagi", "dialplan"] if args.mode == "both" else [args.mode]):
        results.append(await run_mode(mode, args))
        print(json.dumps(results[-1]), flush=True)
    if len(results) == 2 and results[1]["asterisk_cpu_ms_per_call"]:
        ratio = results[0]["asterisk_cpu_ms_per_call"] / results[1]["asterisk_cpu_ms_per_call"]
        print(f"Asterisk CPU per call, FastAGI / dialplan: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
