"""For the desk's browser tests (tests/test_webphone_page.py): the real
GET/DELETE /api/v1/phone, watched (``PhoneApiWatch``), the page's real /sip
sockets, watched (``SocketWatch``), and one STAND-IN kept where a test must
drive the phone's signalling itself (ring it at will, close its socket with a
given code); the real thing end to end is tests/test_webphone_e2e.py:

- ``SipStandIn``: the /sip WebSocket answered by ``page.route_web_socket``: a
  registrar (200 OK to every REGISTER) that can also ring the page with an
  INVITE whose SDP offer comes from a second RTCPeerConnection in the same
  page (so media really flows), ACK the answer, answer what the phone sends
  inside the call (BYE, INFO for DTMF, re-INVITE for hold) and answer a call
  the phone places (the echo test) with a peer that plays the fake microphone.

Nothing in the production code knows about it."""
from __future__ import annotations

import asyncio
import secrets


class PhoneApiWatch:
    """The page's calls to the real GET/DELETE /api/v1/phone, counted (the
    stand-in that answered them is gone: the server serves them)."""

    def __init__(self) -> None:
        self.gets = self.deletes = 0
        self.unsigned: list[str] = []     # requests that went without their CSRF token

    def install(self, page) -> None:
        page.on("request", self.seen)

    def seen(self, request) -> None:
        if not request.url.split("?")[0].endswith("/api/v1/phone"):
            return
        if request.method == "GET":
            self.gets += 1
        elif request.method == "DELETE":
            self.deletes += 1
            if not request.headers.get("x-csrf-token"):
                self.unsigned.append("DELETE /api/v1/phone")


class SocketWatch:
    """The page's /sip WebSockets (the real ones, through the server to Asterisk)."""

    def __init__(self) -> None:
        self.sockets: list = []

    def install(self, page) -> None:
        page.on("websocket", lambda ws: self.sockets.append(ws) if ws.url.split("?")[0].endswith("/sip") else None)


def parse(text: str) -> tuple[str, list[tuple[str, str]], str]:
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = [(line.split(":", 1)[0].strip(), line.split(":", 1)[1].strip()) for line in lines[1:] if ":" in line]
    return lines[0], headers, body


def header(headers, name: str) -> str:
    return next((v for n, v in headers if n.lower() == name.lower()), "")


