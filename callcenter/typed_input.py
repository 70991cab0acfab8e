"""What a value a person typed means, for the API, the pages and the
services alike: whole numbers in ASCII digits only (no sign, no ``_``, no
``²`` or other scripts' digits, which ``str.isdigit`` and ``int`` accept), at
most ``MAX_ID_DIGITS`` long so they always fit the database; ISO dates in a
sane range; today's date where the users are. No I/O, no web."""
from __future__ import annotations

import datetime as dt
import zoneinfo

MAX_ID_DIGITS = 12
MAX_WHOLE = 10 ** MAX_ID_DIGITS - 1
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(2999, 12, 31)


def ascii_whole(raw, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """``raw`` (a str, blanks around it ignored) as a whole number when it is
    1 to ``max_digits`` ASCII digits; None for anything else."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def whole_number(value, max_digits: int = 11) -> int | None:
    """A form field or query value as a whole number, or None when it is blank,
    not ASCII digits, or longer than ``max_digits`` (pages ignore such input)."""
    return ascii_whole(str(value) if value is not None else None, max_digits)


def iso_date(raw) -> dt.date | None:
    """``YYYY-MM-DD`` (ASCII digits, FIRST_DAY to LAST_DAY) as a date, else None."""
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or ascii_whole(text[:4] + text[5:7] + text[8:]) is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def local_today(settings) -> dt.date:
    """Today's date in the configured time zone (``settings.web.timezone``)."""
    return dt.datetime.now(zoneinfo.ZoneInfo(settings.web.timezone)).date()
