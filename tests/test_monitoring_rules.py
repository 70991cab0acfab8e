"""The monitoring kit (monitoring/prometheus, alertmanager, grafana): the
configs pass promtool and amtool, each alert fires from synthetic series with
its severity and escalation labels (promtool unit tests in
monitoring/prometheus/tests), every metric a rule or dashboard panel reads is
served by /metrics, and a real Prometheus scraping a running server answers
every dashboard query with data."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import yaml

from callcenter.config import MonitoringSettings
from callcenter.models import Call
from callcenter.probes import owed_dispositions
from tests import factories as f
from tests.monitoring_server import free_port, start_server
from web.keys import SERVICES

ROOT = Path(__file__).resolve().parent.parent / "monitoring"
PROM, AM = ROOT / "prometheus", ROOT / "alertmanager" / "alertmanager.yml"
DASHBOARD = ROOT / "grafana" / "dashboards" / "callcenter.json"
NEEDS = pytest.mark.skipif(not (shutil.which("promtool") and shutil.which("amtool")),
                           reason="promtool/amtool missing: apt-get install prometheus prometheus-alertmanager")
pytestmark = NEEDS


def rules() -> list[dict]:
    return [rule for path in sorted((PROM / "rules").glob("*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules_and_the_config():
    assert run("promtool", "check", "rules", *map(str, sorted((PROM / "rules").glob("*.yml")))).returncode == 0
    checked = run("promtool", "check", "config", str(PROM / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_alert_fires_with_its_labels_and_not_below_threshold():
    tests = sorted((PROM / "tests").glob("*_test.yml"))
    result = run("promtool", "test", "rules", *map(str, tests))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {m for t in tests for m in re.findall(r"alertname: (\w+)", t.read_text())}
    assert {r["alert"] for r in rules()} <= tested  # no alert without a unit test


def test_every_alert_has_severity_escalation_and_text():
    for rule in rules():
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["labels"]["escalation"] in ("L1", "L2", "L3", "L4"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_alertmanager_config_and_routes_by_escalation():
    checked = run("amtool", "check-config", str(AM))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    expected = {("ticket", "L1"): "l1-operations", ("ticket", "L2"): "l2-system-admins",
                ("ticket", "L3"): "l3-technical-support", ("page", "L4"): "oncall-webhook,l4-incident-response",
                ("page", "L2"): "oncall-webhook,l2-system-admins"}
    for (severity, level), receivers in expected.items():
        routed = run("amtool", "config", "routes", "test", f"--config.file={AM}",
                     f"severity={severity}", f"escalation={level}")
        assert routed.stdout.strip() == receivers, (severity, level, routed.stdout)


def test_inhibitions_name_real_alerts():
    names = {r["alert"] for r in rules()}
    for inhibit in yaml.safe_load(AM.read_text())["inhibit_rules"]:
        for matcher in inhibit["source_matchers"] + inhibit["target_matchers"]:
            pattern = re.match(r'alertname=~?"(.*)"', matcher).group(1)
            assert set(pattern.split("|")) <= names, pattern


def used_metrics() -> set[str]:
    exprs = [r["expr"] for r in rules()] + dashboard_queries()
    return {m for e in exprs for m in re.findall(r"\bcallcenter_[a-z0-9_]+", e)}


@pytest.fixture
async def server(tmp_path):
    client, ami = await start_server(tmp_path)
    try:
        yield client
    finally:
        await client.close()
        await ami.close()


async def test_every_metric_the_rules_and_dashboard_read_is_served(server):
    text = await (await server.get("/metrics")).text()
    served = set(re.findall(r"^# HELP (\S+)", text, re.M)) | set(re.findall(r"^(callcenter_\w+)", text, re.M))
    missing = sorted(m for m in used_metrics() if m not in served)
    assert not missing, f"rules or dashboard read metrics /metrics does not serve: {missing}"


async def _query(http, base: str, expr: str) -> dict:
    """Prometheus's answer; an empty result while it still starts (503 "Service Unavailable")."""
    async with http.get(f"{base}/api/v1/query", params={"query": expr}) as resp:
        if resp.status == 503:
            return {"status": "starting", "data": {"result": []}}
        return await resp.json()