def response(status: str, headers, *, to_tag: str | None = None, extra=(), body: str = "") -> str:
    lines = [f"SIP/2.0 {status}"]
    lines += [f"{n}: {v}" for n, v in headers if n.lower() in ("via", "from", "call-id", "cseq")]
    to = header(headers, "to")
    lines.append(f"To: {to};tag={to_tag}" if to_tag and ";tag=" not in to else f"To: {to}")
    lines += list(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    lines += [f"Content-Length: {len(body.encode())}", "", body]
    return "\r\n".join(lines)


OFFER_JS = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const pc = new RTCPeerConnection();
  stream.getTracks().forEach(t => pc.addTrack(t, stream));
  window.__standinPc = pc;
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 3000); });
  return pc.localDescription.sdp;
}"""
ECHO_JS = """async sdp => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const pc = new RTCPeerConnection();
  window.__standinPc = pc;
  await pc.setRemoteDescription({type: 'offer', sdp});
  stream.getTracks().forEach(t => pc.addTrack(t, stream));
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise(r => { if (pc.iceGatheringState === 'complete') r();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
    setTimeout(r, 3000); });
  return pc.localDescription.sdp;
}"""
ANSWER_JS = "sdp => window.__standinPc.setRemoteDescription({type: 'answer', sdp})"
REOFFER_JS = """async sdp => {
  const pc = window.__standinPc;
  await pc.setRemoteDescription({type: 'offer', sdp});
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.sdp;
}"""


class SipStandIn:
    """STAND-IN for /sip relayed to Asterisk (see the module's docstring)."""

    def __init__(self, page) -> None:
        self.page = page
        self.sockets: list = []
        self.registers: list[str] = []        # each REGISTER's expiry ("0": unregister)
        self.contact = ""                     # the phone's registered contact URI
        self.requests: list[tuple[str, str]] = []   # (method, body) the phone sent; a new call: (its URI, body)
        self.responses: list[str] = []        # status lines the phone answered the INVITE with
        self.call: dict | None = None

    async def install(self) -> None:
        await self.page.route_web_socket("**/sip", self.accept)

    def accept(self, ws) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda message: asyncio.ensure_future(self.received(ws, message)))

    async def received(self, ws, message) -> None:
        text = message if isinstance(message, str) else message.decode()
        first, headers, body = parse(text)
        if first.startswith("SIP/2.0 "):
            await self.on_response(ws, first, headers, body)
        elif first.startswith("REGISTER "):
            self.on_register(ws, headers)
        elif first.startswith(("BYE ", "INFO ", "INVITE ", "UPDATE ")):
            method = first.split(" ", 1)[0]
            self.requests.append((first.split(" ")[1] if method == "INVITE" and ";tag=" not in header(headers, "to")
                                  else method, body))
            if method == "INVITE" and ";tag=" not in header(headers, "to"):   # a new call from the phone: the echo
                ws.send(response("200 OK", headers, to_tag="echo", body=await self.page.evaluate(ECHO_JS, body),
                                 extra=["Contact: <sip:echo@standin.invalid;transport=ws>"]))
                return
            answer = await self.page.evaluate(REOFFER_JS, body) if method == "INVITE" and body else ""
            contact = ["Contact: <sip:standin@standin.invalid;transport=ws>"] if method == "INVITE" else []
            ws.send(response("200 OK", headers, extra=contact, body=answer))

    def on_register(self, ws, headers) -> None:
        contact = header(headers, "contact")
        expires = header(headers, "expires") or ("0" if "expires=0" in contact else "300")
        self.registers.append(expires)
        self.contact = contact.split("<", 1)[1].split(">", 1)[0] if "<" in contact else contact
        extra = [f"Contact: {contact.split(';expires')[0]};expires={expires}"] if expires != "0" else []
        ws.send(response("200 OK", headers, to_tag=f"reg{len(self.registers)}", extra=extra))

    async def ring(self, *, caller: str = "Asha Customer", call_id: str = "call-1",
                   answer_after_ms: int | None = None) -> None:
        """An INVITE to the registered phone (a queue call; with ``answer_after_ms``: a click-to-call)."""
        sdp = await self.page.evaluate(OFFER_JS)
        self.call = {"call_id": secrets.token_hex(8), "from_tag": secrets.token_hex(4),
                     "branch": secrets.token_hex(6)}
        lines = [f"INVITE {self.contact} SIP/2.0",
                 f"Via: SIP/2.0/WSS standin.invalid;branch=z9hG4bK{self.call['branch']}",
                 "Max-Forwards: 70",
                 f'From: "{caller}" <sip:+919876543210@callcenter.test>;tag={self.call["from_tag"]}',
                 f"To: <{self.contact}>", f"Call-ID: {self.call['call_id']}", "CSeq: 1 INVITE",
                 "Contact: <sip:standin@standin.invalid;transport=ws>", f"X-CC-Call-Id: {call_id}"]
        if answer_after_ms is not None:
            lines.append(f"X-CC-Answer-After: {answer_after_ms}")
        lines += ["Content-Type: application/sdp", f"Content-Length: {len(sdp.encode())}", "", sdp]
        self.sockets[-1].send("\r\n".join(lines))

    async def on_response(self, ws, first: str, headers, body: str) -> None:
        if not header(headers, "cseq").endswith("INVITE") or self.call is None:
            return
        self.responses.append(first)
        status = int(first.split(" ")[1])
        if status < 200:
            return
        if status < 300:
            await self.page.evaluate(ANSWER_JS, body)
        to = header(headers, "to")
        branch = secrets.token_hex(6) if status < 300 else self.call["branch"]  # a non-2xx ACK: same transaction
        ws.send("\r\n".join([f"ACK {self.contact} SIP/2.0",
                             f"Via: SIP/2.0/WSS standin.invalid;branch=z9hG4bK{branch}", "Max-Forwards: 70",
                             f"From: {header(headers, 'from')}", f"To: {to}",
                             f"Call-ID: {self.call['call_id']}", "CSeq: 1 ACK", "Content-Length: 0", "", ""]))
