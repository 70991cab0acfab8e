"""The DND (do not disturb) list: numbers that are never called.

A DND number is left out of customer uploads (callcenter/uploads/validate.py)
and refused again at dial time: ``is_dnd`` is asked before EVERY call (a
primary-key lookup). Managers and admins add numbers (by hand or by importing
a file: callcenter/customers/dnd_import.py); only admins remove them. Every
change is audited."""
from __future__ import annotations

import logging
import re
from typing import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.calls.numbers import InvalidNumber, normalise
from callcenter.customers.exceptions import DndInvalid, DndNotFound
from callcenter.customers.models import DndNumber
from callcenter.models import utcnow
from callcenter.spreadsheets.cells import CellError, parse_mobile

log = logging.getLogger(__name__)
CHUNK = 500
SOURCES = ("manual", "import", "registry", "erasure")  # erasure: callcenter/customers/erasure.py
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


async def is_dnd(session: AsyncSession, number: str, region: str = "IN") -> bool:
    """Is ``number`` (E.164, or as people write it) on the DND list? A number
    that cannot be read is not on it (the dialer refuses it anyway)."""
    if not isinstance(number, str):
        return False
    if not _E164.fullmatch(number):
        try:
            number = normalise(number, region)
        except InvalidNumber:
            return False
    return await session.scalar(select(DndNumber.number).where(DndNumber.number == number)) is not None


async def listed(session: AsyncSession, numbers: Iterable[str]) -> set[str]:
    """Which of these E.164 numbers are on the list."""
    numbers = list(numbers)
    found: set[str] = set()
    for start in range(0, len(numbers), CHUNK):
        found.update((await session.scalars(select(DndNumber.number).where(
            DndNumber.number.in_(numbers[start:start + CHUNK])))).all())
    return found


async def add_numbers(session: AsyncSession, numbers: Iterable[str], source: str, actor: str, *,
                      audited: bool = True) -> int:
    """Add E.164 numbers (those listed already are left as they are); returns
    how many were added. Flushes; the caller commits."""
    if source not in SOURCES:
        raise DndInvalid(f"source must be one of {', '.join(SOURCES)}", field="source")
    numbers = list(dict.fromkeys(numbers))
    bad = [n for n in numbers if not isinstance(n, str) or not _E164.fullmatch(n)]
    if bad:
        raise DndInvalid(f"not E.164 numbers: {', '.join(map(str, bad[:5]))}", field="numbers")
    now, added = utcnow(), []
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start:start + CHUNK]
        have = await listed(session, chunk)
        rows = [{"number": n, "source": source, "added_by": actor[:60], "added_at": now}
                for n in chunk if n not in have]
        if rows:
            await session.execute(insert(DndNumber.__table__), rows)
            added.extend(row["number"] for row in rows)
    if audited:  # one row per number, on the number (an upload's numbers: one upload.commit row)
        audit.record_many(session, actor, (("dnd.add", "dnd", n, {"source": source}) for n in added))
    return len(added)


async def add_number(session: AsyncSession, raw: str, *, actor: str, region: str = "IN") -> tuple[str, bool]:
    """One number as typed ('098765 43210'): (its E.164, whether it was added now)."""
    try:
        number = parse_mobile(raw, region, mobile_only=False)
    except CellError as exc:
        raise DndInvalid(str(exc), field="number") from None
    if number is None:
        raise DndInvalid("the number is empty", field="number")
    added = await add_numbers(session, [number], "manual", actor)
    return number, bool(added)


async def remove_number(session: AsyncSession, number: str, *, actor: str, region: str = "IN") -> str:
    """Take a number off the list (admins only: the caller checks the role)."""
    try:
        e164 = number if _E164.fullmatch(number or "") else parse_mobile(number, region, mobile_only=False)
    except CellError:
        e164 = None
    if not e164:
        raise DndNotFound("no such number on the DND list")
    done = await session.execute(delete(DndNumber).where(DndNumber.number == e164))
    if done.rowcount == 0:
        raise DndNotFound("no such number on the DND list")
    audit.record(session, actor, "dnd.remove", "dnd", e164)
    return e164


async def list_numbers(session: AsyncSession, *, search: str | None = None, limit: int = 50,
                       offset: int = 0) -> tuple[list[DndNumber], int]:
    """Newest first; ``search`` matches any part of the digits ('98765')."""
    query = select(DndNumber)
    if search:
        digits = re.sub(r"\D", "", search)
        if not digits:
            raise DndInvalid("search by digits of the number", field="q")
        query = query.where(DndNumber.number.contains(digits[-13:]))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (await session.scalars(query.order_by(DndNumber.added_at.desc(), DndNumber.number)
                                  .limit(limit).offset(offset))).all()
    return list(rows), total


def dnd_json(row: DndNumber) -> dict:
    added = row.added_at
    return {"number": row.number, "source": row.source, "added_by": row.added_by,
            "added_at": added.isoformat() if added else None}
