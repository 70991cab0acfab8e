"""`callcenter serve`: the web app with everything it opens, until SIGINT/SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from callcenter.config import Settings
from web import transport
from web.app import create_app

log = logging.getLogger(__name__)


async def run(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, settings.web.host, settings.web.port)
        await site.start()
        log.info("callcenter serving on http://%s:%d", settings.web.host, settings.web.port)
        if (warning := transport.plain_http_warning(settings)) is not None:
            log.warning(warning)
        await stop.wait()
    finally:
        log.info("stopping")
        await runner.cleanup()
