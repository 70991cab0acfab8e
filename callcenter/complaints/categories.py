"""Complaint categories (admins manage them): a code, a name and the SLA in
hours a complaint has at each level before it escalates. A category is
retired (``active`` false) rather than deleted: complaints keep pointing at it."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.complaints.exceptions import CategoryNotFound, DuplicateCategory, InvalidCategory
from callcenter.complaints.models import ComplaintCategory

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
SLA_MIN, SLA_MAX = 0.25, 24 * 365


def category_json(row: ComplaintCategory) -> dict:
    return {"id": row.id, "code": row.code, "name": row.name, "sla_hours": row.sla_hours,
            "active": row.active}


def _name(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 80:
        raise InvalidCategory("name: 1-80 characters", field="name")
    if any(ord(c) < 32 for c in value):
        raise InvalidCategory("name: no control characters", field="name")
    return value.strip()


def _sla(value) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidCategory("sla_hours must be a number of hours", field="sla_hours") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not SLA_MIN <= value <= SLA_MAX:
        raise InvalidCategory(f"sla_hours must be between {SLA_MIN} and {SLA_MAX}", field="sla_hours")
    return float(value)


def _active(value) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidCategory("active must be true or false", field="active")


async def list_categories(session: AsyncSession, *, include_retired: bool = False) -> list[ComplaintCategory]:
    query = select(ComplaintCategory).order_by(ComplaintCategory.name)
    if not include_retired:
        query = query.where(ComplaintCategory.active.is_(True))
    return list((await session.scalars(query)).all())


async def create_category(session: AsyncSession, actor: str, code, name, sla_hours) -> ComplaintCategory:
    if not isinstance(code, str) or not CODE.fullmatch(code.strip().lower()):
        raise InvalidCategory("code: 1-30 lower-case letters, digits, '-' or '_'", field="code")
    code = code.strip().lower()
    row = ComplaintCategory(code=code, name=_name(name), sla_hours=_sla(sla_hours), active=True)
    if await session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == code)):
        raise DuplicateCategory(f"a category with code {code!r} exists", field="code")
    session.add(row)
    await session.flush()
    audit.record(session, actor, "complaint_category.create", "complaint_category", row.id,
                 code=code, name=row.name, sla_hours=row.sla_hours)
    return row


async def update_category(session: AsyncSession, actor: str, category_id: int,
                          changes: dict) -> ComplaintCategory:
    row = await session.get(ComplaintCategory, category_id)
    if row is None:
        raise CategoryNotFound("no such category")
    unknown = set(changes) - {"name", "sla_hours", "active"}
    if unknown:
        raise InvalidCategory(f"unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    before = category_json(row)
    if "name" in changes:
        row.name = _name(changes["name"])
    if "sla_hours" in changes:
        row.sla_hours = _sla(changes["sla_hours"])
    if "active" in changes:
        row.active = _active(changes["active"])
    after = category_json(row)
    audit.record(session, actor, "complaint_category.update", "complaint_category", row.id,
                 **{k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return row
