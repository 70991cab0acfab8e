"""Run inside a fresh network namespace by tests/test_webphone_https.py:
``callcenter serve`` exactly as ``make run`` starts it (managed Redis and
Asterisk, https with the certificate ``init`` made), then a browser-mode
agent logs in with headless Chromium and the phone bar must say registered.
Prints one JSON line of what it saw; the serve process is stopped at the end.

    python tests/webphone_https_probe.py CONFIG PASSWORD"""
from __future__ import annotations

import asyncio
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


def certificate_checks(port: int, cafile: Path) -> dict:
    """The served certificate is init's, valid for 127.0.0.1 (verified, not ignored)."""
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        return {"tls_version": tls.version(), "verified": True}


async def browse(base: str, password: str) -> dict:
    seen: dict = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS,
                                           headless=True)
        context = await browser.new_context(ignore_https_errors=True)  # the self-signed certificate
        page = await context.new_page()
        page.set_default_timeout(20_000)
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        await page.goto(base + "/login")
        await page.fill("#name", "lena")
        await page.fill("#password", password)
        await page.click("button[type=submit]")
        await page.wait_for_selector('#phone-bar[data-state="registered"]', timeout=20_000)
        seen.update(url=page.url, state=await page.get_attribute("#phone-bar", "data-state"),
                    sockets=sockets, secure_context=await page.evaluate("window.isSecureContext"))
        await browser.close()
    return seen


def main() -> int:
    config, password = Path(sys.argv[1]), sys.argv[2]
    settings = tomllib.loads(config.read_text())
    port = settings["web"]["port"]
    log = open(config.parent / "serve.log", "w")
    serve = subprocess.Popen([str(ROOT / ".venv/bin/callcenter"), "serve", "--config", str(config)],
                             stdout=log, stderr=subprocess.STDOUT, cwd=config.parent)
    result: dict = {}
    try:
        wait_for_port(port, time.monotonic() + 60)
        result.update(certificate_checks(port, config.parent / settings["web"]["tls_cert"]))
        result.update(asyncio.run(browse(f"https://127.0.0.1:{port}", password)))
    except Exception as error:  # noqa: BLE001 - reported to the test
        result["error"] = f"{type(error).__name__}: {error}"
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
