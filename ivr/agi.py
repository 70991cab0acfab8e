"""The AGI wire protocol, without I/O: the environment Asterisk sends first
(``agi_*: value`` lines ending with a blank line) and the replies to commands
(``200 result=... (data) endpos=...``, ``510``, ``511``, ``520`` usage blocks,
and the ``HANGUP`` notice of FastAGI).

Everything received is untrusted bytes: lines are decoded leniently, length
and count limits are the caller's (``fastagi``), and an environment that is
truncated, repeats a key or misses what Asterisk always sends is refused,
since a caller ID holding line breaks could otherwise forge fields."""
from __future__ import annotations

import re
from dataclasses import dataclass

# Sent by every Asterisk (res_agi setup_env) before the script's arguments;
# agi_threadid is the last of them, so a block without it ended early.
REQUIRED_KEYS = ("agi_request", "agi_channel", "agi_uniqueid", "agi_callerid", "agi_threadid")
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
    missing = [k for k in REQUIRED_KEYS if k not in env]
    if missing:
        raise AgiProtocolError(f"AGI environment lacks {', '.join(missing)}")
    return env


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
