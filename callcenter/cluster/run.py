"""``callcenter cluster``: several ``serve`` processes and nginx on one host.

What a service manager (systemd) would do on a production host, in one
command for the demo and the tests:

1. Redis and Asterisk, when the original config manages them, are started
   here, not by a server: a server killed mid-call (SIGKILL) must not take
   the PBX or the accounting with it. Asterisk starts on the config rendered
   from the database, as ``serve`` would render it.
2. Each server runs ``callcenter serve`` from its copy of the config
   (callcenter/cluster/copies.py), one after the other (the first brings
   the schema up to date), each waited for until it answers ``/healthz``.
   The servers share the database and Redis: by their leases
   (callcenter/ownership) one of them owns the PBX's call work and one runs
   the system's timed loops, whichever came first; the others take over
   within a lease when it dies.
3. nginx listens on the original ``[web] host:port`` (the address people
   already use) and on the IVR's port (callcenter/cluster/nginx.py).

A process that dies is started again after a back-off (1 s, doubling to
30 s), as ``Restart=always`` would; SIGINT/SIGTERM stop everything, nginx
first and Redis last. ``<state_dir>/cluster/cluster.json`` names each
server's port, pid and log."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from callcenter import db
from callcenter.child_process import ForegroundProcess, first_line
from callcenter.cluster.copies import ServerSlot, write_copies
from callcenter.cluster.nginx import NginxProcess, render
from callcenter.pbx.process import AsteriskProcess
from callcenter.pbx.sync import PbxConfigSync
from callcenter.redis_server import ensure_redis
from callcenter.supervision import ManagedProcess

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0


class ServerProcess(ForegroundProcess):
    """One ``callcenter serve`` of the cluster; ready when ``/healthz`` answers
    (healthy or not: a server waiting for Asterisk is up)."""

    def __init__(self, slot: ServerSlot, folder: Path) -> None:
        super().__init__(slot.name, folder / f"{slot.name}.log", start_timeout=120.0, stop_timeout=15.0,
                         poll=0.2)
        self.slot = slot

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "callcenter.main", "serve", "--config", str(self.slot.config)]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running else None

    async def ready(self) -> bool:
        status = await first_line("127.0.0.1", self.slot.web_port,
                                  b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", timeout=5.0)
        return status is not None and status.startswith(b"HTTP/1.")


class _Restarts:
    """What ManagedProcess counts restarts in (the cluster has no /metrics)."""

    def __init__(self) -> None:
        self.process_restarts = Counter("cluster_process_restarts", "restarts", ["process"],
                                        registry=CollectorRegistry())


class Cluster:
    def __init__(self, settings, slots: list[ServerSlot], listen_host: str, listen_port: int) -> None:
        self.settings, self.slots = settings, slots
        self.folder = Path(settings.state_dir) / "cluster"
        self.listen_host, self.listen_port = listen_host, listen_port
        self.managed: list[ManagedProcess] = []  # in start order
        self.servers: list[ServerProcess] = []
        self._restarts = _Restarts()

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        redis = await ensure_redis(self.settings)
        if redis is not None:
            self._watch("redis", redis)
        if self.settings.pbx.managed:
            await self._render_pbx_config()
            asterisk = AsteriskProcess(self.settings)
            await asterisk.start()
            self._watch("asterisk", asterisk)
        write_copies(self.settings, self.slots)
        for slot in self.slots:
            server = ServerProcess(slot, self.folder)
            log.info("starting %s on 127.0.0.1:%d (log %s)", slot.name, slot.web_port, server.log_path)
            await server.start()
            self.servers.append(server)
            self._watch(slot.name, server)
        conf = self.folder / "nginx.conf"
        conf.write_text(render(self.settings, self.slots, self.folder, self.listen_host, self.listen_port))
        nginx = NginxProcess(conf, self.folder, self.listen_host, self.listen_port)
        nginx.prepare()
        await nginx.start()
        self._watch("nginx", nginx)
        self.write_state()

    def _watch(self, name: str, process) -> None:
        self.managed.append(ManagedProcess(name, process, self._restarts))

    async def _render_pbx_config(self) -> None:
        """Asterisk's config from the database, as ``serve`` renders it."""
        engine = db.make_engine(self.settings.database_url, self.settings.database.busy_timeout)
        try:
            await db.migrate(engine)
            await PbxConfigSync(self.settings, db.sessionmaker(engine)).write()
        finally:
            await engine.dispose()

    def write_state(self) -> None:
        state = {"listen": f"{self.listen_host}:{self.listen_port}",
                 "servers": [{"name": s.slot.name, "port": s.slot.web_port, "ivr_port": s.slot.ivr_port,
                              "pid": s.pid, "config": str(s.slot.config), "log": str(s.log_path)}
                             for s in self.servers]}
        tmp = self.folder / "cluster.json.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.folder / "cluster.json")

    async def watch(self, stop: asyncio.Event) -> None:
        """Until ``stop``: each second, start again what died."""
        while not stop.is_set():
            for managed in self.managed:
                was_up = managed.up
                try:
                    await managed.check()
                except Exception as error:  # noqa: BLE001 - tried again after the back-off
                    log.error("%s could not be started again: %s", managed.name, error)
                if not was_up and managed.up:
                    self.write_state()
            try:
                await asyncio.wait_for(stop.wait(), WATCH_SECONDS)
            except asyncio.TimeoutError:
                pass

    async def stop(self) -> None:
        for managed in reversed(self.managed):
            try:
                await managed.process.stop()
            except Exception:  # noqa: BLE001 - the rest still stops
                log.exception("stopping %s failed", managed.name)


async def run_cluster(settings, slots: list[ServerSlot], listen_host: str, listen_port: int) -> None:
    cluster = Cluster(settings, slots, listen_host, listen_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await cluster.start()
        scheme = "https" if settings.web.tls_cert else "http"
        log.info("cluster serving on %s://%s:%d: %s", scheme, listen_host, listen_port,
                 ", ".join(f"{s.name} on 127.0.0.1:{s.web_port}" for s in slots))
        await cluster.watch(stop)
    finally:
        log.info("stopping the cluster")
        await cluster.stop()
