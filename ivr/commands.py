"""The only way to make an AGI command: one builder per command, each
argument checked against a strict allow-list. A value that fails raises
``UnsafeArgument``; nothing is escaped or cleaned up, so a caller's value
never turns into something else on the wire.

Allowed: prompt files ``[a-z0-9/_-]`` (an absolute path under the instance
or a core sound name), DTMF escape sets ``[0-9*#]``, whole numbers in a
range, queue names ``[a-z0-9_-]``, languages ``[a-z]{2}``, channel variable
names ``CC_[A-Z0-9_]`` with values ``[A-Za-z0-9_.+-]``, interfaces to ring
(``PJSIP/<endpoint>`` or a mobile agent's ``Local/...@cc-queue-mobile/n``),
subroutine contexts ``cc-[a-z0-9-]``."""
from __future__ import annotations

import re
from dataclasses import dataclass

_PROMPT = re.compile(r"^/?[a-z0-9_-]+(?:/[a-z0-9_-]+){0,8}$")
_ESCAPE = re.compile(r"^[0-9*#]{0,12}$")
_QUEUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_VARIABLE = re.compile(r"^CC_[A-Z0-9_]{1,30}$")
_VALUE = re.compile(r"^[A-Za-z0-9_.+-]{0,64}$")
_READ_VARIABLES = frozenset({"QUEUESTATUS", "DIALSTATUS", "CHANNEL(language)"})
# What the IVR may ring directly: a desktop phone, or a mobile agent's Local
# channel into cc-queue-mobile (callcenter.queues.conf builds both).
_INTERFACE = re.compile(r"^(?:PJSIP/[a-z0-9][a-z0-9_-]{0,39}"
                        r"|Local/[0-9]{6,15}[.][a-z0-9][a-z0-9_-]{0,39}[.][0-9]{1,15}@cc-queue-mobile/n)$")
_CONTEXT = re.compile(r"^cc-[a-z0-9][a-z0-9-]{0,30}$")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class UnsafeArgument(ValueError):
    """An argument is outside its allow-list: the command is not built."""


@dataclass(frozen=True)
class AgiCommand:
    """A built command line (without the newline) and how long Asterisk may
    legitimately take over it before replying (prompt, digits, queue wait)."""
    line: str
    waits: float = 0.0
    # STREAM FILE and friends answer result=-1 when the file is missing as
    # well as on hangup; the session tells them apart by the HANGUP notice.
    name: str = ""


def _check(regex: re.Pattern, value, what: str) -> str:
    if not isinstance(value, str) or not regex.fullmatch(value):
        raise UnsafeArgument(f"{what} {str(value)[:40]!r} is not allowed")
    if ".." in value:
        raise UnsafeArgument(f"{what} may not hold '..'")
    return value


def _number(value, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UnsafeArgument(f"{what} {value!r} is not a whole number in {low}..{high}")
    return value


def prompt_file(value) -> str:
    return _check(_PROMPT, value, "prompt")


def answer() -> AgiCommand:
    return AgiCommand("ANSWER", name="answer")


def hangup() -> AgiCommand:
    return AgiCommand("HANGUP", name="hangup")


def stream_file(prompt: str, escape_digits: str = "") -> AgiCommand:
    """Play a prompt; a digit of ``escape_digits`` stops it (result = its code)."""
    prompt_file(prompt)
    _check(_ESCAPE, escape_digits, "escape digits")
    return AgiCommand(f'STREAM FILE {prompt} "{escape_digits}"', waits=120.0, name="stream_file")


def wait_for_digit(timeout_ms: int) -> AgiCommand:
    _number(timeout_ms, 1, 600_000, "digit timeout")
    return AgiCommand(f"WAIT FOR DIGIT {timeout_ms}", waits=timeout_ms / 1000, name="wait_for_digit")


def get_data(prompt: str, timeout_ms: int, max_digits: int) -> AgiCommand:
    """Play a prompt and collect up to ``max_digits`` digits ('#' ends early)."""
    prompt_file(prompt)
    _number(timeout_ms, 1, 600_000, "digit timeout")
    _number(max_digits, 1, 32, "maximum digits")
    return AgiCommand(f"GET DATA {prompt} {timeout_ms} {max_digits}",
                      waits=120.0 + max_digits * timeout_ms / 1000, name="get_data")


def set_language(language: str) -> AgiCommand:
    _check(_LANGUAGE, language, "language")
    return AgiCommand(f"SET VARIABLE CHANNEL(language) {language}", name="set_variable")


def set_variable(name: str, value: str) -> AgiCommand:
    _check(_VARIABLE, name, "variable name")
    _check(_VALUE, value, "variable value")
    return AgiCommand(f'SET VARIABLE {name} "{value}"', name="set_variable")


def get_variable(name: str) -> AgiCommand:
    if name not in _READ_VARIABLES:
        raise UnsafeArgument(f"variable {name[:40]!r} may not be read")
    return AgiCommand(f"GET VARIABLE {name}", name="get_variable")


def queue(name: str, max_wait: int, continue_after: bool = False) -> AgiCommand:
    """Asterisk's Queue() for a named queue, leaving after ``max_wait`` s;
    ``continue_after``: option c, the caller goes on in the IVR when the agent
    hangs up, and option I: no connected-line update (a re-INVITE naming the
    agent) is sent to the caller's carrier."""
    _check(_QUEUE, name, "queue")
    _number(max_wait, 1, 7200, "queue wait")
    options = "cI" if continue_after else ""
    return AgiCommand(f"EXEC Queue {name},{options},,,{max_wait}", waits=float(max_wait) + 4 * 3600.0,
                      name="queue")  # + the talk


def dial(interface: str, ring_seconds: int) -> AgiCommand:
    """Ring one agent's phone for ``ring_seconds`` and bridge the caller when
    they answer (the caller goes on in the IVR when the agent hangs up; no
    connected-line update to the caller's carrier, option I)."""
    _check(_INTERFACE, interface, "interface")
    _number(ring_seconds, 1, 120, "ring time")
    return AgiCommand(f"EXEC Dial {interface},{ring_seconds},I", waits=float(ring_seconds) + 4 * 3600.0,
                      name="dial")


def gosub(context: str) -> AgiCommand:
    """Run a dialplan subroutine (``context``,s,1) of ours and come back."""
    _check(_CONTEXT, context, "context")
    return AgiCommand(f"GOSUB {context} s 1", waits=10.0, name="gosub")


def stop_mixmonitor() -> AgiCommand:
    return AgiCommand("EXEC StopMixMonitor", name="stop_mixmonitor")


def echo(token: str) -> AgiCommand:
    """Asterisk answers ``200 result=1 (<token>)``: a random hex token the
    caller cannot guess, so the reply proves the environment had ended."""
    _check(_TOKEN, token, "echo token")
    return AgiCommand(f"GET FULL VARIABLE {token}", name="echo")


def verbose(message: str) -> AgiCommand:
    _check(_VALUE, message, "message")
    return AgiCommand(f'VERBOSE "{message}" 3', name="verbose")
