"""Asterisk CPU per call of a browser agent (Opus, A-law) and a desktop SIP agent, same run.

    sudo unshare -n bash -c 'ip link set lo up; .venv/bin/python bench/webphone_codecs.py \
        [--calls 10] [--talk 20] [--rounds 3] [--no-nortp] [--json out.json]'

(Root: Asterisk runs chrooted; a fresh network namespace: the bench adds a
veth pair for ICE when ``lo`` is the only link, as tests/test_webphone_media.py.)

What runs (all on this machine, 127.0.0.x and a veth address for ICE):

* Redis + Asterisk 22 (``tests.stack.PbxStack``), recording on (every call
  carries ``CC_RECFILE``: MixMonitor writes a WAV, as click-to-call does with
  ``[calls] record = true``);
* the carrier: sipp UAS on 127.0.0.2 (``uas_answer`` playing a 500 Hz PCMA
  tone pcap as long as the call: the customer's audio) behind trunk
  ``carrier`` (alaw,ulaw); for the no-audio variant a second carrier on
  127.0.0.3 (``uas_answer_nortp``, trunk ``carrier0``);
* desktop agents ``ph-dNN``: one sipp UAS on 127.0.0.10 (``uas_answer``, a
  700 Hz PCMA tone), static contacts; no-audio desktop agents ``ph-nNN``: sipp
  ``uas_answer_nortp`` on 127.0.0.11;
* browser agents: one headless Chromium (Debian's, Playwright), fake
  microphone = a 700 Hz WAV (``--use-file-for-fake-audio-capture``), one page
  per agent running JsSIP (web/static/vendor/jssip.min.js) registered
  *straight to Asterisk's* ``ws://127.0.0.1:<http_port>/ws`` as ``wb-oNN``
  (endpoint ``allow = opus,alaw``: Opus negotiated) or ``wb-aNN``
  (``allow = alaw,opus``: PCMA negotiated), auto-answering; the codec each
  page really got is read from its ``getStats`` and reported.

Calls are **Originated straight into ``cc-c2c``** with the variables the
dialer sends (CC_CALL_ID, CC_DIAL, CC_TRUNK, CC_CALLERID, CC_RING_TIMEOUT,
CC_RECFILE, CC_MAX_SECONDS), not through the server: the server's own cost
is the same for every variant and is measured by bench/click_to_call_load.py.

Per round, the variants are run one after the other, their order rotated
each round: ``--calls`` calls of the variant are originated, the bench waits
until every one is bridged to the customer and 2 s more (ICE, DTLS done),
then measures Asterisk's CPU (utime+stime of its process, all threads, from
``/proc/<pid>/stat``) over ``--talk`` seconds, then hangs the agents' legs up
and waits until no channel is left. An idle window (registered phones, no
call) of the same length is measured each round too. Reported per variant:
ms of Asterisk CPU per call-second of talk (window CPU / (calls × talk)),
the same with the idle window's CPU taken off, and ms per call over the
whole call (from the first Originate to the last channel gone: set-up, ICE,
DTLS, talk, hang-up, the recording closed). Chromium's and sipp's CPU are
not counted.

Results: docs/benchmarks.md, "Web phone" (2026-12-06, 2 vCPUs, 10 calls × 20 s × 3
rounds): Asterisk 23.3 ms per call-second for Opus, 16.9 for browser A-law, 11.7
for a desk phone (A-law), 0.6 without RTP; Opus / A-law 1.38 (1.67 in a second run),
so A-law is the default.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from click_to_call_load import cpu_model, proc_cpu_seconds  # noqa: E402 - the benches' shared helpers

CARRIER_IP, CARRIER0_IP = "127.0.0.2", "127.0.0.3"
DESK_IP, DESK0_IP = "127.0.0.10", "127.0.0.11"
VETH_ADDRESS = "10.213.0.1/24"
PASSWORD = "bench-3c5e7a9b1d2f4068"
JSSIP = ROOT / "web" / "static" / "vendor" / "jssip.min.js"
MEDIA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]

PAGE = """<!doctype html><meta charset="utf-8"><title>phone</title>
<audio id="far-end" autoplay></audio>
<script src="/jssip.min.js"></script>
<script>
window.phone = {state: "new", session: null, calls: 0};
function startPhone(config) {
  const ua = new JsSIP.UA({sockets: [new JsSIP.WebSocketInterface(config.url)], uri: config.uri,
                           password: config.password, register: true, session_timers: false,
                           register_expires: 600});
  ua.on("registered", () => { phone.state = "registered"; });
  ua.on("registrationFailed", (e) => { phone.state = "failed:" + e.cause; });
  ua.on("newRTCSession", (e) => {
    if (e.originator !== "remote") return;
    phone.session = e.session; phone.calls += 1;
    e.session.on("confirmed", () => {
      const audio = document.getElementById("far-end");
      audio.srcObject = new MediaStream(e.session.connection.getReceivers().map((r) => r.track));
      audio.play();
    });
    e.session.answer({mediaConstraints: {audio: true, video: false}});
  });
  window.ua = ua;
  ua.start();
}
async function mediaStats() {
  const pc = phone.session && phone.session.connection;
  if (!pc) return null;
  const stats = await pc.getStats();
  const all = {};
  const out = {inbound: 0, outbound: 0, energy: 0, codec: null};
  stats.forEach((s) => { all[s.id] = s; });
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.inbound = s.packetsReceived; out.energy = s.totalAudioEnergy || 0;
      if (all[s.codecId]) out.codec = all[s.codecId].mimeType;
    }
    if (s.type === "outbound-rtp" && s.kind === "audio") out.outbound = s.packetsSent;
  });
  return out;
}
</script>"""


def ensure_ice_interface() -> str:
    """A non-loopback IPv4 address (ICE ignores loopback): a veth pair in a fresh namespace."""
    def addresses():
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "up"], capture_output=True, text=True).stdout
        return [line.split()[3] for line in out.splitlines() if line.split()[1] != "lo"]
    if addresses():
        return addresses()[0]
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    if [line.split(":")[1].strip() for line in links.splitlines()] != ["lo"]:
        raise SystemExit("no non-loopback address for ICE and not in a fresh network namespace "
                         "(run under unshare -n)")
    subprocess.run(["ip", "link", "add", "cc-ice0", "type", "veth", "peer", "name", "cc-ice1"], check=True)
    subprocess.run(["ip", "addr", "add", VETH_ADDRESS, "dev", "cc-ice0"], check=True)
    for dev in ("cc-ice1", "cc-ice0"):
        subprocess.run(["ip", "link", "set", dev, "up"], check=True)
    return addresses()[0]


def write_tone_wav(path: Path, frequency: float = 700.0, seconds: float = 2.0, rate: int = 48000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * n / rate)))
                               for n in range(int(seconds * rate))))
    return path


def patch_codecs(pjsip_conf: Path) -> None:
    """``wb-o*`` endpoints offer Opus first, ``wb-a*`` A-law first (one config, both kinds)."""
    section, out = None, []
    for line in pjsip_conf.read_text().splitlines():
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        if line.startswith("allow = ") and section and section.startswith("wb-"):
            line = "allow = opus,alaw" if section.startswith("wb-o") else "allow = alaw,opus"
        out.append(line)
    pjsip_conf.write_text("\n".join(out) + "\n")


async def run(args) -> dict:
    from aiohttp import web
    from playwright.async_api import async_playwright

    from callcenter.pbx.render import PhoneConf, TrunkConf
    from callcenter.users.service import sip_md5_cred
    from tests.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.rtp_tones import tone_scenario, write_tone_pcap
    from tests.stack import SIPP_DIR, PbxStack, Sipp, free_port

    ice = ensure_ice_interface()
    workdir = Path(tempfile.mkdtemp(prefix="wp-codecs-"))
    n = args.calls
    call_seconds = args.talk + 40
    sipp_timeout = args.rounds * (4 * (args.talk + 40) + 60) + 300
    stack = PbxStack(workdir)
    sipps: list[Sipp] = []
    runner = None
    try:
        await stack.start()
        realm = stack.settings.pbx.sip_realm
        media = workdir / "media"
        media.mkdir()
        cust_pcap = write_tone_pcap(media / "customer-500.pcap", 500, call_seconds)
        desk_pcap = write_tone_pcap(media / "desk-700.pcap", 700, call_seconds)
        cust_xml = tone_scenario(SIPP_DIR / "uas_answer.xml", cust_pcap, media / "uas_customer.xml")
        desk_xml = tone_scenario(SIPP_DIR / "uas_answer.xml", desk_pcap, media / "uas_desk.xml")
        mic = write_tone_wav(media / "mic-700.wav")

        def sipp(scenario, ip):
            s = Sipp(workdir / "sipp").start(str(scenario), ip, free_port(ip, tcp=False), timeout=sipp_timeout)
            sipps.append(s)
            return s
        carrier = sipp(cust_xml, CARRIER_IP)
        carrier0 = sipp("uas_answer_nortp", CARRIER0_IP)
        desk = sipp(desk_xml, DESK_IP)
        desk0 = sipp("uas_answer_nortp", DESK0_IP)

        def md5(endpoint):
            return sip_md5_cred(endpoint, realm, PASSWORD)
        browsers = {"opus": [f"wb-o{i:02d}" for i in range(n)], "alaw": [f"wb-a{i:02d}" for i in range(n)]}
        phones = ([PhoneConf(e, md5(e), None, browser=True) for kind in browsers.values() for e in kind]
                  + [PhoneConf(f"ph-d{i:02d}", None, f"sip:{DESK_IP}:{desk.port}") for i in range(n)]
                  + [PhoneConf(f"ph-n{i:02d}", None, f"sip:{DESK0_IP}:{desk0.port}") for i in range(n)])
        trunks = [TrunkConf("carrier", CARRIER_IP, carrier.port, 250),
                  TrunkConf("carrier0", CARRIER0_IP, carrier0.port, 250)]

        original_write = stack._write

        def write_patched():
            original_write()
            patch_codecs(stack.settings.pbx.host_path(stack.settings.pbx.instance_dir + "/etc") / "pjsip.conf")
        stack._write = write_patched
        stack.configure(trunks, phones)
        # the pages and JsSIP from 127.0.0.1 (a secure context)
        app = web.Application()
        app.router.add_get("/", lambda _: web.Response(text=PAGE, content_type="text/html"))
        app.router.add_get("/jssip.min.js", lambda _: web.FileResponse(JSSIP))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        page_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"

        ami = await stack.ami(events=False)
        ast_pid = stack.asterisk.pid
        with open(f"/proc/{ast_pid}/comm") as fh:
            assert fh.read().strip().startswith("asterisk")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=CHROMIUM_ARGS + MEDIA_ARGS + [f"--use-file-for-fake-audio-capture={mic}"])
            pages: dict[str, object] = {}
            for endpoint in browsers["opus"] + browsers["alaw"]:
                page = await browser.new_page()
                page.set_default_timeout(20_000)
                await page.goto(page_url)
                await page.evaluate("c => startPhone(c)", {
                    "url": f"ws://127.0.0.1:{stack.http_port}/ws", "password": PASSWORD,
                    "uri": f"sip:{endpoint}@{realm}"})
                pages[endpoint] = page
            for endpoint, page in pages.items():
                await page.wait_for_function("phone.state !== 'new'")
                state = await page.evaluate("phone.state")
                if state != "registered":
                    raise RuntimeError(f"{endpoint}: {state}")
            await asyncio.sleep(2)

            variants = {
                "browser_opus": (browsers["opus"], "carrier"),
                "browser_alaw": (browsers["alaw"], "carrier"),
                "desktop_alaw": ([f"ph-d{i:02d}" for i in range(n)], "carrier"),
            }
            if not args.no_nortp:
                variants["desktop_nortp"] = ([f"ph-n{i:02d}" for i in range(n)], "carrier0")
            results: dict[str, list[dict]] = {k: [] for k in [*variants, "idle"]}
            recordings = stack.recordings_dir
            day = time.strftime("%Y/%m/%d", time.gmtime())

            async def channels():
                _, chans = await ami.list_action("CoreShowChannels", timeout=15)
                return chans

            async def one(variant: str, rnd: int) -> dict:
                endpoints, trunk = variants[variant]
                ids = []
                c0 = proc_cpu_seconds(ast_pid)
                t0 = time.perf_counter()
                for i, endpoint in enumerate(endpoints):
                    cid = uuid.uuid4().hex
                    ids.append(cid)
                    resp = await ami.action(
                        "Originate", Channel=f"PJSIP/{endpoint}", Context="cc-c2c", Exten="s", Priority=1,
                        Timeout=20000, CallerID=f"<9198{rnd:02d}{i:06d}>", Async="true",
                        variables={"CC_CALL_ID": cid, "CC_DIAL": f"9198{rnd:02d}{i:06d}", "CC_TRUNK": trunk,
                                   "CC_CALLERID": "8062247000", "CC_RING_TIMEOUT": "30",
                                   "CC_RECFILE": f"{day}/{cid}.wav", "CC_MAX_SECONDS": "3600"})
                    if resp.get("Response") != "Success":
                        raise RuntimeError(f"Originate {endpoint}: {resp}")
                deadline = time.monotonic() + 40
                while True:
                    chans = await channels()
                    bridged = [c for c in chans if c.get("BridgeId") and c.get("ChannelStateDesc") == "Up"]
                    if len(bridged) >= 2 * len(endpoints):
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{variant}: only {len(bridged)} of {2 * len(endpoints)} legs bridged")
                    await asyncio.sleep(0.5)
                t_bridged = time.perf_counter()
                await asyncio.sleep(2)
                stats0 = [await pages[e].evaluate("mediaStats()") for e in endpoints] if variant.startswith("browser") else []
                w0, a0 = time.perf_counter(), proc_cpu_seconds(ast_pid)
                await asyncio.sleep(args.talk)
                w1, a1 = time.perf_counter(), proc_cpu_seconds(ast_pid)
                stats1 = [await pages[e].evaluate("mediaStats()") for e in endpoints] if variant.startswith("browser") else []
                live = len(await channels())
                for endpoint in endpoints:
                    try:
                        await ami.action("Hangup", Channel=f"/^PJSIP/{endpoint}-.*$/")
                    except Exception:  # noqa: BLE001
                        pass
                deadline = time.monotonic() + 20
                while await channels():
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{variant}: channels left after hang-up")
                    await asyncio.sleep(0.2)
                t_end, c_end = time.perf_counter(), proc_cpu_seconds(ast_pid)
                rec_sizes = [(recordings / day / f"{cid}.wav").stat().st_size
                             if (recordings / day / f"{cid}.wav").exists() else 0 for cid in ids]
                talk_cpu = a1 - a0
                out = {"round": rnd, "calls": len(endpoints), "window_s": round(w1 - w0, 3),
                       "channels_in_window": live, "talk_cpu_s": round(talk_cpu, 3),
                       "ms_per_call_second": round(talk_cpu * 1000 / (len(endpoints) * (w1 - w0)), 3),
                       "whole_cpu_s": round(c_end - c0, 3), "whole_wall_s": round(t_end - t0, 2),
                       "setup_s": round(t_bridged - t0, 2),
                       "recordings_bytes_min": min(rec_sizes), "recordings_missing": rec_sizes.count(0)}
                if stats1:
                    out["codecs"] = sorted({s["codec"] for s in stats1 if s})
                    rx = [(b["inbound"] - a["inbound"]) / (w1 - w0) for a, b in zip(stats0, stats1) if a and b]
                    tx = [(b["outbound"] - a["outbound"]) / (w1 - w0) for a, b in zip(stats0, stats1) if a and b]
                    out["page_rx_pps_min"] = round(min(rx), 1) if rx else 0
                    out["page_tx_pps_min"] = round(min(tx), 1) if tx else 0
                print(f"round {rnd} {variant}: {json.dumps(out)}", file=sys.stderr, flush=True)
                await asyncio.sleep(2)
                return out

            async def idle(rnd: int) -> dict:
                w0, a0 = time.perf_counter(), proc_cpu_seconds(ast_pid)
                await asyncio.sleep(args.talk)
                w1, a1 = time.perf_counter(), proc_cpu_seconds(ast_pid)
                out = {"round": rnd, "window_s": round(w1 - w0, 3), "cpu_s": round(a1 - a0, 3)}
                print(f"round {rnd} idle: {json.dumps(out)}", file=sys.stderr, flush=True)
                return out

            names = list(variants)
            for rnd in range(args.rounds):
                order = names[rnd % len(names):] + names[:rnd % len(names)]
                results["idle"].append(await idle(rnd))
                for variant in order:
                    results[variant].append(await one(variant, rnd))
            await browser.close()
        await ami.close()

        idle_rate = statistics.mean(r["cpu_s"] / r["window_s"] for r in results["idle"])  # CPU-s per s
        summary = {}
        for variant in variants:
            rows = results[variant]
            per = [r["ms_per_call_second"] for r in rows]
            net = [(r["talk_cpu_s"] - idle_rate * r["window_s"]) * 1000 / (r["calls"] * r["window_s"]) for r in rows]
            whole = [r["whole_cpu_s"] * 1000 / r["calls"] for r in rows]
            summary[variant] = {"ms_per_call_second": [round(x, 3) for x in per],
                                "ms_per_call_second_mean": round(statistics.mean(per), 3),
                                "ms_per_call_second_net_idle_mean": round(statistics.mean(net), 3),
                                "ms_per_whole_call_mean": round(statistics.mean(whole), 1)}
        ratios = {}
        for num, den in (("browser_opus", "browser_alaw"), ("browser_alaw", "desktop_alaw"),
                         ("browser_opus", "desktop_alaw")):
            per_round = [a["ms_per_call_second"] / b["ms_per_call_second"]
                         for a, b in zip(results[num], results[den])]
            ratios[f"{num}/{den}"] = {"per_round": [round(x, 3) for x in per_round],
                                      "mean": round(statistics.mean(per_round), 3)}
        return {"machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "loadavg_end": os.getloadavg()},
                "args": {"calls": n, "talk": args.talk, "rounds": args.rounds}, "ice_address": ice,
                "idle_asterisk_cpu_pct": round(idle_rate * 100, 3),
                "summary": summary, "ratios": ratios, "rounds": results}
    finally:
        if runner is not None:
            await runner.cleanup()
        for s in sipps:
            s.stop()
        await stack.stop()
        if not os.environ.get("CC_KEEP_PBX_INSTANCE"):
            shutil.rmtree(stack.settings.pbx.host_path(stack.settings.pbx.instance_dir), ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=10, help="concurrent calls per variant (default 10)")
    p.add_argument("--talk", type=float, default=20.0, help="measured talk window, seconds (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of all variants, order rotated (default 3)")
    p.add_argument("--no-nortp", action="store_true", help="skip the desktop variant without audio")
    p.add_argument("--json", type=Path, help="also write the result to this file")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("needs root (the PBX root is entered with chroot)", file=sys.stderr)
        return 2
    if not (1 <= args.calls <= 50 and 5 <= args.talk <= 120 and 1 <= args.rounds <= 10):
        print("--calls 1..50, --talk 5..120, --rounds 1..10", file=sys.stderr)
        return 2
    report = asyncio.run(run(args))
    for variant, s in report["summary"].items():
        print(f"{variant:14s} {s['ms_per_call_second_mean']:7.3f} ms Asterisk CPU per call-second "
              f"(net of idle {s['ms_per_call_second_net_idle_mean']:.3f}; per round {s['ms_per_call_second']}); "
              f"{s['ms_per_whole_call_mean']} ms per whole call")
    for k, v in report["ratios"].items():
        print(f"{k}: {v['mean']} (per round {v['per_round']})")
    line = json.dumps(report)
    if args.json:
        args.json.write_text(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
