"""Report schedules: create, change, list and find them, each checked.

A manager sees and changes the schedules of people of their location, an
admin all. Recipients are roles (``teamlead``, ``manager``, ``admin``: no
higher than the owner's own role) and/or e-mail addresses; who they are and
what each receives is decided when the schedule runs (:mod:`.mailing`)."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.models import ROLE_RANK, User
from callcenter.org.scope import Scope
from callcenter.report_schedules.exceptions import InvalidSchedule, ScheduleNotFound
from callcenter.report_schedules.models import FORMATS, PERIODS, RECIPIENT_ROLES, REPORTS, ReportSchedule
from callcenter.reports.exceptions import NotFoundInScope
from callcenter.reports.selection import visible_campaign
from callcenter.schedule import parse_time

EMAIL = re.compile(r"^[^@\s<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
MAX_EMAILS = 20
FIELDS = {"name", "report", "campaign_id", "period", "formats", "roles", "emails", "send_at", "active"}


def _choice(data: dict, key: str, allowed: tuple, default: str | None = None) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise InvalidSchedule(f"{key} must be one of {', '.join(allowed)}", field=key)
    return value


def _words(value, key: str) -> list[str]:
    """A list given as a JSON list or as text separated by commas, spaces or lines."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = re.split(r"[\s,;]+", value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidSchedule(f"{key} must be a list of strings", field=key)
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def clean_emails(value) -> list[str]:
    emails = list(dict.fromkeys(e.lower() for e in _words(value, "emails")))
    bad = [e for e in emails if not EMAIL.fullmatch(e)]
    if bad:
        raise InvalidSchedule(f"not an e-mail address: {bad[0][:60]}", field="emails")
    if len(emails) > MAX_EMAILS or len(",".join(emails)) > 1000:
        raise InvalidSchedule(f"at most {MAX_EMAILS} addresses", field="emails")
    return emails


def clean_roles(value, scope: Scope) -> list[str]:
    roles = _words(value, "roles")
    for role in roles:
        if role not in RECIPIENT_ROLES:
            raise InvalidSchedule(f"roles are {', '.join(RECIPIENT_ROLES)}", field="roles")
        if ROLE_RANK[role] > ROLE_RANK[scope.role]:
            raise InvalidSchedule(f"a {scope.role} may not send reports to every {role}", field="roles")
    return roles


async def _apply(session: AsyncSession, scope: Scope, row: ReportSchedule, data: dict) -> None:
    """Check every field present in ``data`` and set it on ``row``."""
    if unknown := set(data) - FIELDS:
        raise InvalidSchedule(f"unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
            raise InvalidSchedule("a schedule needs a name of at most 80 characters", field="name")
        row.name = " ".join(name.split())
    if "report" in data or row.report is None:
        row.report = _choice(data, "report", REPORTS)
    if "period" in data or row.period is None:
        row.period = _choice(data, "period", PERIODS, "yesterday")
    if "formats" in data or row.formats is None:
        row.formats = _choice(data, "formats", FORMATS, "csv")
    if "send_at" in data or row.send_at is None:
        try:
            at = parse_time(data.get("send_at"))
        except ValueError as exc:
            raise InvalidSchedule(str(exc), field="send_at") from None
        row.send_at = at.strftime("%H:%M")
    if "roles" in data:
        row.roles = ",".join(clean_roles(data["roles"], scope))
    if "emails" in data:
        row.emails = ",".join(clean_emails(data["emails"]))
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise InvalidSchedule("active is true or false", field="active")
        row.active = data["active"]
    if "campaign_id" in data:
        row.campaign_id = data["campaign_id"] or None
    if row.report == "campaign":
        if not isinstance(row.campaign_id, int) or isinstance(row.campaign_id, bool):
            raise InvalidSchedule("the campaign report needs a campaign_id", field="campaign_id")
        try:
            await visible_campaign(session, scope, row.campaign_id)
        except NotFoundInScope as exc:
            raise InvalidSchedule("no such campaign", field="campaign_id") from exc
    else:
        row.campaign_id = None
    if not row.role_list and not row.email_list:
        raise InvalidSchedule("give recipients: roles and/or e-mail addresses", field="roles")


async def create(session: AsyncSession, scope: Scope, data: dict, *, actor: str) -> ReportSchedule:
    if scope.user_id is None:
        raise InvalidSchedule("a schedule belongs to a person: use a user's token", field="owner")
    row = ReportSchedule(name=None, report=None, period=None, formats=None, send_at=None, roles="", emails="",
                         active=True, owner_id=scope.user_id)
    if "name" not in data:
        raise InvalidSchedule("a schedule needs a name", field="name")
    await _apply(session, scope, row, data)
    session.add(row)
    await session.flush()
    audit.record(session, actor, "report_schedule.create", "report_schedule", row.id, **_audited(row))
    return row


async def update(session: AsyncSession, scope: Scope, schedule_id: int, data: dict, *,
                 actor: str) -> ReportSchedule:
    row = await get(session, scope, schedule_id)
    before = _audited(row)
    await _apply(session, scope, row, data)
    await session.flush()
    after = _audited(row)
    audit.record(session, actor, "report_schedule.update", "report_schedule", row.id, name=row.name,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return row


async def delete(session: AsyncSession, scope: Scope, schedule_id: int, *, actor: str) -> None:
    row = await get(session, scope, schedule_id)
    audit.record(session, actor, "report_schedule.delete", "report_schedule", row.id, **_audited(row))
    await session.delete(row)
    await session.flush()


def _audited(row: ReportSchedule) -> dict:
    return {"name": row.name, "report": row.report, "period": row.period, "formats": row.formats,
            "roles": row.role_list, "emails": len(row.email_list), "send_at": row.send_at,
            "active": row.active}


def _visible(scope: Scope):
    return ReportSchedule.owner_id.in_(select(User.id).where(scope.users()))


async def get(session: AsyncSession, scope: Scope, schedule_id: int) -> ReportSchedule:
    row = await session.scalar(select(ReportSchedule).where(ReportSchedule.id == schedule_id, _visible(scope)))
    if row is None:
        raise ScheduleNotFound("no such schedule", schedule_id=schedule_id)
    return row


async def list_schedules(session: AsyncSession, scope: Scope) -> list[ReportSchedule]:
    return list((await session.scalars(select(ReportSchedule).where(_visible(scope))
                                       .order_by(ReportSchedule.send_at, ReportSchedule.id))).all())
