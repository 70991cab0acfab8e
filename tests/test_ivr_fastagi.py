"""The FastAGI server against fake peers (faults Asterisk cannot produce on
demand): half a header then close, a megabyte of headers, a peer from a
non-allowed address, one that never sends, too many sessions, cancellation;
after each the server still serves the next good session. Also the reply
parser and the command builder's allow-lists."""
from __future__ import annotations

import asyncio
import dataclasses
import socket

import pytest

from ivr.settings import IvrSettings
from ivr import commands
from ivr.agi import AgiCommandError, AgiHangup, AgiProtocolError, AgiResult, parse_environment, parse_result
from ivr.commands import UnsafeArgument
from ivr.fastagi import FastAgiServer
from ivr.metrics import IvrMetrics

ENV = (b"agi_network: yes\nagi_network_script: flow\nagi_request: agi://127.0.0.1:4573/flow\n"
       b"agi_channel: PJSIP/carrier-00000001\nagi_language: en\nagi_type: PJSIP\n"
       b"agi_uniqueid: 1700000000.1\nagi_version: 22.0.0\nagi_callerid: 9876543210\n"
       b"agi_calleridname: unknown\nagi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\n"
       b"agi_callingtns: 0\nagi_dnid: 8062247000\nagi_rdnis: unknown\nagi_context: cc-inbound\n"
       b"agi_extension: 8062247000\nagi_priority: 4\nagi_enhanced: 0.0\nagi_accountcode: \n"
       b"agi_threadid: 140000000000\nagi_arg_1: 8062247000\n\n")


class Recorder:
    """A handler that answers and remembers what it saw."""

    def __init__(self):
        self.envs = []
        self.results = []
        self.errors = []
        self.hold = None  # an Event the handler waits on after ANSWER

    async def __call__(self, conn):
        self.envs.append(conn.env)
        try:
            self.results.append(await conn.send(commands.answer()))
            if self.hold is not None:
                await self.hold.wait()
                self.results.append(await conn.send(commands.wait_for_digit(1000)))
        except BaseException as error:
            self.errors.append(error)
            raise


@pytest.fixture
async def agi_server():
    servers = []

    async def start(handler=None, **overrides):
        settings = dataclasses.replace(IvrSettings(port=0, header_timeout=0.5, command_timeout=1.0), **overrides)
        server = FastAgiServer(settings, handler or Recorder(), IvrMetrics())
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def environment(callerid: str = "9876543210", calleridname: str = "unknown", args=("8062247000",)) -> bytes:
    """The environment as Asterisk 22 writes it (res_agi setup_env): caller
    values copied in as they are, line breaks and all."""
    lines = ["agi_network: yes", "agi_network_script: flow", "agi_request: agi://127.0.0.1:4573/flow",
             "agi_channel: PJSIP/carrier-00000001", "agi_language: en", "agi_type: PJSIP",
             "agi_uniqueid: 1700000000.1", "agi_version: 22.0.0", f"agi_callerid: {callerid}",
             f"agi_calleridname: {calleridname}", "agi_callingpres: 0", "agi_callingani2: 0", "agi_callington: 0",
             "agi_callingtns: 0", "agi_dnid: 8062247000", "agi_rdnis: unknown", "agi_context: cc-inbound",
             "agi_extension: 8062247000", "agi_priority: 4", "agi_enhanced: 0.0", "agi_accountcode: ",
             "agi_threadid: 140000000000", *(f"agi_arg_{n}: {a}" for n, a in enumerate(args, start=1))]
    return ("\n".join(lines) + "\n\n").encode()


async def answer_echo(reader, writer) -> None:
    """Asterisk's reply to the server's environment check (GET FULL VARIABLE <token>)."""
    line = await asyncio.wait_for(reader.readline(), 2)
    assert line.startswith(b"GET FULL VARIABLE "), line
    writer.write(b"200 result=1 (" + line.split()[3] + b")\n")


