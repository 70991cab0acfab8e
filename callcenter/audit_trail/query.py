"""Which audit rows a reader may see, and the filters they ask for: the
query the API, the admin page, the CSV export and the CLI share.

Filters (query-string names): ``actor`` (exact), ``action`` (exact, or a
prefix ending in ``.`` or ``*``: ``customer.``), ``object`` (the entity
type: ``customer``, ``user``, ...) and ``object_id``; ``customer`` (an id:
the rows about that customer and about their work items, appointments,
complaints and calls: what the 360's History link asks); ``from`` and ``to``
(a ``YYYY-MM-DD`` day in the site's time zone, both days included, or an
ISO time; one without an offset is read in the site's time zone), newest
first by id, ``before=<id>`` to go on from a page, ``limit`` (1 to 500).

Who sees which rows:

- an admin (or an admin service token): every row;
- a manager: the rows about their location's objects, decided at query time
  from where each object stands now: the location itself; its users, stores,
  teams, campaigns, queues and complaints (their ``location_id``); customers
  of its stores or with a work item or call in the manager's scope (what
  their 360 shows: callcenter/work/scope.py); work items and calls in
  that scope; appointments at its stores or of its agents; uploads of its
  campaigns; bulk views (``view`` rows) by a user placed in it. Rows about
  objects outside any location (trunks, tokens, config, webhooks, the HR
  source, head counts, the DND list, complaint categories) are admins' only;
- anyone else (team leads, agents, a manager placed in no location): nothing
  (the routes answer 403 before asking).
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Integer, String, and_, cast, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.complaints.models import Complaint
from callcenter.customers.models import Customer
from callcenter.errors import DomainError
from callcenter.models import AuditEntry, Call, User
from callcenter.org.models import Store, Team
from callcenter.org.scope import Scope
from callcenter.queues.models import Queue
from callcenter.spreadsheets.models import Upload
from callcenter.typed_input import ascii_whole, iso_date
from callcenter.work.models import Appointment, WorkItem
from callcenter.work.scope import items_in

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
TEXT_MAX = 64           # the longest actor/action/object/id the table holds
FILTER_NAMES = ("actor", "action", "object", "object_id", "customer", "from", "to")


class InvalidAuditFilter(DomainError):
    """A filter of the audit trail is wrong; ``field`` names it."""
    error_id = "invalid_audit_filter"
    status = 400


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    customer_id: int | None = None       # the customer's rows and their work's, appointments', complaints', calls'
    since: dt.datetime | None = None     # UTC, included
    until: dt.datetime | None = None     # UTC, excluded
    before: int | None = None            # keyset cursor: only ids below it
    limit: int = DEFAULT_LIMIT

    def given(self) -> dict:
        """The filters given, by their query-string names (for links and the view's audit row)."""
        out = {"actor": self.actor, "action": self.action, "object": self.entity,
               "object_id": self.entity_id, "customer": self.customer_id, "from": self.since.isoformat() if self.since else None,
               "to": self.until.isoformat() if self.until else None}
        return {k: v for k, v in out.items() if v is not None}


def _text(query: Mapping, name: str) -> str | None:
    raw = (query.get(name) or "").strip()
    if len(raw) > TEXT_MAX:
        raise InvalidAuditFilter(f"{name} is at most {TEXT_MAX} characters", field=name)
    return raw or None


def _whole(query: Mapping, name: str, default: int | None, low: int, high: int | None = None) -> int | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = ascii_whole(raw)
    if value is None or value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise InvalidAuditFilter(f"{name} must be a whole number {bound}", field=name)
    return value


def parse_time(raw: str | None, zone: str, *, end: bool, field: str) -> dt.datetime | None:
    """A ``YYYY-MM-DD`` day (its start; with ``end``, the next day's start) or
    an ISO time (the site's zone when it has no offset), as UTC."""
    text = (raw or "").strip()
    if not text:
        return None
    tz = zoneinfo.ZoneInfo(zone)
    day = iso_date(text)
    if day is not None:
        return dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), tz).astimezone(dt.UTC)
    # "2026-01-31 14:30" is read as 2026-01-31T14:30; after a T, a space is an offset's "+" a URL lost
    text = text.replace(" ", "+") if "T" in text else text.replace(" ", "T", 1)
    try:
        moment = dt.datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or not 1970 <= moment.year <= 2999:
        raise InvalidAuditFilter(f"{field} must be a day (YYYY-MM-DD) or an ISO time "
                                 "(2026-01-31T14:30+05:30)", field=field)
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(dt.UTC)


def parse_filter(query: Mapping, zone: str, *, max_limit: int = MAX_LIMIT) -> AuditFilter:
    """The filters of a query string (or the CLI's options by the same names)."""
    found = AuditFilter(actor=_text(query, "actor"), action=_text(query, "action"),
                        entity=_text(query, "object"), entity_id=_text(query, "object_id"),
                        customer_id=_whole(query, "customer", None, 1),
                        since=parse_time(query.get("from"), zone, end=False, field="from"),
                        until=parse_time(query.get("to"), zone, end=True, field="to"),
                        before=_whole(query, "before", None, 1),
                        limit=_whole(query, "limit", min(DEFAULT_LIMIT, max_limit), 1, max_limit))
    if found.since and found.until and found.until <= found.since:
        raise InvalidAuditFilter("to must not be before from", field="to")
    return found


def _in(entity: str, ids) -> object:
    """Clause: a row about ``entity`` whose id is one of ``ids`` (a select of one column)."""
    return and_(AuditEntry.entity == entity, AuditEntry.entity_id.in_(ids))


def _as_text(column):
    return cast(column, String)


