"""The relay's client side to Asterisk holds one connection per online phone
for as long as it is online: aiohttp's default connector limit (100) once
left the 101st phone waiting until its connect timed out
(bench/webphone_registrations.py, 500 phones)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from callcenter.webphone.sip_relay import SipRelay

PHONES = 120


async def test_more_than_a_hundred_phones_get_a_socket_to_asterisk():
    async def upstream(request):          # stands in for Asterisk's /ws
        ws = web.WebSocketResponse(protocols=("sip",))
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", upstream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    relay = SipRelay(f"ws://127.0.0.1:{port}/ws", connect_timeout=10.0)  # generous: a loaded run
    sockets = []
    try:
        for _ in range(PHONES):
            sockets.append(await asyncio.wait_for(
                relay._session().ws_connect(relay.upstream_url, protocols=("sip",)), 15))  # a deadline: a loaded run
        assert len(sockets) == PHONES and not any(s.closed for s in sockets)
    finally:
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        await relay.close()
        await runner.cleanup()