async def begin(port: int, env: bytes = ENV):
    """Connect and play Asterisk's start of a session: the environment, the echo."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env)
    await answer_echo(reader, writer)
    return reader, writer


async def good_session(port: int, env: bytes = ENV, reply: bytes = b"200 result=0\n") -> bytes:
    reader, writer = await begin(port, env)
    command = await asyncio.wait_for(reader.readline(), 2)
    writer.write(reply)
    await writer.drain()
    rest = await asyncio.wait_for(reader.read(), 2)  # the server closes after the handler
    writer.close()
    return command + rest


async def closed_by_server(reader, writer) -> bool:
    """True once the server closed (FIN or reset) without sending anything."""
    try:
        data = await asyncio.wait_for(reader.read(), 2)
    except ConnectionResetError:
        data = b""
    writer.close()
    return data == b""


async def until(predicate, timeout=3.0):
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_a_good_session_gets_its_environment_and_replies(agi_server):
    server = await agi_server()
    assert await good_session(server.port) == b"ANSWER\n"
    env = server.handler.envs[0]
    assert env["agi_arg_1"] == "8062247000" and env["agi_callerid"] == "9876543210"
    assert server.handler.results == [AgiResult("0")]
    await until(lambda: server.active == 0)


async def test_half_a_header_then_close(agi_server):
    server = await agi_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(ENV[:100])
    await writer.drain()
    writer.close()
    await until(lambda: server.metrics.value("callcenter_ivr_errors_total", kind="closed") == 1)
    assert server.active == 0 and not server.handler.envs
    assert await good_session(server.port) == b"ANSWER\n"


@pytest.mark.parametrize("flood", ["lines", "one_line"])
async def test_a_megabyte_of_headers(agi_server, flood):
    server = await agi_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    chunk = (b"agi_x: " + b"a" * 90 + b"\n") * 100 if flood == "lines" else b"a" * 10_000
    try:
        for _ in range(1_000_000 // len(chunk)):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass  # the server cut us off: what it should do
    assert await closed_by_server(reader, writer)
    await until(lambda: server.metrics.value("callcenter_ivr_errors_total", kind="header_too_large") == 1)
    assert server.active == 0 and not server.handler.envs
    assert await good_session(server.port) == b"ANSWER\n"


async def test_a_peer_that_never_sends_times_out(agi_server):
    server = await agi_server(header_timeout=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server
    writer.close()
    assert server.metrics.value("callcenter_ivr_errors_total", kind="header_timeout") == 1
    assert await good_session(server.port) == b"ANSWER\n"


async def test_a_peer_that_never_replies_to_a_command_times_out(agi_server):
    server = await agi_server(command_timeout=0.3)
    reader, writer = await begin(server.port)
    assert await asyncio.wait_for(reader.readline(), 2) == b"ANSWER\n"
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()
    assert server.metrics.value("callcenter_ivr_errors_total", kind="command_timeout") == 1
    assert await good_session(server.port) == b"ANSWER\n"


async def test_a_peer_from_an_address_not_allowed_is_closed_at_once(agi_server):
    server = await agi_server(host="0.0.0.0", allowed_peers=["127.0.0.1"])
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.5", 0))
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(ENV)
    assert await closed_by_server(reader, writer)
    assert server.metrics.value("callcenter_ivr_connections_refused_total", reason="peer_not_allowed") == 1
    assert not server.handler.envs
    assert await good_session(server.port) == b"ANSWER\n"


async def test_sessions_beyond_the_limit_are_refused(agi_server):
    handler = Recorder()
    handler.hold = asyncio.Event()
    server = await agi_server(handler, max_sessions=2)
    held = []
    for _ in range(2):
        reader, writer = await begin(server.port)
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 result=0\n")
        held.append((reader, writer))
    await until(lambda: len(handler.results) == 2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(ENV)
    assert await closed_by_server(reader, writer)
    assert server.metrics.value("callcenter_ivr_connections_refused_total", reason="busy") == 1
    handler.hold.set()
    for reader, writer in held:
        assert await reader.readline() == b"WAIT FOR DIGIT 1000\n"
        writer.write(b"200 result=0 (timeout)\n")
        assert await closed_by_server(reader, writer)
    await until(lambda: server.active == 0)
    handler.hold = None
    assert await good_session(server.port) == b"ANSWER\n"


async def test_close_cancels_sessions_and_the_cancellation_reaches_them(agi_server):
    handler = Recorder()
    handler.hold = asyncio.Event()
    server = await agi_server(handler)
    reader, writer = await begin(server.port)
    await reader.readline()
    writer.write(b"200 result=0\n")
    await until(lambda: handler.results)
    await asyncio.wait_for(server.close(), 2)
    assert server.active == 0
    assert any(isinstance(e, asyncio.CancelledError) for e in handler.errors)
    assert await closed_by_server(reader, writer)


async def test_hangup_notice_then_failed_result_raises_hangup(agi_server):
    handler = Recorder()
    handler.hold = asyncio.Event()
    handler.hold.set()
    server = await agi_server(handler)
    reader, writer = await begin(server.port)
    await reader.readline()
    writer.write(b"200 result=0\n")
    assert await reader.readline() == b"WAIT FOR DIGIT 1000\n"
    writer.write(b"HANGUP\n200 result=-1\n")
    await until(lambda: handler.errors)
    assert isinstance(handler.errors[0], AgiHangup)
    writer.close()


async def test_a_usage_block_is_a_refused_command(agi_server):
    server = await agi_server()
    out = await good_session(server.port, reply=b"520-Invalid command syntax.  Proper usage follows:\n"
                                                b"Usage: ANSWER\n520 End of proper usage.\n")
    assert out == b"ANSWER\n"
    assert isinstance(server.handler.errors[0], AgiCommandError)
    assert server.metrics.value("callcenter_ivr_errors_total", kind="refused_command") == 1


@pytest.mark.parametrize("env", [
    ENV.replace(b"agi_threadid: 140000000000\n", b""),                       # ended early
    ENV.replace(b"agi_callerid: 9876543210\n",                               # a forged argument
                b"agi_callerid: 1\nagi_arg_1: 8062247999\n"),
    ENV.replace(b"agi_callerid: 9876543210\n", b"agi_callerid: 1\nnot a header\n"),
])
async def test_a_forged_or_truncated_environment_never_reaches_the_handler(agi_server, env):
    server = await agi_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(env)
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()
    assert not server.handler.envs
    assert server.metrics.value("callcenter_ivr_errors_total", kind="protocol") == 1


# What a caller value holding line breaks can make of the environment.
FORGED_REST = ("agi_callingpres: 0\nagi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\n"
               "agi_dnid: 8062247999\nagi_rdnis: unknown\nagi_context: cc-inbound\nagi_extension: 8062247999\n"
               "agi_priority: 4\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 1\n"
               "agi_arg_1: 8062247999\n")


@pytest.mark.parametrize("name", [
    # the whole rest of the sequence, ended by a blank line of its own: Asterisk's real lines follow
    "x\n" + FORGED_REST + "\ny",
    "x\n" + FORGED_REST + "\n200 result=1 (00000000000000000000000000000000)",
    # what fits in Asterisk's 80 characters: the keys it needs, then a blank line
    "x\nagi_threadid: 1\nagi_arg_1: 8062247999\n\ny",
    # an argument slipped in among the fields
    "x\nagi_arg_2: 8062247999",
])
async def test_a_caller_name_with_line_breaks_never_forges_the_environment(agi_server, name):
    """Play Asterisk exactly: the environment with the caller's name copied in
    as received, then (only after all of it) the reply to the server's check.
    The session is refused with a warning before the handler sees anything;
    the next caller is served."""
    server = await agi_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(environment(calleridname=name))
    try:
        command = await asyncio.wait_for(reader.readline(), 2)
        if command.startswith(b"GET FULL VARIABLE "):
            writer.write(b"200 result=1 (" + command.split()[3] + b")\n")
            command = await asyncio.wait_for(reader.readline(), 2)
        assert command == b"", command  # no command for the forged session, closed
    except ConnectionResetError:
        pass
    writer.close()
    await until(lambda: server.metrics.value("callcenter_ivr_errors_total", kind="protocol") == 1)
    assert not server.handler.envs
    assert await good_session(server.port) == b"ANSWER\n"
    assert server.handler.envs[0]["agi_arg_1"] == "8062247000"


async def test_a_caller_name_without_line_breaks_is_kept_as_received(agi_server):
    server = await agi_server()
    assert await good_session(server.port, environment(calleridname='A "name": agi_arg_1: 1 ;')) == b"ANSWER\n"
    env = server.handler.envs[0]
    assert env["agi_calleridname"] == 'A "name": agi_arg_1: 1 ;' and env["agi_arg_1"] == "8062247000"


def test_reply_parsing():
    assert parse_result("200 result=0 endpos=12345") == AgiResult("0", None, 12345)
    assert parse_result("200 result=49 endpos=800").code == 49
    assert parse_result("200 result=05 (timeout)") == AgiResult("05", "timeout")
    assert parse_result("200 result= (timeout)").timed_out
    assert parse_result("200 result=*1").code is None
    assert parse_result("200 result=1 (a (b) c)") == AgiResult("1", "a (b) c")
    assert parse_result("200 result=-1 endpos=0").failed
    with pytest.raises(AgiHangup):
        parse_result("511 Command Not Permitted on a dead channel or intercept routine")
    with pytest.raises(AgiCommandError):
        parse_result("510 Invalid or unknown command")
    with pytest.raises(AgiProtocolError):
        parse_result("agi_callerid: 1")
    with pytest.raises(AgiProtocolError):
        parse_environment([b"agi_request: x\n", b"agi_request: y\n"])


def test_the_command_builder_refuses_anything_outside_its_allow_lists():
    assert commands.stream_file("/srv/callcenter/x/prompts/en/welcome", "12#").line == \
        'STREAM FILE /srv/callcenter/x/prompts/en/welcome "12#"'
    assert commands.get_data("beep", 3000, 2).line == "GET DATA beep 3000 2"
    assert commands.queue("sales-en", 120).line == "EXEC Queue sales-en,,,,120"
    assert commands.set_language("hi").line == "SET VARIABLE CHANNEL(language) hi"
    for hostile in ["welcome\nHANGUP", "a b", "../etc/passwd", "x;y", 'a"', "WELCOME", "", "a/../b", "$(x)"]:
        with pytest.raises(UnsafeArgument):
            commands.stream_file(hostile)
    for bad in ["1a", "1 2", '"', "1\n"]:
        with pytest.raises(UnsafeArgument):
            commands.stream_file("beep", bad)
    for bad in [0, -1, True, "10", 10**9]:
        with pytest.raises(UnsafeArgument):
            commands.wait_for_digit(bad)
    for bad in ["Sales", "q,r", "q|EXEC", "", "q)"]:
        with pytest.raises(UnsafeArgument):
            commands.queue(bad, 60)
    with pytest.raises(UnsafeArgument):
        commands.set_variable("CC_X", "a b")
    with pytest.raises(UnsafeArgument):
        commands.set_variable("PATH", "x")
    with pytest.raises(UnsafeArgument):
        commands.get_variable("SHELL(rm)")
