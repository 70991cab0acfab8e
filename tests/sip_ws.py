"""A small SIP-over-WebSocket client (RFC 7118) for tests: what a browser's
JsSIP does to register, without the browser.

    async with SipWsClient(url, "wb-lena", password, domain="callcenter") as sip:
        assert await sip.register() == 200
        assert await sip.unregister() == 200

``url``: Asterisk's own ``ws://127.0.0.1:<http_port>/ws`` or the server's
``/sip`` (pass ``headers={"Cookie": ...}``). REGISTER answers a 401/407 digest
challenge once (MD5, qop=auth); the final status code is returned.
Requests from Asterisk are kept in ``requests``; OPTIONS (qualify) are
answered 200 (left unanswered if ``answer_options`` is false, as by a
browser that vanished), INVITE ``invite_status`` (None: left ringing),
anything else but ACK 486."""
from __future__ import annotations

import asyncio
import hashlib
import re
import secrets

import aiohttp

_AUTH_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class SipMessage:
    """One parsed SIP message: ``status`` (a response) or ``method`` (a request)."""

    def __init__(self, text: str):
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.first = lines[0]
        self.headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))
        parts = self.first.split(" ", 2)
        self.status = int(parts[1]) if parts[0] == "SIP/2.0" else None
        self.method = None if self.status is not None else parts[0]

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def get(self, name: str, default: str = "") -> str:
        values = self.all(name)
        return values[0] if values else default

    def __repr__(self) -> str:
        return f"<SipMessage {self.first!r}>"


def digest_authorization(challenge: str, user: str, password: str, method: str, uri: str,
                         nc: int = 1) -> str:
    """The Authorization value answering one ``Digest ...`` challenge."""
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in _AUTH_PARAM.finditer(challenge)}
    realm, nonce = params["realm"], params["nonce"]
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
              "algorithm=MD5"]
    if "auth" in [q.strip() for q in params.get("qop", "").split(",")]:
        cnonce, count = secrets.token_hex(8), f"{nc:08x}"
        response = _md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        response = _md5(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


def _md5_challenge(values: list[str]) -> str | None:
    """The MD5 one of the Digest challenges (no algorithm means MD5)."""
    for value in values:
        algorithm = re.search(r'algorithm="?([\w-]+)', value, re.I)
        if value[:6].lower() == "digest" and (algorithm is None or algorithm.group(1).upper() == "MD5"):
            return value
    return None


class SipWsClient:
    def __init__(self, url: str, user: str, password: str, *, domain: str = "callcenter",
                 headers: dict | None = None, answer_options: bool = True, invite_status: int | None = 486):
        self.url, self.user, self.password, self.domain = url, user, password, domain
        self.headers = headers or {}
        self.answer_options = answer_options
        self.invite_status = invite_status
        self.host = f"{secrets.token_hex(6)}.invalid"
        self.contact = f"<sip:{secrets.token_hex(4)}@{self.host};transport=ws>"
        self.call_id = secrets.token_hex(12)
        self.from_tag = secrets.token_hex(5)
        self.cseq = 0
        self.requests: list[SipMessage] = []
        self.handshake_status: int | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> "SipWsClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self) -> None:
        """Open the WebSocket (subprotocol ``sip``); aiohttp.WSServerHandshakeError if refused."""
        self._http = aiohttp.ClientSession()
        try:
            self._ws = await self._http.ws_connect(self.url, protocols=("sip",), headers=self.headers,
                                                   autoping=True)
        except aiohttp.WSServerHandshakeError as e:
            self.handshake_status = e.status
            await self._http.close()
            raise
        self.handshake_status = 101
        if self._ws.protocol != "sip":
            raise ConnectionError(f"the server chose subprotocol {self._ws.protocol!r}, not sip")
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        """Close the WebSocket as a browser tab going away does (no un-REGISTER)."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    async def register(self, expires: int = 600, timeout: float = 5.0, *, query: bool = False) -> int:
        """REGISTER (answering one digest challenge); the final status code.
        ``query``: no Contact, so nothing changes (RFC 3261 10.2.3, a query
        for the bindings): only whether the credentials are taken."""
        uri = f"sip:{self.domain}"
        extra = [] if query else [f"Contact: {self.contact};expires={expires}", f"Expires: {expires}"]
        response = await self._request("REGISTER", uri, extra, timeout)
        if response.status in (401, 407):
            header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
            challenge = _md5_challenge(response.all(header))
            if challenge is None:
                return response.status
            auth = digest_authorization(challenge, self.user, self.password, "REGISTER", uri)
            name = "Authorization" if response.status == 401 else "Proxy-Authorization"
            response = await self._request("REGISTER", uri, [*extra, f"{name}: {auth}"], timeout)
        self.last_response = response
        return response.status

    async def unregister(self, timeout: float = 5.0) -> int:
        return await self.register(expires=0, timeout=timeout)

    # -- the wire ------------------------------------------------------------
    async def _request(self, method: str, uri: str, extra: list[str], timeout: float) -> SipMessage:
        self.cseq += 1
        branch = "z9hG4bK" + secrets.token_hex(8)
        aor = f"sip:{self.user}@{self.domain}"
        lines = [f"{method} {uri} SIP/2.0", f"Via: SIP/2.0/WS {self.host};branch={branch}",
                 "Max-Forwards: 70", f"To: <{aor}>", f"From: <{aor}>;tag={self.from_tag}",
                 f"Call-ID: {self.call_id}", f"CSeq: {self.cseq} {method}", *extra,
                 "User-Agent: callcenter-tests sip_ws", "Content-Length: 0"]
        future = asyncio.get_running_loop().create_future()
        self._pending[branch] = future
        try:
            await self._ws.send_str("\r\n".join(lines) + "\r\n\r\n")
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(branch, None)

    async def _read(self) -> None:
        async for frame in self._ws:
            if frame.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                continue
            data = frame.data if isinstance(frame.data, str) else frame.data.decode()
            message = SipMessage(data)
            if message.status is not None:
                branch = re.search(r"branch=([^;,\s]+)", message.get("Via"))
                future = self._pending.get(branch.group(1)) if branch else None
                if future is not None and not future.done() and message.status >= 200:
                    future.set_result(message)
                continue
            self.requests.append(message)
            if message.method == "OPTIONS":
                if self.answer_options:
                    await self._reply(message, 200, "OK")
            elif message.method == "INVITE":
                if self.invite_status is not None:
                    await self._reply(message, self.invite_status, "Busy Here")
            elif message.method != "ACK":
                await self._reply(message, 486, "Busy Here")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the WebSocket closed"))

    async def _reply(self, request: SipMessage, status: int, reason: str) -> None:
        to = request.get("To")
        if ";tag=" not in to:
            to += f";tag={secrets.token_hex(5)}"
        lines = [f"SIP/2.0 {status} {reason}", *(f"Via: {v}" for v in request.all("Via")),
                 f"To: {to}", f"From: {request.get('From')}", f"Call-ID: {request.get('Call-ID')}",
                 f"CSeq: {request.get('CSeq')}", "Content-Length: 0"]
        await self._ws.send_str("\r\n".join(lines) + "\r\n\r\n")