def _object(entity: str, key, *where) -> object:
    """Clause: a row about ``entity`` whose object (``key`` = its id) meets
    ``where``, checked row by row: the big sets (a location's customers,
    work, calls) are never gathered whole for a page. ``entity`` is wrapped
    so the planner reads the trail newest first and stops at the page
    (rather than every row about customers, sorted): bench/audit_trail.py."""
    row_key = AuditEntry.entity_id if isinstance(key.type, String) else cast(AuditEntry.entity_id, Integer)
    return and_(func.coalesce(AuditEntry.entity, "") == entity, exists().where(key == row_key, *where))


def readable(scope: Scope):
    """Clause on AuditEntry: the rows ``scope`` may read (see the module's docstring)."""
    if scope.sees_all:
        return true()
    if scope.role != "manager" or scope.location_id is None or scope.user_id is None:
        return false()
    here = scope.location_id
    stores = select(Store.id).where(Store.location_id == here)
    campaigns = select(Campaign.id).where(Campaign.location_id == here)
    placed = select(User.id).where(User.location_id == here)
    return or_(
        and_(AuditEntry.entity == "location", AuditEntry.entity_id == str(here)),
        _in("user", select(_as_text(User.id)).where(User.location_id == here)),
        _in("store", select(_as_text(Store.id)).where(Store.location_id == here)),
        _in("team", select(_as_text(Team.id)).where(Team.location_id == here)),
        _in("campaign", select(_as_text(Campaign.id)).where(Campaign.location_id == here)),
        _in("queue", select(_as_text(Queue.id)).where(Queue.location_id == here)),
        _object("complaint", Complaint.id, Complaint.location_id == here),
        or_(_object("customer", Customer.id, Customer.store_id.in_(stores)),  # customers_in(scope), its store's
            _object("customer", WorkItem.customer_id, items_in(scope)),
            _object("customer", Call.customer_id, scope.calls())),
        _object("work_item", WorkItem.id, items_in(scope)),
        _object("call", Call.id, scope.calls()),
        _object("appointment", Appointment.id, Appointment.store_id.in_(stores) | Appointment.agent_id.in_(placed)),
        _in("upload", select(_as_text(Upload.id)).where(Upload.campaign_id.in_(campaigns))),
        and_(AuditEntry.entity == "view", AuditEntry.actor.in_(select(User.name).where(User.location_id == here))),
    )


def about_customer(customer_id: int):
    """Clause: a row about the customer or about their work items, appointments, complaints or calls."""
    return or_(
        and_(AuditEntry.entity == "customer", AuditEntry.entity_id == str(customer_id)),
        _in("work_item", select(_as_text(WorkItem.id)).where(WorkItem.customer_id == customer_id)),
        _in("appointment", select(_as_text(Appointment.id)).where(Appointment.customer_id == customer_id)),
        _in("complaint", select(_as_text(Complaint.id)).where(Complaint.customer_id == customer_id)),
        _in("call", select(Call.id).where(Call.customer_id == customer_id)),
    )


def matching(scope: Scope, f: AuditFilter) -> list:
    """The WHERE clauses of ``f`` for ``scope`` (the cursor and limit aside)."""
    clauses = [readable(scope)]
    if f.actor:
        clauses.append(AuditEntry.actor == f.actor)
    if f.action:
        if f.action.endswith(("*", ".")):
            prefix = f.action.rstrip("*")
            clauses.append(AuditEntry.action.startswith(prefix, autoescape=True))
        else:
            clauses.append(AuditEntry.action == f.action)
    if f.entity:
        clauses.append(AuditEntry.entity == f.entity)
    if f.entity_id:
        clauses.append(AuditEntry.entity_id == f.entity_id)
    if f.customer_id is not None:
        clauses.append(about_customer(f.customer_id))
    if f.since:
        clauses.append(AuditEntry.at >= f.since)
    if f.until:
        clauses.append(AuditEntry.at < f.until)
    return clauses


@dataclass
class Page:
    rows: list[AuditEntry]
    next_before: int | None      # the cursor of the next (older) page, None at the end


async def page(session: AsyncSession, scope: Scope, f: AuditFilter) -> Page:
    """One page of rows, newest (highest id) first."""
    stmt = select(AuditEntry).where(*matching(scope, f))
    if f.before is not None:
        stmt = stmt.where(AuditEntry.id < f.before)
    rows = list((await session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(f.limit + 1))).all())
    more = len(rows) > f.limit
    rows = rows[:f.limit]
    return Page(rows, rows[-1].id if more and rows else None)


async def pages(session: AsyncSession, scope: Scope, f: AuditFilter, *, chunk: int = MAX_LIMIT,
                most: int | None = None):
    """Every matching row below ``f.before``, newest first, ``chunk`` at a time
    (at most ``most`` rows): yields lists of rows."""
    sent = 0
    cursor = replace(f, limit=chunk)
    while True:
        if most is not None:
            cursor = replace(cursor, limit=min(chunk, most - sent))
            if cursor.limit <= 0:
                return
        found = await page(session, scope, cursor)
        if found.rows:
            sent += len(found.rows)
            yield found.rows
        if found.next_before is None:
            return
        cursor = replace(cursor, before=found.next_before)


async def newest_id(session: AsyncSession) -> int:
    """The highest id now (0 when empty): an export reads the rows up to it, so
    rows added meanwhile (its own view row among them) do not shift it."""
    top = await session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    return top or 0


async def user_ids(session: AsyncSession, names: set[str]) -> dict[str, int]:
    """The id of each name in ``names`` that is a user (the actors that are people)."""
    if not names:
        return {}
    rows = await session.execute(select(User.name, User.id).where(User.name.in_(names)))
    return dict(rows.all())
