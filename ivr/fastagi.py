"""A FastAGI server on asyncio (replacing panoramisk's, which spins when the
peer closes inside the headers, has no read timeouts and swallows
cancellation).

- only peers in ``allowed_peers`` get past accept; others are closed at once;
- at most ``max_sessions`` sessions run at a time, each in its own task;
  one more is closed at once (Asterisk's AGI() then fails and the dialplan
  plays its busy prompt);
- the environment must arrive within ``header_timeout`` seconds, in lines of
  at most 4 kB, 64 kB and 256 lines in all, as exactly the key sequence
  Asterisk sends (``ivr.agi``), and Asterisk must echo a random token back
  before anything else (``confirm_end``): a caller ID or name holding a blank
  line ends the environment early, and the real lines that follow it would
  come first. Either way the session is closed with a warning, before the
  handler sees anything;
- every reply is awaited at most ``command_timeout`` seconds plus what the
  command itself legitimately waits for (``AgiCommand.waits``);
- ``close()`` stops listening, cancels the sessions and waits for them;
  cancellation is never swallowed.

The handler gets an :class:`AgiConnection` and may send only commands made
by ``ivr.commands``."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import time
from typing import Awaitable, Callable

from callcenter.loops import stop_tasks
from ivr import commands
from ivr.agi import (AgiCommandError, AgiError, AgiHangup, AgiProtocolError, AgiResult, echo_reply_matches,
                     is_usage_start, parse_environment, parse_result)
from ivr.commands import AgiCommand
from ivr.metrics import IvrMetrics

log = logging.getLogger(__name__)

LINE_LIMIT = 4096
HEADER_BYTES_LIMIT = 64 * 1024
HEADER_LINES_LIMIT = 256
USAGE_LINES_LIMIT = 64


class AgiTimeout(AgiError):
    """A read took longer than allowed."""


class HeaderTooLarge(AgiProtocolError):
    """The environment broke a size or count limit."""


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError:
        raise HeaderTooLarge(f"a line longer than {LINE_LIMIT} bytes") from None
    except asyncio.IncompleteReadError:
        raise AgiError("the peer closed the connection") from None


async def read_environment(reader: asyncio.StreamReader) -> dict[str, str]:
    """Lines up to the blank one, within the size and count limits."""
    lines: list[bytes] = []
    total = 0
    while True:
        line = await _read_line(reader)
        total += len(line)
        if total > HEADER_BYTES_LIMIT or len(lines) >= HEADER_LINES_LIMIT:
            raise HeaderTooLarge(f"AGI environment over {HEADER_BYTES_LIMIT} bytes or {HEADER_LINES_LIMIT} lines")
        if line in (b"\n", b"\r\n"):
            return parse_environment(lines)
        lines.append(line)


async def confirm_end(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Ask Asterisk to echo a random token: it reads commands only once its
    whole environment is sent, so any line before the echo means the blank
    line we stopped at came from a caller value (the environment was split)."""
    token = secrets.token_hex(16)
    writer.write(commands.echo(token).line.encode("ascii") + b"\n")
    await writer.drain()
    line = (await _read_line(reader)).decode("utf-8", "replace").rstrip("\r\n")
    if line == "HANGUP":
        raise AgiHangup("the channel hung up before the session began")
    if not echo_reply_matches(line, token):
        raise AgiProtocolError(f"AGI environment split by a caller value: {line[:60]!r} came after its end")


class AgiConnection:
    """One FastAGI session's socket: send a command, get its reply."""

    def __init__(self, reader, writer, env: dict[str, str], command_timeout: float,
                 metrics: IvrMetrics | None = None) -> None:
        self._reader, self._writer = reader, writer
        self.env = env
        self.command_timeout = command_timeout
        self.metrics = metrics
        self.hung_up = False

    async def send(self, command: AgiCommand) -> AgiResult:
        if not isinstance(command, AgiCommand):
            raise TypeError("only ivr.commands builds AGI commands")
        if self.hung_up:
            raise AgiHangup("the channel hung up")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.command_timeout + command.waits):
                self._writer.write(command.line.encode("ascii") + b"\n")
                await self._writer.drain()
                result = await self._reply()
        except TimeoutError:
            raise AgiTimeout(f"no reply to {command.name} in time") from None
        except (ConnectionError, OSError) as error:
            raise AgiError(f"connection lost: {error}") from None
        if result.failed and self.hung_up:
            raise AgiHangup("the channel hung up")
        if self.metrics is not None and command.waits == 0:
            self.metrics.command_seconds.observe(time.perf_counter() - started)
        return result

    async def _reply(self) -> AgiResult:
        while True:
            line = (await _read_line(self._reader)).decode("utf-8", "replace").rstrip("\r\n")
            if line == "HANGUP":  # FastAGI's notice; the command's own reply follows
                self.hung_up = True
                continue
            if line.startswith("100 "):  # provisional ("100 result=0 Trying..." of GOSUB): the reply follows
                continue
            if is_usage_start(line):
                for _ in range(USAGE_LINES_LIMIT):
                    if (await _read_line(self._reader)).startswith(b"520 "):
                        raise AgiCommandError("Asterisk refused the command's syntax")
                raise AgiProtocolError("endless 520 usage block")
            return parse_result(line)


