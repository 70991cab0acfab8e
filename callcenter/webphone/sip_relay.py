"""The SIP WebSocket behind the panel's own session: a browser's ``/sip``
socket is relayed, frame by frame, to Asterisk's SIP WebSocket
(``ws://127.0.0.1:<[pbx] http_port>/ws``, which listens on loopback only).

So the phone and the pages share one origin (one certificate, one port), and
only a browser with a valid panel session of a browser-mode agent reaches
Asterisk at all; the digest credentials of that login are the second lock.
One agent, one phone: a second socket of the same agent (another tab or
device) takes over, and the first is closed with code 4002 so its page can
say so. A login that ends closes its socket with 4001. When Asterisk's side
closes (a restart), the browser's socket closes with 1012 and the phone
reconnects with back-off."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import aiohttp
from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

SESSION_ENDED = 4001
TAKEN_OVER = 4002
NOT_YOURS = 4003
UPSTREAM_GONE = 1012
MAX_MESSAGE = 64 * 1024
HEARTBEAT_SECONDS = 15.0


def register_target(text: str) -> str | None:
    """The user of the To URI of a REGISTER request, None for anything else."""
    head, _, _ = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    if not lines or not lines[0].startswith("REGISTER "):
        return None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("to", "t"):
            uri = value[value.find("sip:") + 4:] if "sip:" in value else ""
            return uri.split("@", 1)[0] if "@" in uri else ""
    return ""


@dataclass(eq=False)
class Relay:
    user_id: int
    endpoint: str
    session_digest: str
    browser: web.WebSocketResponse
    done: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)   # the upstream socket is closed
    close_code: int | None = None
    close_message: str = ""


class SipRelay:
    def __init__(self, upstream_url: str, connect_timeout: float = 5.0) -> None:
        self.upstream_url = upstream_url
        self.connect_timeout = connect_timeout
        self.relays: dict[int, Relay] = {}
        self._client: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            # limit=0: each phone's socket to Asterisk holds one of the
            # connector's connections for as long as the phone is online, and
            # aiohttp's default of 100 left the 101st phone waiting until its
            # connect timed out (bench/webphone_registrations.py). The number
            # of phones is bounded by the browser agents (one socket each) and
            # by Asterisk's http.conf sessionlimit.
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None, connect=self.connect_timeout))
        return self._client

    async def close(self) -> None:
        for relay in list(self.relays.values()):
            self.end(relay.user_id, UPSTREAM_GONE, "server stopping")
        if self._client is not None:
            await self._client.close()

    def end(self, user_id: int, code: int, message: str, session_digest: str | None = None) -> bool:
        """Close the agent's phone socket (only that login's, when given)."""
        relay = self.relays.get(user_id)
        if relay is None or (session_digest is not None and relay.session_digest != session_digest):
            return False
        relay.close_code, relay.close_message = code, message
        relay.done.set()
        return True

    async def wait_closed(self, user_id: int, timeout: float = 3.0) -> None:
        """Until the agent's socket to Asterisk is closed (Asterisk then drops
        its contact at once; a contact whose endpoint went first would be
        orphaned until it expires)."""
        relay = self.relays.get(user_id)
        if relay is not None:
            try:
                await asyncio.wait_for(relay.closed.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("web phone of %s: its socket did not close in time", relay.endpoint)

    async def serve(self, request: web.Request, user_id: int, endpoint: str, session_digest: str) -> web.WebSocketResponse:
        browser = web.WebSocketResponse(protocols=("sip",), heartbeat=HEARTBEAT_SECONDS,
                                        max_msg_size=MAX_MESSAGE)
        await browser.prepare(request)
        try:
            upstream = await self._session().ws_connect(self.upstream_url, protocols=("sip",),
                                                         max_msg_size=MAX_MESSAGE, heartbeat=HEARTBEAT_SECONDS)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            log.warning("web phone of %s: Asterisk's SIP socket is not reachable: %s", endpoint, error)
            await browser.close(code=UPSTREAM_GONE, message=b"phone system not reachable")
            return browser
        previous = self.relays.get(user_id)
        relay = self.relays[user_id] = Relay(user_id, endpoint, session_digest, browser)
        if previous is not None:
            previous.close_code, previous.close_message = TAKEN_OVER, "taken over by another tab or device"
            previous.done.set()
        log.info("web phone of %s connected", endpoint)
        pumps = [asyncio.create_task(self._to_asterisk(relay, upstream)),
                 asyncio.create_task(self._to_browser(relay, upstream))]
        waiter = asyncio.create_task(relay.done.wait())
        try:
            await asyncio.wait([*pumps, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*pumps, waiter):
                task.cancel()
            await asyncio.gather(*pumps, waiter, return_exceptions=True)
            if self.relays.get(user_id) is relay:
                del self.relays[user_id]
            await upstream.close()
            relay.closed.set()
            if not browser.closed:
                await browser.close(code=relay.close_code or UPSTREAM_GONE,
                                    message=(relay.close_message or "phone system closed the connection").encode())
            log.info("web phone of %s disconnected (%s)", endpoint, relay.close_code or "closed")
        return browser

    async def _to_asterisk(self, relay: Relay, upstream) -> None:
        async for message in relay.browser:
            if message.type != WSMsgType.TEXT:
                if message.type == WSMsgType.ERROR:
                    return
                continue
            target = register_target(message.data)
            if target is not None and target != relay.endpoint:
                log.warning("web phone of %s tried to register %r: closed", relay.endpoint, target)
                relay.close_code, relay.close_message = NOT_YOURS, "not your phone"
                return
            await upstream.send_str(message.data)
        relay.close_code = relay.close_code or 1000

    async def _to_browser(self, relay: Relay, upstream) -> None:
        async for message in upstream:
            if message.type == WSMsgType.TEXT:
                await relay.browser.send_str(message.data)
            elif message.type == WSMsgType.ERROR:
                break
        if relay.close_code is None:
            relay.close_code, relay.close_message = UPSTREAM_GONE, "phone system closed the connection"
