"""Phone numbers as customers and agents write them, made E.164.

Only digits, spaces, dashes, dots, brackets and one leading '+' are accepted;
anything else (letters, CR/LF, '&', ',', '/', '*', '#', ';' ...) is refused
before parsing, so no dial-string character can ever reach AMI or a dialplan.
"""
from __future__ import annotations

import re

import phonenumbers

_ALLOWED = re.compile(r"^\+?[0-9 ().\-]{4,30}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class InvalidNumber(ValueError):
    error_id = "invalid_number"


def normalise(raw: str, region: str = "IN") -> str:
    """'+91 98765-43210', '098765 43210', '0091 9876543210' -> '+919876543210'."""
    if not isinstance(raw, str):
        raise InvalidNumber("the number must be a string")
    text = raw.strip(" ")  # CR, LF and tabs are refused below, never stripped
    if not _ALLOWED.fullmatch(text):
        raise InvalidNumber(
            "a phone number may hold only digits, spaces, dashes, brackets and a leading +")
    if text.startswith("00"):
        text = "+" + text[2:].lstrip()
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("not a valid phone number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not _E164.fullmatch(e164):  # belt and braces: nothing but + and digits leaves here
        raise InvalidNumber("not a valid phone number")
    return e164


def dial_digits(e164: str) -> str:
    """What the trunk is dialled with: the E.164 number without '+'."""
    if not _E164.fullmatch(e164):
        raise InvalidNumber("not an E.164 number")
    return e164[1:]
