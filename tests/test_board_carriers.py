"""The carrier's reachability on the board, against the real Asterisk: with
``[pbx] trunk_qualify_seconds`` set, Asterisk sends the carrier SIP OPTIONS;
the board's trunk shows it unreachable while nothing answers, reachable (with
its round trip) once the carrier answers, and unreachable again when it goes
quiet. Without the setting the board says nothing of it."""
from __future__ import annotations

import asyncio
import time

import pytest

from tests.harness import TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"


class OptionsCarrier(asyncio.DatagramProtocol):
    """A carrier that answers SIP OPTIONS with 200 OK (and nothing else)."""

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        head = data.decode("utf-8", "replace").split("\r\n\r\n", 1)[0].split("\r\n")
        if not head[0].startswith("OPTIONS "):
            return
        keep = [line for line in head[1:] if line.split(":", 1)[0].strip().lower()
                in ("via", "from", "to", "call-id", "cseq")]
        answer = "\r\n".join(["SIP/2.0 200 OK", *keep, "Content-Length: 0", "", ""])
        self.transport.sendto(answer.encode(), addr)


async def carrier_on_board(server, state: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        resp = await server.client.get("/api/v1/board", headers=server.headers())
        assert resp.status == 200, await resp.text()
        trunk = next(t for t in (await resp.json())["trunks"] if t["name"] == "carrier")
        if (trunk["carrier"] or {}).get("state") == state:
            return trunk["carrier"]
        assert time.monotonic() < deadline, f"the carrier never {state} on the board: {trunk}"
        await asyncio.sleep(0.2)


async def test_the_board_shows_whether_the_carrier_answers(call_server):
    port = free_port()
    server = await call_server(trunks=[TrunkSpec("carrier", CARRIER_IP, port)],
                               pbx={"trunk_qualify_seconds": 1})
    await carrier_on_board(server, "unreachable")              # nothing answers the OPTIONS
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(OptionsCarrier, local_addr=(CARRIER_IP, port))
    try:
        reachable = await carrier_on_board(server, "reachable")
        assert reachable["rtt_ms"] is not None and reachable["rtt_ms"] >= 0
    finally:
        transport.close()
    gone = await carrier_on_board(server, "unreachable")         # quiet again
    assert gone["since"] is not None


async def test_without_the_setting_the_board_says_nothing_of_the_carrier(call_server):
    server = await call_server(trunks=[TrunkSpec("carrier", CARRIER_IP, free_port())])
    resp = await server.client.get("/api/v1/board", headers=server.headers())
    trunk = next(t for t in (await resp.json())["trunks"] if t["name"] == "carrier")
    assert trunk["carrier"] is None
