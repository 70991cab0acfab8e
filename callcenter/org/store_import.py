"""Import the store list (207 stores) from rows: every row is checked first,
then all of them are written, or none when any row is wrong.

A row whose code is already a store updates that store (so re-importing the
same list changes nothing); a store moved to another location takes its
executives along (refused when one of them sits in a team of the old location)."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.errors import DomainError
from callcenter.models import User
from callcenter.org.exceptions import ImportRejected, UnknownLocation
from callcenter.org.models import Location, Store, Team
from callcenter.org.scope import Scope
from callcenter.org.service import _move_store, require_admin, resolve_location, store_fields
from callcenter.spreadsheets.layouts import Layout
from callcenter.spreadsheets.spreadsheet import open_spreadsheet

log = logging.getLogger(__name__)

# The columns of a store list and the headers people write for them.
STORES = Layout("stores", {
    "code": ("store_code", "store", "storecode", "store_id", "store_no", "branch_code",
             "showroom_code"),
    "name": ("store_name", "branch_name", "showroom_name", "showroom"),
    "city": ("town",),
    "region": ("zone",),
    "language": ("lang", "store_language"),
    "location": ("location_code", "call_centre", "call_center", "centre", "center"),
}, required=("code", "name", "location"))
REQUIRED = ("code", "name", "location")


@dataclass
class StoreImport:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)   # {"row": n, "error": id, "message": text}
    committed: bool = False

    def as_dict(self) -> dict:
        return {"total": self.total, "valid": self.total - len({e["row"] for e in self.errors}),
                "invalid": len({e["row"] for e in self.errors}), "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "errors": self.errors,
                "committed": self.committed}


async def _check_move(session: AsyncSession, store: Store, location: Location) -> None:
    clash = await session.scalar(
        select(func.count()).select_from(User).join(Team, Team.id == User.team_id)
        .where(User.store_id == store.id, Team.location_id != location.id))
    if clash:
        raise DomainError(f"{clash} executive(s) of store {store.code} are in a team of "
                          "another location")


async def import_stores(session: AsyncSession, scope: Scope, rows: Iterable[tuple[int, dict]], *,
                        actor: str, dry_run: bool = False) -> StoreImport:
    """``rows``: (row number, {field: value}) with the fields of STORE_ALIASES.
    Raises ImportRejected (nothing written) when a row is wrong; with
    ``dry_run`` only checks. Returns the counts."""
    require_admin(scope)
    result = StoreImport()
    plan = await _plan(session, rows, result)
    if result.errors:
        raise ImportRejected(f"{len({e['row'] for e in result.errors})} of {result.total} rows are "
                             "invalid; nothing was imported", **result.as_dict())
    _count(plan, result)
    if dry_run:
        return result
    written = await _write(session, plan)
    result.committed = True
    audit.record_many(session, actor, (("store.import", "store", store.id, details)  # one row per store
                                       for store, details in written))
    return result


async def _plan(session: AsyncSession, rows: Iterable[tuple[int, dict]],
                result: StoreImport) -> list[tuple[Store | None, dict, Location]]:
    """Check every row: (the store it updates or None, its fields, its location)
    per valid row; each problem is added to ``result.errors``."""
    locations: dict[str, Location] = {}
    seen: dict[str, int] = {}
    plan: list[tuple[Store | None, dict, Location]] = []
    existing = {s.code.lower(): s for s in (await session.execute(select(Store))).scalars()}

    def error(row: int, exc: DomainError | str, error_id: str = "invalid_row") -> None:
        result.errors.append({"row": row, "error": getattr(exc, "error_id", error_id),
                              "message": getattr(exc, "message", str(exc))})

    for row_number, data in rows:
        result.total += 1
        try:
            fields = store_fields(data)
            ref = str(data.get("location") or "").strip()
            if not ref:
                raise UnknownLocation("location is required", field="location")
            if ref.lower() not in locations:
                locations[ref.lower()] = await resolve_location(session, ref)
            location = locations[ref.lower()]
        except DomainError as exc:
            error(row_number, exc)
            continue
        key = fields["code"].lower()
        if key in seen:
            error(row_number, f"store code {fields['code']} is also on row {seen[key]}", "duplicate_in_file")
            continue
        seen[key] = row_number
        store = existing.get(key)
        if store is not None and store.location_id != location.id:
            try:
                await _check_move(session, store, location)
            except DomainError as exc:
                error(row_number, exc, "not_empty")
                continue
        plan.append((store, fields, location))
    return plan


def _count(plan, result: StoreImport) -> None:
    """Count the stores created, updated and unchanged."""
    for store, fields, location in plan:
        if store is None:
            result.created += 1
        elif any(getattr(store, k) != v for k, v in fields.items() if k != "code") \
                or store.location_id != location.id:
            result.updated += 1
        else:
            result.unchanged += 1


async def _write(session: AsyncSession, plan) -> list[tuple[Store, dict]]:
    """Apply the plan; (store, its audit details) for each store created or changed."""
    written = []
    for store, fields, location in plan:
        if store is None:
            store = Store(**fields, location_id=location.id)
            session.add(store)
            written.append((store, {"created": True, "location": location.code, **fields}))
            continue
        changes = {k: [getattr(store, k), v] for k, v in fields.items()
                   if k != "code" and getattr(store, k) != v}
        for key, value in fields.items():
            if key != "code":
                setattr(store, key, value)
        if store.location_id != location.id:
            changes["location"] = location.code
            await _move_store(session, store, location)
        if changes:
            written.append((store, {"code": store.code, **changes}))
    await session.flush()
    return written


def read_store_file(path: Path, *, name: str | None = None,
                    max_bytes: int | None = None) -> list[tuple[int, dict]]:
    """The rows of a CSV or XLSX store list (SpreadsheetError if it is not one)."""
    with open_spreadsheet(path, STORES, name=name, max_bytes=max_bytes) as sheet:
        return [(n, {k: v for k, v in row.items() if k in STORES.aliases}) for n, row in sheet]
