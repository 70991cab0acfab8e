"""Prometheus and Alertmanager as managed child processes of ``serve``
(``[monitoring] prometheus = true`` / ``alertmanager = true``; both off by
default). They listen on 127.0.0.1 only, keep their data under
``<state_dir>/monitoring`` and are watched like the managed Redis and
Asterisk (callcenter/supervision.py): one that dies is started again.

Prometheus gets a config written here: the server's /metrics on
127.0.0.1:<web port> (https when the server serves it), the rules in monitoring/prometheus/rules, and the
managed Alertmanager when there is one. Alertmanager reads
``[monitoring] alertmanager_config`` (default: monitoring/alertmanager/
alertmanager.yml, whose SMTP and webhook placeholders you fill in first)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from callcenter import tls
from callcenter.child_process import ForegroundProcess

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


class ToolProcess(ForegroundProcess):
    """One monitoring binary in the foreground, its output in ``log_path``."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path, start_timeout: float = 20.0):
        super().__init__(name, log_path, start_timeout=start_timeout, stop_timeout=5.0)
        self._argv, self.port = argv, port

    def argv(self) -> list[str]:
        return self._argv

    async def ready(self) -> bool:
        return await _answers(self.port)


def prometheus_config(settings) -> dict:
    m = settings.monitoring
    job = {"job_name": "callcenter", "metrics_path": "/metrics",
           "static_configs": [{"targets": [f"{HOST}:{settings.web.port}"]}]}
    if tls.scheme(settings) == "https":
        # this same server over loopback: a real certificate names the public
        # host, not 127.0.0.1, so it is not checked
        job.update(scheme="https", tls_config={"insecure_skip_verify": True})
    config = {"global": {"scrape_interval": f"{m.scrape_interval}s", "evaluation_interval": f"{m.scrape_interval}s"},
              "rule_files": [str(RULES / "*.yml")], "scrape_configs": [job]}
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