async def test_a_real_prometheus_answers_every_dashboard_query(server, tmp_path):
    port = server.server.port
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in sorted((PROM / "rules").glob("*.yml"))],
        "scrape_configs": [{"job_name": "callcenter", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]}))
    prom_port = free_port()
    base = f"http://127.0.0.1:{prom_port}"
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 90
            while True:  # three scrapes: rate() has two samples in its window
                assert prom.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
                try:
                    seen = await _query(http, base, 'count_over_time(up{job="callcenter"}[5m]) >= 3 and up == 1')
                    if seen.get("data", {}).get("result"):
                        break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "Prometheus did not scrape the server three times"
                await asyncio.sleep(0.5)
            empty, errors = [], []
            for expr in dashboard_queries():
                answer = await _query(http, base, expr)
                if answer["status"] != "success":
                    errors.append((expr, answer.get("error")))
                elif not answer["data"]["result"]:
                    empty.append(expr)
            for rule in rules():  # the alerts' own expressions evaluate (firing or not)
                answer = await _query(http, base, rule["expr"])
                if answer["status"] != "success":
                    errors.append((rule["alert"], answer.get("error")))
            assert not errors, errors
            assert not empty, f"dashboard queries without data: {empty}"
            async with http.get(f"{base}/api/v1/rules") as resp:
                groups = (await resp.json())["data"]["groups"]
            assert all(r["health"] == "ok" for g in groups for r in g["rules"])
    finally:
        prom.terminate()
        try:
            prom.wait(10)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        log.close()


async def test_dispositions_owed_counts_ended_work_item_calls_without_one(sessions):
    """The figure behind DispositionBacklog/DispositionOverdue: ended calls from
    a work item with no disposition; live calls, disposed calls and calls
    placed outside a work item are not owed."""
    now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    async with sessions() as s, s.begin():
        agent = await f.user(s, "asha")
        trunk = await f.trunk(s)
        item = await f.work_item(s, await f.campaign(s, "Birthdays"), await f.customer(s), agent)

        def call(state="ended", minutes_ago=5, work_item=True, disposed=False) -> Call:
            return Call(id=uuid.uuid4().hex, agent_id=agent.id, requested_by="asha", mode="mobile",
                        number="+919800000001", trunk_id=trunk.id, caller_id="8062247000", channels=2,
                        state=state, work_item_id=item.id if work_item else None,
                        ended_at=now - dt.timedelta(minutes=minutes_ago) if state == "ended" else None,
                        disposed_at=now if disposed else None)
        s.add_all([call(minutes_ago=130), call(minutes_ago=5), call(state="agent_ringing"),
                   call(disposed=True), call(work_item=False)])
    count, oldest = await owed_dispositions(sessions, now)
    assert (count, oldest) == (2, 130 * 60)


async def test_serve_runs_prometheus_and_alertmanager_when_the_config_asks(tmp_path):
    """[monitoring] prometheus/alertmanager = true: both start on loopback
    beside the server, Prometheus scrapes it and knows the Alertmanager,
    and both stop with the server."""
    monitoring = MonitoringSettings(prometheus=True, alertmanager=True, prometheus_port=free_port(),
                                    alertmanager_port=free_port(), scrape_interval=1)
    client, ami = await start_server(tmp_path, monitoring)
    base = f"http://127.0.0.1:{monitoring.prometheus_port}"
    try:
        tools = client.server.app[SERVICES].monitoring_tools
        assert sorted(t.name for t in tools) == ["alertmanager", "prometheus"]
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await _query(http, base, 'up{job="callcenter"} == 1'))["data"]["result"]:
                        break
                except aiohttp.ClientError:
                    pass  # not listening yet
                assert time.monotonic() < deadline, "the managed Prometheus never scraped the server"
                await asyncio.sleep(0.5)
            async with http.get(f"{base}/api/v1/alertmanagers") as resp:
                active = (await resp.json())["data"]["activeAlertmanagers"]
            assert [a["url"] for a in active] == [f"http://127.0.0.1:{monitoring.alertmanager_port}/api/v2/alerts"]
            async with http.get(f"http://127.0.0.1:{monitoring.alertmanager_port}/-/ready") as resp:
                assert resp.status == 200
            metrics = await (await client.get("/metrics")).text()
            assert 'callcenter_process_up{process="prometheus"} 1.0' in metrics
    finally:
        await client.close()
        await ami.close()
    assert not any(t.running for t in tools)
