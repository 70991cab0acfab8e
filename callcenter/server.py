"""`callcenter serve`: the web app with everything it opens, until SIGINT/SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from callcenter import tls
from callcenter.config import Settings
from web import transport
from web.app import create_app

log = logging.getLogger(__name__)


async def open_site(runner: web.AppRunner, settings: Settings, port: int | None = None) -> web.TCPSite:
    """Listen on [web] host and port (``port``: another one, 0 for any free
    one), over TLS when [web] tls_cert/tls_key are set (callcenter/tls.py)."""
    ssl_context = tls.server_context(settings)  # ConfigError: a missing file, a key not the certificate's
    port = settings.web.port if port is None else port
    site = web.TCPSite(runner, settings.web.host, port, ssl_context=ssl_context)
    await site.start()
    log.info("callcenter serving on %s://%s:%d", tls.scheme(settings), settings.web.host, port)
    if (warning := transport.plain_http_warning(settings)) is not None:
        log.warning(warning)
    return site


async def run(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await open_site(runner, settings)
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
