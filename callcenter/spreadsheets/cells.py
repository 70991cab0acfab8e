"""Cells of an upload as the client writes them, made values: dates in mixed
formats and mobile numbers in every local habit.

Dates (``parse_date``), Indian day-first by default:
- ``05/03/1990``, ``5-3-90``, ``05.03.1990`` -> 5 March 1990.  A numeric date
  that reads both ways is decided DAY-FIRST (05/03 is 5 March, never May 3);
  only when the first number cannot be a month's day but the second can
  (``03/25/1990``) is it read month-first.
- ``1990-03-05``, ``1990/03/05``, ``19900305`` (year first) -> 5 March 1990.
- ``5 Mar 1990``, ``5-Mar-90``, ``5th March, 1990``, ``March 5 1990``,
  ``Mar 5, 1990``.
- A time after the date is ignored (``1990-03-05 00:00:00``, ``...T10:30``).
- An Excel serial day number of five digits (``32937`` -> 5 March 1990,
  10000..99999 = 1927..2173); XLSX date cells already arrive as dates.
- Two-digit years: up to this year's two digits -> 20xx, above -> 19xx.
- Refused with a reason: no year (``05-Mar``), impossible dates (31/02/1990),
  years before 1900 or after 2100, anything else.

Mobiles (``parse_mobile``) go through ``callcenter.calls.numbers.normalise``
(+91, 0-prefix, 0091, spaces, dashes, brackets), also ``91`` + ten digits
without '+', and refuse letters, Excel's scientific notation (9.87654E+09) and,
by default, numbers phonenumbers knows are not mobiles (landlines, toll-free).
"""
from __future__ import annotations

import datetime as dt
import re

import phonenumbers

from callcenter.calls.numbers import InvalidNumber, normalise

EXCEL_EPOCH = dt.date(1899, 12, 30)   # Excel's day 0 (after its 1900 leap-year bug)
MIN_YEAR, MAX_YEAR = 1900, 2100

_FULL_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[ap]\.?m\.?)?(Z|[+-]\d{2}:?\d{2})?$", re.I)
_NUMERIC = re.compile(r"^(\d{1,4})([/.\- ])(\d{1,2})\2(\d{1,4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
_WORD_MONTH = r"([a-z]{3,9})\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DAY_MONTH_YEAR = re.compile(rf"^{_DAY}[\s\-/.,]*{_WORD_MONTH}[\s\-/.,']*(\d{{2}}|\d{{4}})$", re.I)
_MONTH_DAY_YEAR = re.compile(rf"^{_WORD_MONTH}[\s\-/.]*{_DAY}[\s,\-/.']*(\d{{2}}|\d{{4}})$", re.I)
_NO_YEAR = re.compile(rf"^({_DAY}[\s\-/.]*{_WORD_MONTH}|{_WORD_MONTH}[\s\-/.]*{_DAY}|\d{{1,2}}[/.\-]\d{{1,2}})$", re.I)
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+?\d+$", re.I)
_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


class CellError(ValueError):
    """A cell that cannot become a value; ``str(error)`` is the reason shown to the user."""


def _year(text: str, today: dt.date) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= today.year % 100 else 1900
    elif len(text) != 4:
        raise CellError(f"the year {text!r} is not a year")
    return year


def _month(word: str) -> int:
    """'Mar', 'March', 'Sept' -> 3, 3, 9 (any prefix of at least three letters)."""
    word = word.lower()
    for number, full in enumerate(_FULL_MONTHS, 1):
        if full.startswith(word):
            return number
    raise CellError(f"{word!r} is not a month")


def _make(year: int, month: int, day: int, text: str) -> dt.date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CellError(f"the year in {text!r} is outside {MIN_YEAR}-{MAX_YEAR}")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(f"{text!r} is not a date that exists") from None


def parse_date(value, *, today: dt.date | None = None) -> dt.date | None:
    """A date from a cell (see the module docstring); None for a blank cell;
    CellError with the reason otherwise."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = repr(value)
    text = " ".join(str(value).split())
    if not text:
        return None
    today = today or dt.date.today()
    text = _TIME_TAIL.sub("", text).strip()
    if _SERIAL.match(text):
        return EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    if m := _COMPACT.match(text):
        return _make(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _NUMERIC.match(text):
        first, third = m[1], m[4]
        if len(first) == 4:                       # 1990-03-05: year, month, day
            return _make(int(first), int(m[3]), int(third), text)
        if len(third) not in (2, 4):
            raise CellError(f"cannot read {text!r} as a date (day/month/year)")
        year, a, b = _year(third, today), int(first), int(m[3])
        if a > 12 or b <= 12:                     # day first, also when both could be a month
            return _make(year, b, a, text)
        return _make(year, a, b, text)            # 03/25/1990: only month-first can be right
    if m := _DAY_MONTH_YEAR.match(text):
        return _make(_year(m[3], today), _month(m[2]), int(m[1]), text)
    if m := _MONTH_DAY_YEAR.match(text):
        return _make(_year(m[3], today), _month(m[1]), int(m[2]), text)
    if _NO_YEAR.match(text):
        raise CellError(f"the date {text!r} has no year")
    raise CellError(f"cannot read {text!r} as a date (write it as DD/MM/YYYY)")


def parse_mobile(value, region: str = "IN", *, mobile_only: bool = True) -> str | None:
    """A mobile number as E.164 ('+919876543210'); None for a blank cell;
    CellError with the reason otherwise."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    if _SCIENTIFIC.match(text):
        raise CellError(f"{text!r} was turned into a rounded number by Excel "
                        "(format the column as text and export again)")
    text = re.sub(r"^(\d+)\.0+$", r"\1", text)   # 9876543210.0: a number cell exported as text
    if re.search(r"[a-z]", text, re.I):
        raise CellError(f"{text!r} holds letters: not a phone number")
    text = re.sub(r"^\(\s*\+", "+(", text)          # (+91) 98765 43210
    digits = re.sub(r"[ ()\-.]", "", text)
    if region == "IN" and re.fullmatch(r"91[6-9]\d{9}", digits):
        text = "+" + digits                      # 91 and ten digits, the '+' left out
    try:
        number = normalise(text, region)
    except InvalidNumber as exc:
        raise CellError(f"{text!r}: {exc}") from None
    if mobile_only:
        parsed = (phonenumbers.PhoneNumber(country_code=91, national_number=int(number[3:]))
                  if number.startswith("+91") else phonenumbers.parse(number))
        kind = phonenumbers.number_type(parsed)
        if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
            raise CellError(f"{text!r} is a landline number, not a mobile")
        if kind not in _MOBILE_TYPES:
            raise CellError(f"{text!r} is not a mobile number")
    return number
