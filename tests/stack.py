"""pytest plugin: the real PBX stack (Redis + Asterisk in its root) and sipp.

Enable with ``pytest_plugins = ["tests.stack"]`` (tests/conftest.py).

Fixtures
    pbx_stack  (session)  a running Redis + Asterisk on free loopback ports;
               ``.settings``, ``.asterisk``, ``.redis_url``, ``.configure(trunks, phones)``
    sipp       (function) factory: ``sipp(scenario, ip, port, extra_args)`` -> started Sipp

Carriers get their own loopback address (127.0.0.2, .3 ...) and agents'
phones 127.0.0.10 and up: PJSIP identifies carriers by IP. Everything binds
127.0.0.x only."""
from __future__ import annotations

import asyncio
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from callcenter import config as cc_config
from callcenter.features import load_settings
from callcenter.pbx.process import AsteriskProcess
from callcenter.redis_server import RedisProcess
from callcenter.pbx.render import PhoneConf, TrunkConf, write_config

REPO = Path(__file__).resolve().parent.parent
SIPP_DIR = Path(__file__).resolve().parent / "sipp"
PBX_ROOT = os.environ.get("PBX_ROOT", "/var/cache/callcenter/pbx-root-sid-v1")

CARRIER_IPS = [f"127.0.0.{n}" for n in range(2, 10)]
PHONE_IPS = [f"127.0.0.{n}" for n in range(10, 60)]

# An extra AMI user without event filter, written only by the test stack, to
# measure what the call-work user's eventfilter saves.
UNFILTERED_USER = "cc-test-unfiltered"


# ---------------------------------------------------------------- ports

def _udp_bound(ip: str, port: int) -> bool:
    want = f"{socket.inet_aton(ip)[::-1].hex().upper()}:{port:04X}"
    try:
        with open("/proc/net/udp") as fh:
            return any(line.split()[1] == want for line in list(fh)[1:])
    except OSError:
        return False


