"""One row of a head count, checked against the stores and the users of the
database: what would happen to it (create / move / update / deactivate /
reactivate / unchanged) or what is wrong with it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import User
from callcenter.org.languages import parse_languages
from callcenter.org.models import Store
from callcenter.org.scope import Scope
from callcenter.spreadsheets.cells import CellError, parse_mobile
from callcenter.users.placement import EMPLOYEE_ID_RE

STATUS_ACTIVE = {"active", "working", "present", "joined", "new", "new joinee", "rejoined",
                 "in service", "on roll", "transferred", "transfer", "moved", "yes", "y"}
STATUS_LEFT = {"left", "resigned", "resignation", "terminated", "absconded", "inactive",
               "exit", "exited", "relieved", "separated", "retired", "deceased", "no", "n"}
STATUS_HINT = "use active, left, resigned or transferred"
# The optional phone column: how the executive takes calls (blank: as today, mobile for a new one).
PHONES = {"mobile": "mobile", "mobile phone": "mobile", "own mobile": "mobile",
          "browser": "browser", "web": "browser", "web phone": "browser", "webphone": "browser",
          "headset": "browser", "panel": "browser"}


@dataclass
class StoreRef:
    id: int
    code: str
    location_id: int | None
    active: bool


@dataclass
class PlannedRow:
    number: int
    employee_id: str = ""
    name: str = ""
    store_code: str = ""
    store_id: int | None = None
    location_id: int | None = None
    status: str = ""                 # active / left
    languages: str | None = None     # None: the file says nothing
    mobile: str | None = None        # E.164, None: blank
    set_mobile: bool = False         # the mobile is the user's new phone
    phone: str | None = None         # mobile / browser from the phone column, None: blank
    set_phone: bool = False          # the phone mode changes to ``phone``
    action: str = "unchanged"
    user_id: int | None = None
    user_name: str | None = None
    note: str = ""
    errors: list[str] = field(default_factory=list)
    duplicate: bool = False

    def as_dict(self) -> dict:
        return {"row": self.number, "employee_id": self.employee_id, "name": self.name,
                "store": self.store_code, "action": "invalid" if self.errors else self.action,
                "user": self.user_name, "mobile": self.mobile,
                "reason": "; ".join(self.errors) or self.note}


def user_name_for(employee_id: str) -> str:
    """'E12345' -> 'e12345'; '12345' -> 'e12345'; 'KA/0042' -> 'ka-0042'."""
    base = re.sub(r"[^a-z0-9]+", "-", employee_id.lower()).strip("-")
    if not base or not base[0].isalpha():
        base = "e" + base
    return base[:32] if len(base) > 1 else base + "0"


_USER_COLUMNS = (User.id, User.name, User.role, User.agent_kind, User.store_id, User.location_id,
                 User.active, User.display_name, User.languages, User.mobile, User.phone_mode,
                 User.employee_id)


class HeadcountChecker:
    """Checks rows one by one; remembers the employee ids and user names seen."""

    def __init__(self, scope: Scope, stores: dict, users: dict, names: set, region: str) -> None:
        self.scope, self.stores, self.users, self.names = scope, stores, users, names
        self.region = region
        self.seen: dict[str, int] = {}
        self.store_codes = {s.id: s.code for s in stores.values()}

    @classmethod
    async def load(cls, session: AsyncSession, scope: Scope, *, region: str) -> "HeadcountChecker":
        stores = {s.code.upper(): StoreRef(s.id, s.code, s.location_id, s.active)
                  for s in (await session.execute(select(Store))).scalars()}
        users = {row.employee_id.upper(): row for row in (await session.execute(
            select(*_USER_COLUMNS).where(User.employee_id.is_not(None)))).all()}
        names = set((await session.scalars(select(func.lower(User.name)))).all())
        return cls(scope, stores, users, names, region)

    def _unique_name(self, employee_id: str) -> str:
        base = user_name_for(employee_id)
        name, n = base, 2
        while name in self.names:
            name = f"{base[:28]}-{n}"
            n += 1
        self.names.add(name)
        return name

    def _mine(self, location_id: int | None) -> bool:
        return self.scope.sees_all or (self.scope.role == "manager" and location_id is not None
                                       and location_id == self.scope.location_id)

    def check(self, number: int, cells: dict) -> PlannedRow:
        row = PlannedRow(number)
        errors = row.errors
        row.employee_id = (cells.get("employee_id") or "").strip()
        row.name = " ".join((cells.get("name") or "").split())
        row.store_code = (cells.get("store_code") or "").strip()
        status = " ".join((cells.get("status") or "").lower().replace("_", " ").split())
        if not row.employee_id:
            errors.append("employee id is blank")
        elif not EMPLOYEE_ID_RE.fullmatch(row.employee_id):
            errors.append(f"invalid employee id {row.employee_id!r}")
        else:
            key = row.employee_id.upper()
            if key in self.seen:
                row.duplicate = True
                errors.append(f"employee id {row.employee_id} is also on row {self.seen[key]}")
            else:
                self.seen[key] = number
        if not row.name:
            errors.append("name is blank")
        elif len(row.name) > 120:
            errors.append("name is longer than 120 characters")
        store = None
        if not row.store_code:
            errors.append("store code is blank")
        elif (store := self.stores.get(row.store_code.upper())) is None:
            errors.append(f"unknown store code {row.store_code}")
        elif not self._mine(store.location_id):
            errors.append(f"store {store.code} is not in your location")
        if not status:
            errors.append("status is blank")
        elif status in STATUS_ACTIVE:
            row.status = "active"
        elif status in STATUS_LEFT:
            row.status = "left"
        else:
            errors.append(f"unknown status {cells.get('status')!r} ({STATUS_HINT})")
        if (cells.get("languages") or "").strip():
            codes, bad = parse_languages(cells["languages"])
            if bad:
                errors.append(f"not a language: {', '.join(bad)}")
            row.languages = ",".join(codes)
        try:
            row.mobile = parse_mobile(cells.get("mobile"), self.region)
        except CellError as exc:
            errors.append(f"bad mobile: {exc}")
        phone = " ".join((cells.get("phone") or "").lower().replace("_", " ").split())
        if phone and phone not in PHONES:
            errors.append(f"unknown phone {cells.get('phone')!r} (use mobile or web phone)")
        row.phone = PHONES.get(phone)
        if store is not None:
            row.store_id, row.location_id = store.id, store.location_id
        if not errors:
            self._plan(row, store)
        return row

    def _plan(self, row: PlannedRow, store: StoreRef) -> None:
        user = self.users.get(row.employee_id.upper())
        if user is None:
            if row.status == "left":
                row.note = "not in the system: nothing to do"
            elif not store.active:
                row.errors.append(f"store {store.code} is closed")
            elif row.mobile is None and row.phone != "browser":
                row.errors.append("a new executive needs a mobile number (or the web phone)")
            else:
                row.action, row.set_mobile = "create", row.phone != "browser"
                row.user_name = self._unique_name(row.employee_id)
                how = "web phone" if row.phone == "browser" else "mobile"
                row.note = f"new executive: user {row.user_name}, {how} (no login password until reset)"
            return
        row.user_id, row.user_name = user.id, user.name
        if user.role != "agent" or user.agent_kind == "center":
            what = "a call-centre agent" if user.role == "agent" else f"a {user.role}"
            row.errors.append(f"employee id {row.employee_id} is user {user.name}, {what}, "
                              "not a store executive")
            return
        if not self._mine(user.location_id):
            row.errors.append(f"employee {row.employee_id} works in another location; ask an admin")
            return
        if row.status == "left":
            row.action = "deactivate" if user.active else "unchanged"
            row.note = "left: disabled, customers re-allocated" if user.active else "already disabled"
            return
        moved = user.store_id != store.id
        if moved and not store.active:
            row.errors.append(f"store {store.code} is closed")
            return
        changed = []
        if row.name != (user.display_name or ""):
            changed.append("name")
        if row.languages is not None and row.languages != (user.languages or ""):
            changed.append("languages")
        if row.phone is not None and row.phone != user.phone_mode:
            if row.phone == "mobile" and row.mobile is None and not user.mobile:
                row.errors.append("the mobile phone needs a mobile number")
                return
            changed.append("phone")
            row.set_phone = True
        mode = row.phone or user.phone_mode
        if row.mobile is not None and mode in (None, "mobile") and row.mobile != user.mobile:
            changed.append("mobile")
            row.set_mobile = True
        old = self.store_codes.get(user.store_id, "no store")
        notes = [f"moves from {old} to {store.code}"] if moved else []
        notes += [f"updated: {', '.join(changed)}"] if changed else []
        if not user.active:
            row.action = "reactivate"
            notes.insert(0, "enabled again")
        elif moved:
            row.action = "move"
        elif changed:
            row.action = "update"
        row.note = "; ".join(notes) or "unchanged"