Handler = Callable[[AgiConnection], Awaitable[None]]


class FastAgiServer:
    def __init__(self, settings, handler: Handler, metrics: IvrMetrics | None = None) -> None:
        self.settings = settings
        self.handler = handler
        self.metrics = metrics or IvrMetrics()
        self.allowed = {ipaddress.ip_address(p) for p in settings.allowed_peers}
        self._server: asyncio.base_events.Server | None = None
        self._sessions: set[asyncio.Task] = set()
        self.port: int | None = None

    @property
    def active(self) -> int:
        return len(self._sessions)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self.settings.host, self.settings.port, limit=LINE_LIMIT, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("FastAGI listening on %s:%d", self.settings.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        await stop_tasks(list(self._sessions), "FastAGI session")
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except TimeoutError:
                pass
            self._server = None

    def _peer_allowed(self, writer) -> bool:
        peer = writer.get_extra_info("peername")
        try:
            return bool(peer) and ipaddress.ip_address(peer[0]) in self.allowed
        except ValueError:
            return False

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback: the session runs in a task of ours, so cancelling
        # it at close is not reported by asyncio's stream machinery as an error.
        if not self._peer_allowed(writer):
            self.metrics.connections_refused.labels("peer_not_allowed").inc()
            log.warning("FastAGI connection from %s refused: not an allowed peer",
                        writer.get_extra_info("peername"))
            writer.transport.abort()
            return
        if len(self._sessions) >= self.settings.max_sessions:
            self.metrics.connections_refused.labels("busy").inc()
            log.warning("FastAGI connection refused: %d sessions already", len(self._sessions))
            writer.transport.abort()
            return
        task = asyncio.create_task(self._session(reader, writer))
        self._sessions.add(task)
        self.metrics.sessions_active.inc()
        task.add_done_callback(self._session_done)

    def _session_done(self, task: asyncio.Task) -> None:
        self._sessions.discard(task)
        self.metrics.sessions_active.dec()

    async def _session(self, reader, writer) -> None:
        try:
            await self._serve(reader, writer)
        except BaseException:  # cancelled: no goodbyes
            writer.transport.abort()
            raise
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (TimeoutError, OSError):
            writer.transport.abort()

    async def _serve(self, reader, writer) -> None:
        try:
            try:
                async with asyncio.timeout(self.settings.header_timeout):
                    env = await read_environment(reader)
                    await confirm_end(reader, writer)
            except TimeoutError:
                raise AgiTimeout("no complete AGI environment in time") from None
            connection = AgiConnection(reader, writer, env, self.settings.command_timeout, self.metrics)
            await self.handler(connection)
        except HeaderTooLarge as error:
            self._fault("header_too_large", error)
        except AgiTimeout as error:
            self._fault("header_timeout" if "environment" in str(error) else "command_timeout", error)
        except AgiProtocolError as error:
            self._fault("protocol", error)
        except AgiCommandError as error:
            self._fault("refused_command", error)
        except AgiHangup:
            pass
        except AgiError as error:
            self._fault("closed", error)
        except (ConnectionError, OSError) as error:
            self._fault("closed", error)
        except Exception:  # noqa: BLE001 - one session's bug must not take the server down
            self.metrics.errors.labels("internal").inc()
            log.exception("FastAGI session failed")

    def _fault(self, kind: str, error: Exception) -> None:
        self.metrics.errors.labels(kind).inc()
        log.warning("FastAGI session ended: %s: %s", kind, error)