def _ephemeral_low() -> int:
    """The first port the kernel hands to outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


EPHEMERAL_LOW = _ephemeral_low()


def free_port(ip: str = "127.0.0.1", *, udp: bool = True, tcp: bool = True, span: int = 1) -> int:
    """A port (and the ``span - 1`` following ones) free on ``ip`` for UDP and TCP,
    below the kernel's range for outgoing connections: a port from that range,
    free when picked, may be taken by any connection made before the listener
    binds it (seen: a cluster server's web port taken that way)."""
    top = min(40000, EPHEMERAL_LOW) if EPHEMERAL_LOW > 21000 else 40000
    for _ in range(500):
        port = random.randrange(20000, top - span)
        socks = []
        try:
            for p in range(port, port + span):
                if tcp:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.bind((ip, p))
                if udp:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    socks.append(s)
                    s.bind((ip, p))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no free port on {ip}")


# ---------------------------------------------------------------- raw AMI (sync, for the admin user)

def _parse_messages(buf: bytes) -> tuple[list[dict], bytes]:
    msgs = []
    while b"\r\n\r\n" in buf:
        raw, buf = buf.split(b"\r\n\r\n", 1)
        msg = {}
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            if ": " in line:
                k, v = line.split(": ", 1)
                msg[k] = v
            elif line.endswith(":"):
                msg[line[:-1]] = ""
        if msg:
            msgs.append(msg)
    return msgs, buf


def ami_sync_actions(host: str, port: int, user: str, secret: str, actions: list[dict],
                     timeout: float = 10.0) -> list[tuple[dict, list[dict]]]:
    """Log in, run each action, return (response, list events) per action.
    A list action's events are collected until the one holding
    ``EventList: Complete``."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        buf = b""
        pending: list[dict] = []

        def read_until(pred):
            nonlocal buf
            while True:
                for i, m in enumerate(pending):
                    if pred(m):
                        return pending.pop(i)
                if time.monotonic() > deadline:
                    raise TimeoutError("AMI action timed out")
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("AMI closed the connection")
                buf += data
                msgs, buf = _parse_messages(buf)
                pending.extend(msgs)

        sock.sendall(f"Action: Login\r\nActionID: L\r\nUsername: {user}\r\nSecret: {secret}\r\n"
                     f"Events: off\r\n\r\n".encode())
        resp = read_until(lambda m: m.get("ActionID") == "L")
        if resp.get("Response") != "Success":
            raise PermissionError(f"AMI login of {user} failed: {resp}")
        out = []
        for n, action in enumerate(actions):
            aid = f"A{n}"
            sock.sendall(("".join(f"{k}: {v}\r\n" for k, v in action.items())
                          + f"ActionID: {aid}\r\n\r\n").encode())
            resp = read_until(lambda m: m.get("ActionID") == aid and "Response" in m)
            events = []
            if resp.get("EventList") == "start":
                while True:
                    ev = read_until(lambda m: m.get("ActionID") == aid and "Event" in m)
                    if ev.get("EventList") == "Complete":
                        break
                    events.append(ev)
            out.append((resp, events))
        sock.sendall(b"Action: Logoff\r\nActionID: O\r\n\r\n")
        return out


# ---------------------------------------------------------------- async AMI client for tests

class AmiClient:
    """A minimal raw AMI client for tests: ``await AmiClient.connect(...)``,
    ``await ami.action("Ping")``, ``await ami.list_action("CoreShowChannels")``,
    ``await ami.wait_event(lambda e: ...)``; every event is kept in ``events``."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.events: list[dict] = []
        self._responses: dict[str, asyncio.Future] = {}
        self._lists: dict[str, list] = {}
        self._cond = asyncio.Condition()
        self._task = asyncio.ensure_future(self._pump())
        self._n = 0

    @classmethod
    async def connect(cls, host: str, port: int, user: str, secret: str, events: bool = True,
                      timeout: float = 5.0) -> "AmiClient":
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        try:
            banner = await asyncio.wait_for(reader.readline(), timeout)
            assert banner.startswith(b"Asterisk Call Manager"), banner
        except BaseException:  # no banner in time: the socket is closed here, never left to the collector
            writer.close()
            raise
        self = cls(reader, writer)
        try:
            resp = await self.action("Login", Username=user, Secret=secret, Events="on" if events else "off")
        except BaseException:
            await self.close()
            raise
        if resp.get("Response") != "Success":
            await self.close()
            raise PermissionError(f"AMI login of {user} failed: {resp}")
        return self

    async def _pump(self):
        buf = b""
        while True:
            data = await self.reader.read(65536)
            if not data:
                break
            buf += data
            msgs, buf = _parse_messages(buf)
            for m in msgs:
                aid = m.get("ActionID")
                if "Response" in m and aid in self._responses and not self._responses[aid].done():
                    self._responses[aid].set_result(m)
                elif "Event" in m and aid in self._lists:
                    self._lists[aid].append(m)
                elif "Event" in m:
                    async with self._cond:
                        self.events.append(m)
                        self._cond.notify_all()
        async with self._cond:
            self._cond.notify_all()

    async def action(self, name: str, timeout: float = 10.0, variables: dict | None = None, **headers) -> dict:
        self._n += 1
        aid = f"t{self._n}"
        fut = asyncio.get_running_loop().create_future()
        self._responses[aid] = fut
        lines = [f"Action: {name}", f"ActionID: {aid}"] + [f"{k}: {v}" for k, v in headers.items()]
        lines += [f"Variable: {k}={v}" for k, v in (variables or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._responses.pop(aid, None)

    async def list_action(self, name: str, timeout: float = 10.0, **headers) -> tuple[dict, list[dict]]:
        """Run a list action (CoreShowChannels...): its response and its events,
        up to and without the ...Complete one."""
        aid = f"t{self._n + 1}"
        items: list = []
        self._lists[aid] = items
        try:
            resp = await self.action(name, timeout, **headers)
            deadline = time.monotonic() + timeout
            while not any(e.get("EventList") == "Complete" for e in items):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name}: no Complete event")
                await asyncio.sleep(0.01)
            return resp, [e for e in items if e.get("EventList") != "Complete"]
        finally:
            self._lists.pop(aid, None)

    async def wait_event(self, pred, timeout: float = 10.0, start: int = 0) -> dict:
        """The first event (from index ``start`` of ``events``) matching ``pred``."""
        async def scan():
            i = start
            async with self._cond:
                while True:
                    for ev in self.events[i:]:
                        if pred(ev):
                            return ev
                    i = len(self.events)
                    if self._task.done():
                        raise ConnectionError("AMI connection closed")
                    await self._cond.wait()
        return await asyncio.wait_for(scan(), timeout)

    async def close(self):
        try:
            self.writer.write(b"Action: Logoff\r\nActionID: bye\r\n\r\n")
            await asyncio.wait_for(self.writer.drain(), 1.0)
        except (OSError, asyncio.TimeoutError):
            pass
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, OSError):
            pass


# ---------------------------------------------------------------- the stack

class PbxStack:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.ami_port = free_port("127.0.0.1", udp=False)
        self.sip_port = free_port("127.0.0.1", tcp=False)
        self.redis_port = free_port("127.0.0.1", udp=False)
        self.web_port = free_port("127.0.0.1", udp=False)
        self.http_port = free_port("127.0.0.1", udp=False)  # Asterisk's HTTP server: the SIP WebSocket
        rtp_base = random.randrange(40000, 58000, 2000)
        self.instance = f"test-{uuid.uuid4().hex[:10]}"
        overrides = {
            "web": {"port": self.web_port},
            "redis": {"url": f"redis://127.0.0.1:{self.redis_port}/0", "managed": True},
            "pbx": {"root": PBX_ROOT, "instance": self.instance, "sip_host": "127.0.0.1",
                    "sip_port": self.sip_port, "rtp_start": rtp_base, "rtp_end": rtp_base + 1998,
                    "http_port": self.http_port},
            "ami": {"host": "127.0.0.1", "port": self.ami_port},
        }
        self.config_path = workdir / "callcenter.toml"
        self.config_path.write_text(cc_config.render_new(overrides))
        self.settings = load_settings(self.config_path)
        assert self.settings.pbx.instance == self.instance and self.settings.ami.port == self.ami_port
        self.redis_url = self.settings.redis.url
        self.unfiltered_secret = secrets.token_urlsafe(24)
        self.asterisk = AsteriskProcess(self.settings)
        self.redis: RedisProcess | None = None
        self.trunks: list[TrunkConf] = []
        self.phones: list[PhoneConf] = []

    @property
    def recordings_dir(self) -> Path:
        return self.settings.pbx.recordings_dir

    def _write(self) -> None:
        etc = write_config(self.settings, self.trunks, self.phones)
        with open(etc / "manager.conf", "a") as fh:
            fh.write(f"\n; test stack only: same rights as the call-work user, no event filter\n"
                     f"[{UNFILTERED_USER}]\nsecret = {self.unfiltered_secret}\n"
                     f"deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n"
                     f"read = call,reporting,system\nwrite = call,originate,reporting\n")

    async def start(self) -> None:
        self._write()
        self.redis = RedisProcess(self.redis_port, self.workdir / "redis")
        await self.redis.start()
        await self.asterisk.start()

    async def stop(self) -> None:
        await self.asterisk.stop()
        if self.redis is not None:
            await self.redis.stop()

    def admin_actions(self, actions: list[dict], timeout: float = 10.0):
        ami = self.settings.ami
        return ami_sync_actions(ami.host, ami.port, ami.admin_username, ami.admin_secret, actions, timeout)

    def pjsip_endpoints(self) -> set[str]:
        [(resp, events)] = self.admin_actions([{"Action": "PJSIPShowEndpoints"}])
        return {e["ObjectName"] for e in events if e.get("Event") == "EndpointList"}

    def configure(self, trunks: list[TrunkConf], phones: list[PhoneConf]) -> None:
        """Re-render the config and reload res_pjsip through AMI (admin user);
        checks that the endpoints Asterisk reports are exactly the new ones."""
        self.trunks, self.phones = list(trunks), list(phones)
        self._write()
        # manager too: a server under test may have rewritten manager.conf without the unfiltered user
        for (resp, _) in self.admin_actions([{"Action": "Reload", "Module": "res_pjsip.so"},
                                             {"Action": "Reload", "Module": "manager"}]):
            assert resp.get("Response") == "Success", resp
        want = {t.name for t in trunks} | {p.endpoint for p in phones}
        deadline = time.monotonic() + 5
        while (have := self.pjsip_endpoints()) != want:
            if time.monotonic() > deadline:
                raise AssertionError(f"PJSIP reload did not take effect: have {have}, want {want}")
            time.sleep(0.05)

    async def ami(self, *, unfiltered: bool = False, admin: bool = False, events: bool = True) -> AmiClient:
        a = self.settings.ami
        if unfiltered:
            user, secret = UNFILTERED_USER, self.unfiltered_secret
        elif admin:
            user, secret = a.admin_username, a.admin_secret
        else:
            user, secret = a.username, a.secret
        return await AmiClient.connect(a.host, a.port, user, secret, events=events)

    def inner_recording_path(self, rel: str) -> str:
        """The path Asterisk sees for a recording ``rel`` (e.g. 2026/11/23/<id>.wav)."""
        return f"{self.settings.pbx.instance_dir}/recordings/{rel}"


@pytest.fixture(scope="session")
def pbx_stack(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the PBX stack needs root (chroot)")
    if not Path(PBX_ROOT, "usr/sbin/asterisk").exists():
        pytest.skip(f"no Asterisk root at {PBX_ROOT}: run scripts/install.sh")
    if not shutil.which("sipp") or not shutil.which("redis-server"):
        pytest.skip("sipp or redis-server missing: run scripts/install.sh")
    stack = PbxStack(tmp_path_factory.mktemp("pbx"))
    try:
        asyncio.run(stack.start())
    except BaseException:
        asyncio.run(stack.stop())
        raise
    try:
        yield stack
    finally:
        asyncio.run(stack.stop())
        if not os.environ.get("CC_KEEP_PBX_INSTANCE"):
            shutil.rmtree(stack.settings.pbx.host_path(stack.settings.pbx.instance_dir), ignore_errors=True)


# ---------------------------------------------------------------- sipp

class Sipp:
    """One sipp UAS (or UAC) child process, bounded by ``-timeout``, logging
    into ``log_dir``. ``scenario`` is a file name of tests/sipp (with or
    without .xml) or a path."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.proc: subprocess.Popen | None = None
        self.ip: str | None = None
        self.port: int | None = None
        self.name = ""

    def start(self, scenario: str, ip: str, port: int | None = None, extra_args=(), *,
              timeout: float = 60, media_port: int | None = None, wait: float = 5.0) -> "Sipp":
        if scenario.startswith("builtin:"):  # one of sipp's own scenarios, e.g. builtin:uac
            path, source = Path(scenario.split(":", 1)[1]), ["-sn", scenario.split(":", 1)[1]]
        else:
            path = Path(scenario)
            if not path.exists():
                path = SIPP_DIR / (scenario if scenario.endswith(".xml") else scenario + ".xml")
            if not path.exists():
                raise FileNotFoundError(scenario)
            source = ["-sf", str(path)]
        self.ip = ip
        self.port = port or free_port(ip, tcp=False)
        media_port = media_port or free_port(ip, tcp=False, span=4)
        self.name = f"{path.stem}-{ip}-{self.port}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cmd = ["sipp", *source, "-i", ip, "-p", str(self.port), "-mi", ip, "-mp", str(media_port),
               "-nostdin", "-aa", "-timeout", f"{int(timeout)}s",
               "-trace_err", "-error_file", str(self.log_dir / f"{self.name}.errors.log"),
               "-trace_screen", "-screen_file", str(self.log_dir / f"{self.name}.screen.log"),
               *map(str, extra_args)]
        self.cmd = cmd
        self._out = open(self.log_dir / f"{self.name}.out.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.log_dir, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, "TERM": "dumb"})
        deadline = time.monotonic() + wait
        while not _udp_bound(ip, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sipp {self.name} did not start: {self.log_tail()}")
            time.sleep(0.02)
        return self

    def log_tail(self, n: int = 2000) -> str:
        parts = []
        for suffix in ("out", "errors", "screen"):
            p = self.log_dir / f"{self.name}.{suffix}.log"
            if p.exists():
                parts.append(f"--- {p.name}\n" + p.read_text(errors="replace")[-n:])
        return "\n".join(parts)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 3.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)  # sipp: quit at once, writing its screen
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture
def sipp(tmp_path):
    """Factory: ``sipp("uas_answer", "127.0.0.2", port, ["-d", 4000])`` -> a started Sipp,
    stopped at the end of the test."""
    started: list[Sipp] = []

    def start(scenario: str, ip: str, port: int | None = None, extra_args=(), **kw) -> Sipp:
        s = Sipp(tmp_path / "sipp").start(scenario, ip, port, extra_args, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
