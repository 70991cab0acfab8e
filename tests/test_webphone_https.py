"""What ``make run`` gives on a fresh machine: ``init`` then ``serve`` (its
own Redis and Asterisk, https with the certificate ``init`` made, in a
network namespace of its own so nothing collides with the test stack), and a
browser-mode agent's phone registers from the https panel over the same
origin's ``wss:`` SIP socket."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

from callcenter.main import main
from tests.config_files import initialised, set_keys

pytestmark = [pytest.mark.pbx,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                                 reason="needs root for a network namespace")]
PROBE = Path(__file__).resolve().parent / "webphone_https_probe.py"


def test_make_run_serves_an_https_panel_whose_web_phone_registers(tmp_path, monkeypatch):
    config = initialised(tmp_path / "callcenter.toml")
    instance = f"https{uuid.uuid4().hex[:6]}"
    set_keys(config, {"instance": f'"{instance}"'}, section="pbx")  # its own folder in the Asterisk root
    root = Path(tomllib.loads(config.read_text())["pbx"]["root"])
    request_cleanup = lambda: shutil.rmtree(root / "srv" / "callcenter" / instance, ignore_errors=True)  # noqa: E731
    try:
        _run(config, tmp_path, monkeypatch)
    finally:
        request_cleanup()


def _run(config: Path, tmp_path: Path, monkeypatch) -> None:
    password = "Lena-headset-2026"
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(password + "\n"))
    assert main(["user", "add", "lena", "--role", "agent", "--phone", "browser", "--password-stdin",
                 "--config", str(config)]) == 0
    done = subprocess.run(["unshare", "-n", "bash", "-c",
                           f'ip link set lo up; exec {sys.executable} {PROBE} {config} {password}'],
                          capture_output=True, text=True, timeout=150, cwd=tmp_path)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    log = (tmp_path / "serve.log").read_text() if (tmp_path / "serve.log").exists() else ""
    assert lines, (done.stdout[-2000:], done.stderr[-2000:], log[-3000:])
    seen = json.loads(lines[-1])
    assert "error" not in seen, (seen, log[-3000:])
    assert seen["verified"] and seen["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert seen["url"].startswith("https://127.0.0.1:") and "/desk" in seen["url"]
    assert seen["state"] == "registered" and seen["secure_context"] is True
    assert any(url.startswith("wss://127.0.0.1:") and url.endswith("/sip") for url in seen["sockets"]), seen
