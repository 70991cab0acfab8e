"""What the caller controls, made safe before anything uses it.

The caller (or their carrier) controls the caller ID, its name, the digits
pressed and, through the request URI, the dialled number. None of it may
reach an AGI command as received: DTMF is kept only when it is made of
0-9 * #, a caller ID only once ``callcenter.calls.numbers`` made it E.164
(otherwise it is dropped), and a DID only when it is plain digits."""
from __future__ import annotations

import re

from callcenter.calls.numbers import InvalidNumber, normalise

DTMF_DIGITS = "0123456789*#"
_DTMF = re.compile(r"^[0-9*#]{0,32}$")
_DID = re.compile(r"^[0-9]{3,15}$")
_CALLER_ID_MAX = 32


def dtmf(value) -> str | None:
    """Digits as pressed ('', '1', '12#'...) or None when anything else came."""
    if isinstance(value, str) and _DTMF.fullmatch(value):
        return value
    return None


def dtmf_from_code(code: int) -> str | None:
    """STREAM FILE / WAIT FOR DIGIT answer with the ASCII code of the digit:
    its character when it is a DTMF digit, else None (0 means none pressed)."""
    if isinstance(code, int) and 0 < code < 128 and chr(code) in DTMF_DIGITS:
        return chr(code)
    return None


def did(value) -> str | None:
    """The dialled number as the dialplan passed it (digits only), or None."""
    if isinstance(value, str) and _DID.fullmatch(value):
        return value
    return None


def caller_id(value, region: str = "IN") -> str | None:
    """The caller's number as E.164, or None when it is absent, withheld or
    holds anything a phone number cannot."""
    if not isinstance(value, str) or not value or len(value) > _CALLER_ID_MAX:
        return None
    if value in ("unknown", "anonymous", "Anonymous"):
        return None
    try:
        return normalise(value, region)
    except InvalidNumber:
        return None


def printable(value, limit: int = 40) -> str:
    """A caller value for a log line: repr-escaped and cut, never raw."""
    return repr(str(value)[:limit])
