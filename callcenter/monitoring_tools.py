"""Prometheus and Alertmanager as managed child processes of ``serve``
(``[monitoring] prometheus = true`` / ``alertmanager = true``; both off by
default). They listen on 127.0.0.1 only, keep their data under
``<state_dir>/monitoring`` and are watched like the managed Redis and
Asterisk (callcenter/supervision.py): one that dies is started again.

Prometheus gets a config written here: the server's /metrics on
127.0.0.1:<web port>, the rules in monitoring/prometheus/rules, and the
managed Alertmanager when there is one. Alertmanager reads
``[monitoring] alertmanager_config`` (default: monitoring/alertmanager/
alertmanager.yml, whose SMTP and webhook placeholders you fill in first)."""
from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import yaml

from callcenter.child_process import StartError, stop_popen, tail

HERE = Path(__file__).resolve().parent.parent / "monitoring"
RULES = HERE / "prometheus" / "rules"
ALERTMANAGER_CONFIG = HERE / "alertmanager" / "alertmanager.yml"
HOST = "127.0.0.1"


async def _answers(port: int, timeout: float = 0.5) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True


class ToolProcess:
    """One monitoring binary in the foreground, its output in ``log_path``."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path, start_timeout: float = 20.0):
        self.name, self.argv, self.port, self.log_path = name, argv, port, log_path
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_status(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    async def start(self) -> None:
        if self.running:
            return
        if self._log is not None:
            self._log.close()
        self._log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not await _answers(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                code = self._proc.poll()
                await self.stop()
                raise StartError(f"{self.name} on {HOST}:{self.port} did not start (status {code})\n"
                                 f"{tail(self.log_path)}")
            await asyncio.sleep(0.1)

    async def stop(self) -> int | None:
        proc, self._proc = self._proc, None
        code = await stop_popen(proc, 5.0) if proc is not None else None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code


def prometheus_config(settings) -> dict:
    m = settings.monitoring
    config = {"global": {"scrape_interval": f"{m.scrape_interval}s", "evaluation_interval": f"{m.scrape_interval}s"},
              "rule_files": [str(RULES / "*.yml")],
              "scrape_configs": [{"job_name": "callcenter", "metrics_path": "/metrics",
                                  "static_configs": [{"targets": [f"{HOST}:{settings.web.port}"]}]}]}
    if m.alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"{HOST}:{m.alertmanager_port}"]}]}]}
    return config


def monitoring_processes(settings) -> list[ToolProcess]:
    """The processes ``[monitoring]`` asks for (not started), config written."""
    m = settings.monitoring
    folder = Path(settings.state_dir) / "monitoring"
    found = []
    if m.alertmanager:
        (folder / "alertmanager").mkdir(parents=True, exist_ok=True)
        found.append(ToolProcess("alertmanager", [
            "prometheus-alertmanager", f"--config.file={m.alertmanager_config or ALERTMANAGER_CONFIG}",
            f"--storage.path={folder / 'alertmanager'}", f"--web.listen-address={HOST}:{m.alertmanager_port}",
            "--cluster.listen-address="], m.alertmanager_port, folder / "alertmanager.log"))
    if m.prometheus:
        (folder / "prometheus").mkdir(parents=True, exist_ok=True)
        config = folder / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(settings), sort_keys=False))
        found.append(ToolProcess("prometheus", [
            "prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'prometheus'}",
            f"--storage.tsdb.retention.time={m.retention_days}d",
            f"--web.listen-address={HOST}:{m.prometheus_port}"], m.prometheus_port, folder / "prometheus.log"))
    return found
