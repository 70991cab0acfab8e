"""How long an SMS is as the network counts it: its encoding and segments.

An SMS is GSM-7 when every character is in the GSM 03.38 default alphabet
(the basic set, one septet each, or its extension table, two septets each:
an escape and the character); else it is UCS-2 (UTF-16: one unit a
character, two for one outside the Basic Multilingual Plane, such as an
emoji). Devanagari is not in GSM 03.38, so a Hindi SMS is always UCS-2.

One segment holds 160 septets or 70 UCS-2 units; a longer message is sent
as concatenated segments of 153 septets or 67 units each (the rest is the
concatenation header), and a two-septet or two-unit character is never
split across two segments, so a segment may carry one unit less."""
from __future__ import annotations

from dataclasses import dataclass

GSM7, UCS2 = "GSM-7", "UCS-2"

# GSM 03.38 basic character set, in code order (0x00-0x7F); 0x1B is the
# escape to the extension table, not a character of its own.
_BASIC = ("@£$¥èéùìòÇ\nØø\rÅå"
          "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
          " !\"#¤%&'()*+,-./"
          "0123456789:;<=>?"
          "¡ABCDEFGHIJKLMNO"
          "PQRSTUVWXYZÄÖÑÜ§"
          "¿abcdefghijklmno"
          "pqrstuvwxyzäöñüà")
GSM_BASIC = frozenset(_BASIC) - {"\x1b"}
# The extension table (after the escape): form feed ^ { } \ [ ~ ] | €
GSM_EXTENSION = frozenset("\x0c^{}\\[~]|€")

SINGLE = {GSM7: 160, UCS2: 70}
CONCATENATED = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class SmsSize:
    encoding: str                   # GSM7 or UCS2
    characters: int                 # as a reader counts them
    units: int                      # septets (GSM-7) or 16-bit units (UCS-2)
    segments: int                   # SMS billed
    per_segment: int                # 160/70 for one segment, 153/67 when concatenated
    not_gsm: tuple[str, ...] = ()   # the characters that made it UCS-2, in order, once each


def _unit_lengths(text: str, not_gsm) -> tuple[str, list[int]]:
    if not not_gsm:
        return GSM7, [2 if c in GSM_EXTENSION else 1 for c in text]
    return UCS2, [2 if ord(c) > 0xFFFF else 1 for c in text]


def _segments(lengths: list[int], size: int) -> int:
    """Segments of at most ``size`` units, no character split between two."""
    count, used = 1, 0
    for length in lengths:
        if used + length > size:
            count, used = count + 1, 0
        used += length
    return count


def sms_size(text: str) -> SmsSize:
    """The encoding and segments of the SMS ``text`` (an empty one is one segment)."""
    not_gsm = tuple(dict.fromkeys(c for c in text if c not in GSM_BASIC and c not in GSM_EXTENSION))
    encoding, lengths = _unit_lengths(text, not_gsm)
    units = sum(lengths)
    if units <= SINGLE[encoding]:
        return SmsSize(encoding, len(text), units, 1, SINGLE[encoding], not_gsm)
    per = CONCATENATED[encoding]
    return SmsSize(encoding, len(text), units, _segments(lengths, per), per, not_gsm)
