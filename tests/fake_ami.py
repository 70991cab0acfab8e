"""A fake Asterisk Manager Interface server for the faults a real Asterisk
cannot produce on demand: a peer that stops answering, drops the connection,
never sends the banner, never answers Login, splits a message at any byte,
floods events...

    async with FakeAmi(originate="silent") as ami:
        link = AmiLink(AmiSettings(port=ami.port, ...))

Everything it receives is kept: ``ami.raw`` (bytes) and ``ami.actions``
(one dict per action, repeated headers as lists).  It deliberately does not
use the code under test (callcenter.ami.framing) to parse.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def event(name: str, **headers: str) -> bytes:
    """``event("Newchannel", Channel="PJSIP/x")`` -> AMI bytes."""
    lines = [f"Event: {name}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _parse(block: str) -> dict:
    out: dict = {}
    for line in block.split("\r\n"):
        key, _, value = line.partition(": ")
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


class FakeAmi:
    """Modes (all attributes may be changed while running):

    * ``banner``: send the banner on connect (False: accept TCP and say nothing)
    * ``answer_login``: answer Login at all; ``secret``: the one accepted (None: any)
    * ``answer_ping``: answer Ping (False: a dead peer that keeps TCP up)
    * ``originate``: ``"success"`` | ``"silent"`` (never answers) | ``"error"``
    * ``channels``: how many CoreShowChannel entries CoreShowChannels lists
    * ``handlers``: ``{action_name: fn(fake, action_dict) -> bytes | None}``
    """

    def __init__(self, *, banner: bool = True, answer_login: bool = True, secret: str | None = None,
                 answer_ping: bool = True, originate: str = "success", channels: int = 0) -> None:
        self.banner = banner
        self.answer_login = answer_login
        self.secret = secret
        self.answer_ping = answer_ping
        self.originate = originate
        self.channels = channels
        self.handlers: dict[str, Callable[["FakeAmi", dict], bytes | None]] = {}
        self.raw = bytearray()
        self.actions: list[dict] = []
        self.connections = 0
        self.logins = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()
        self.writer: asyncio.StreamWriter | None = None  # the latest connection
        self.port = 0

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> "FakeAmi":
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "FakeAmi":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ----------------------------------------------------------------- faults
    async def drop(self) -> None:
        """Close every client connection (abruptly, like a crashed Asterisk)."""
        writers = list(self._writers)
        self._writers.clear()
        for w in writers:
            w.transport.abort()
        for w in writers:
            try:
                await w.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def push(self, data: bytes, *, chunk: int | None = None, splits: list[int] | None = None,
                   delay: float = 0.0) -> None:
        """Send raw bytes to the latest client, whole, in ``chunk``-byte pieces
        or cut at the byte offsets ``splits``; ``delay`` between pieces."""
        w = self.writer
        assert w is not None, "no client connected"
        if splits is not None:
            bounds = [0, *sorted(splits), len(data)]
            pieces = [data[a:b] for a, b in zip(bounds, bounds[1:])]
        elif chunk:
            pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
        else:
            pieces = [data]
        for piece in pieces:
            w.write(piece)
            await w.drain()
            if delay:
                await asyncio.sleep(delay)

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.get("Action", "").lower() == action.lower())

    def last(self, action: str) -> dict:
        return [a for a in self.actions if a.get("Action", "").lower() == action.lower()][-1]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> float:
        """Poll ``predicate`` until true; return how long it took."""
        start = time.monotonic()
        while not predicate():
            if time.monotonic() - start > timeout:
                raise AssertionError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)
        return time.monotonic() - start

    # ---------------------------------------------------------------- serving
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        self.writer = writer
        self.connections += 1
        try:
            if self.banner:
                writer.write(BANNER)
            buf = b""
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                self.raw += data
                buf += data
                while b"\r\n\r\n" in buf:
                    block, buf = buf.split(b"\r\n\r\n", 1)
                    action = _parse(block.decode("utf-8", "replace"))
                    self.actions.append(action)
                    reply = self._answer(action)
                    if reply and not writer.is_closing():
                        writer.write(reply)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            self._tasks.discard(task)

    def _answer(self, action: dict) -> bytes | None:
        name = action.get("Action", "")
        aid = action.get("ActionID", "")
        if not self.banner:
            return None
        if name in self.handlers:
            return self.handlers[name](self, action)
        low = name.lower()
        if low == "login":
            if not self.answer_login:
                return None
            if self.secret is not None and action.get("Secret") != self.secret:
                return (f"Response: Error\r\nActionID: {aid}\r\n"
                        "Message: Authentication failed\r\n\r\n").encode()
            self.logins += 1
            return (f"Response: Success\r\nActionID: {aid}\r\nMessage: Authentication accepted\r\n\r\n"
                    "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 1\r\nLastReload: 1\r\n"
                    "Status: Fully Booted\r\n\r\n").encode()
        if low == "ping":
            if not self.answer_ping:
                return None
            return (f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n"
                    f"Timestamp: {time.time():.6f}\r\n\r\n").encode()
        if low == "originate":
            if self.originate == "silent":
                return None
            if self.originate == "error":
                return f"Response: Error\r\nActionID: {aid}\r\nMessage: Originate failed\r\n\r\n".encode()
            return (f"Response: Success\r\nActionID: {aid}\r\n"
                    "Message: Originate successfully queued\r\n\r\n").encode()
        if low == "coreshowchannels":
            parts = [f"Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n"
                     "Message: Channels will follow\r\n\r\n"]
            for i in range(self.channels):
                parts.append(
                    f"Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/trunk-{i:08x}\r\n"
                    f"ChannelState: 6\r\nChannelStateDesc: Up\r\nCallerIDNum: 9198765{i:05d}\r\n"
                    f"CallerIDName: प्रिया {i}\r\nContext: agents\r\nExten: s\r\nPriority: 1\r\n"
                    f"Uniqueid: 1700000000.{i}\r\nLinkedid: 1700000000.{i}\r\nApplication: Dial\r\n"
                    f"ApplicationData: PJSIP/agent\r\nDuration: 00:00:{i % 60:02d}\r\n\r\n")
            parts.append(f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                         f"ListItems: {self.channels}\r\n\r\n")
            return "".join(parts).encode("utf-8")
        return f"Response: Error\r\nActionID: {aid}\r\nMessage: Invalid/unknown command\r\n\r\n".encode()
