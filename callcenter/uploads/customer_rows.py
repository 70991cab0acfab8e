"""One row of a customer upload checked on its own: the cells made values,
or the reasons it cannot be used ("birthday: cannot read 'soon' as a date").

The mobile is required; the name may be empty; a store code must be one of
the organisation's (and of the campaign's location when it has one); a
language is a code or its English name ("hi", "Hindi"); birthday and
anniversary take the mixed formats of ``cells.parse_date`` and must not be in
the future. Columns the upload kind does not name go to ``Customer.data``."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from callcenter.org.languages import language_code
from callcenter.spreadsheets.cells import CellError, parse_date, parse_mobile
from callcenter.spreadsheets.layouts import CUSTOMERS

KNOWN = frozenset(CUSTOMERS.aliases)
MAX_DATA_TEXT = 500
MAX_DATA_KEYS = 60
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class StoreRef:
    id: int
    location_id: int | None
    language: str
    active: bool = True


@dataclass
class CustomerRow:
    """The values of one good row, as staged for the commit (see ``as_list``)."""
    row: int
    mobile: str
    name: str | None = None
    store_id: int | None = None
    language: str | None = None
    city: str | None = None
    email: str | None = None
    alternate_mobile: str | None = None
    birthday: dt.date | None = None
    anniversary: dt.date | None = None
    data: dict | None = None
    store_language: str | None = None   # the store's, for a new customer without a language

    def as_list(self) -> list:
        return [self.row, self.mobile, self.name, self.store_id, self.language, self.city, self.email,
                self.alternate_mobile, self.birthday.isoformat() if self.birthday else None,
                self.anniversary.isoformat() if self.anniversary else None, self.data or {},
                self.store_language]

    @classmethod
    def from_list(cls, values: list) -> "CustomerRow":
        row = cls(*values)
        row.birthday = dt.date.fromisoformat(row.birthday) if row.birthday else None
        row.anniversary = dt.date.fromisoformat(row.anniversary) if row.anniversary else None
        return row


class RowChecker:
    def __init__(self, stores: dict[str, StoreRef], *, location_id: int | None, region: str,
                 today: dt.date) -> None:
        self.stores = {code.strip().upper(): ref for code, ref in stores.items()}
        self.location_id, self.region, self.today = location_id, region, today

    def check(self, number: int, cells: dict[str, str]) -> tuple[CustomerRow | None, list[str], str | None]:
        """(values or None, reasons, the mobile as E.164 when it could be read)."""
        reasons: list[str] = []
        mobile = None
        try:
            mobile = parse_mobile(cells.get("mobile", ""), self.region)
            if mobile is None:
                reasons.append("mobile is empty")
        except CellError as exc:
            reasons.append(f"mobile: {exc}")
        row = CustomerRow(number, mobile or "")
        name = " ".join(cells.get("name", "").split())
        if len(name) > 120:
            reasons.append("name: longer than 120 characters")
        row.name = name or None
        self._store(cells.get("store_code", ""), row, reasons)
        language = cells.get("language", "").strip()
        if language:
            row.language = language_code(language)
            if row.language is None:
                reasons.append(f"language: {language!r} is not a language")
        for field in ("birthday", "anniversary"):
            try:
                value = parse_date(cells.get(field, ""), today=self.today)
            except CellError as exc:
                reasons.append(f"{field}: {exc}")
                continue
            if value is not None and value > self.today:
                reasons.append(f"{field}: {value.isoformat()} is in the future")
            setattr(row, field, value)
        city = " ".join(cells.get("city", "").split())
        if len(city) > 60:
            reasons.append("city: longer than 60 characters")
        row.city = city or None
        email = cells.get("email", "").strip()
        if email and (len(email) > 120 or not _EMAIL.match(email)):
            reasons.append(f"email: {email[:60]!r} is not an e-mail address")
        row.email = email or None
        try:
            row.alternate_mobile = parse_mobile(cells.get("alternate_mobile", ""), self.region,
                                                mobile_only=False)
        except CellError as exc:
            reasons.append(f"alternate_mobile: {exc}")
        data = {key: value[:MAX_DATA_TEXT] for key, value in cells.items()
                if key not in KNOWN and value}
        if len(data) > MAX_DATA_KEYS:
            reasons.append(f"more than {MAX_DATA_KEYS} extra columns")
        row.data = data
        return (None if reasons else row), reasons, mobile

    def _store(self, code: str, row: CustomerRow, reasons: list[str]) -> None:
        code = code.strip()
        if not code:
            return
        ref = self.stores.get(code.upper())
        if ref is None:
            reasons.append(f"store_code: no store with the code {code!r}")
        elif not ref.active:
            reasons.append(f"store_code: the store {code!r} is closed")
        elif self.location_id is not None and ref.location_id != self.location_id:
            reasons.append(f"store_code: the store {code!r} is not in this campaign's location")
        else:
            row.store_id, row.store_language = ref.id, ref.language
