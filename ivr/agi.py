"""The AGI wire protocol, without I/O: the environment Asterisk sends first
(``agi_*: value`` lines ending with a blank line) and the replies to commands
(``200 result=... (data) endpos=...``, ``510``, ``511``, ``520`` usage blocks,
and the ``HANGUP`` notice of FastAGI).

Everything received is untrusted bytes: lines are decoded leniently, length
and count limits are the caller's (``fastagi``). A caller ID or name holding
line breaks would otherwise forge the lines after it, and a blank line in it
would end the environment early, so the environment must be exactly the key
sequence Asterisk sends (``ENVIRONMENT_KEYS``, then ``agi_arg_1``..``N``);
anything else is refused. A forgery that copies the whole sequence and ends
it with its own blank line leaves Asterisk's real lines still to come:
``fastagi`` finds those before any handler sees the environment: it asks
Asterisk to echo a random token (``commands.echo``), and any line that comes
before the echo was still part of the environment."""
from __future__ import annotations

import re
from dataclasses import dataclass

# What a FastAGI request starts with (res_agi launch_netscript; the script
# line only when the URL names one), then what every Asterisk sends, in this
# order (res_agi setup_env), then agi_arg_1..N and a blank line.
NETWORK_KEYS = ("agi_network", "agi_network_script")
ENVIRONMENT_KEYS = ("agi_request", "agi_channel", "agi_language", "agi_type", "agi_uniqueid", "agi_version",
                    "agi_callerid", "agi_calleridname", "agi_callingpres", "agi_callingani2", "agi_callington",
                    "agi_callingtns", "agi_dnid", "agi_rdnis", "agi_context", "agi_extension", "agi_priority",
                    "agi_enhanced", "agi_accountcode", "agi_threadid")
_ECHO = re.compile(r"^[0-9a-f]{32}$")
_KEY = re.compile(r"^agi_[a-z0-9_]{1,40}$")
# GOSUB's reply ends with words of its own ("200 result=0 Gosub complete").
_RESULT = re.compile(r"^200 result=(\S*)(?: \((.*)\))?(?: endpos=(-?\d+))?(?: [A-Za-z][A-Za-z ]{0,40})?$")


class AgiError(Exception):
    """The AGI conversation cannot go on (protocol breach, timeout, closed)."""


class AgiProtocolError(AgiError):
    """The peer sent something AGI does not allow."""


class AgiHangup(AgiError):
    """The channel hung up (HANGUP notice, result=-1 after it, or 511)."""


class AgiCommandError(AgiError):
    """Asterisk refused a command (510 unknown, 520 bad usage)."""


def parse_environment(lines: list[bytes]) -> dict[str, str]:
    """The ``agi_*`` lines (without the blank one) as a dict. Values are
    text as received (decoded with replacement) and still untrusted."""
    env: dict[str, str] = {}
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") and _KEY.fullmatch(line[:-1]):
                key, value = line[:-1], ""
            else:
                raise AgiProtocolError(f"not an AGI environment line: {line[:60]!r}")
        if not _KEY.fullmatch(key):
            raise AgiProtocolError(f"not an AGI environment key: {key[:60]!r}")
        if key in env:
            raise AgiProtocolError(f"AGI environment repeats {key} (forged by a caller value?)")
        env[key] = value
    check_sequence(list(env))
    return env


def check_sequence(keys: list[str]) -> None:
    """Refuse keys that are not Asterisk's sequence: optional network lines,
    ``ENVIRONMENT_KEYS`` in order, then agi_arg_1, agi_arg_2... with no gap."""
    at = 0
    for network_key in NETWORK_KEYS:
        if at < len(keys) and keys[at] == network_key:
            at += 1
    fixed = keys[at:at + len(ENVIRONMENT_KEYS)]
    if tuple(fixed) != ENVIRONMENT_KEYS:
        wrong = next((i for i, (a, b) in enumerate(zip(fixed, ENVIRONMENT_KEYS)) if a != b), len(fixed))
        got = fixed[wrong] if wrong < len(fixed) else "the end"
        want = ENVIRONMENT_KEYS[wrong] if wrong < len(ENVIRONMENT_KEYS) else "the end"
        raise AgiProtocolError(f"AGI environment out of Asterisk's order: {got} where {want} belongs "
                               f"(ended early or split by a caller value?)")
    for n, key in enumerate(keys[at + len(ENVIRONMENT_KEYS):], start=1):
        if key != f"agi_arg_{n}":
            raise AgiProtocolError(f"AGI environment has {key} where agi_arg_{n} belongs "
                                   f"(split by a caller value?)")


def echo_reply_matches(line: str, token: str) -> bool:
    """Is ``line`` Asterisk's reply to ``GET FULL VARIABLE <token>``?"""
    return bool(_ECHO.fullmatch(token)) and line == f"200 result=1 ({token})"


def script_of(env: dict[str, str]) -> str:
    """The script part of agi_request (agi://host:port/<script>)."""
    if "agi_network_script" in env:
        return env["agi_network_script"]
    request = env.get("agi_request", "")
    return request.split("/", 3)[3] if request.count("/") >= 3 else ""


def arguments(env: dict[str, str]) -> list[str]:
    """agi_arg_1, agi_arg_2 ... in order (untrusted)."""
    out = []
    n = 1
    while f"agi_arg_{n}" in env:
        out.append(env[f"agi_arg_{n}"])
        n += 1
    return out


@dataclass(frozen=True)
class AgiResult:
    """A 200 reply: ``result`` as sent (digits of GET DATA keep their leading
    zeros), ``data`` in brackets, ``endpos`` of a playback."""
    result: str
    data: str | None = None
    endpos: int | None = None

    @property
    def code(self) -> int | None:
        """The result as a number (STREAM FILE's digit code, 0, -1), if it is one."""
        return int(self.result) if re.fullmatch(r"-?[0-9]{1,12}", self.result) else None

    @property
    def failed(self) -> bool:
        return self.result == "-1"

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"


def parse_result(line: str) -> AgiResult:
    """Parse one ``200 result=...`` line. 510/511/520 lines raise."""
    if line.startswith("200 "):
        m = _RESULT.fullmatch(line)
        if not m:
            raise AgiProtocolError(f"unreadable AGI reply {line[:80]!r}")
        value, data, endpos = m.groups()
        return AgiResult(value, data, int(endpos) if endpos is not None else None)
    if line.startswith("511"):
        raise AgiHangup("command not permitted on a dead channel")
    if line.startswith("510") or line.startswith("520"):
        raise AgiCommandError(f"Asterisk: {line[:120]}")
    raise AgiProtocolError(f"unexpected AGI reply {line[:80]!r}")


def is_usage_start(line: str) -> bool:
    """``520-Invalid command syntax...`` starts a block ending with ``520 End...``."""
    return line.startswith("520-")
