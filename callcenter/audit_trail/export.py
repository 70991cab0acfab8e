"""The audit trail as CSV (the API's ``?format=csv``, the page's button, the
CLI's ``audit export``): the rows of the filters as of the moment the export
starts (rows added meanwhile, its own audit row among them, are left out),
newest first, read and written ``CHUNK`` rows at a time, at most
``MAX_ROWS``. An export is itself a bulk view: one audit row with the count,
written before the first byte is sent (``callcenter.audit.record_view``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from sqlalchemy import func, select

from callcenter import audit
from callcenter.audit_trail import query
from callcenter.audit_trail.summary import row_view
from callcenter.models import AuditEntry
from callcenter.org.scope import Scope
from callcenter.reports.csv_export import encode

CHUNK = 500
MAX_ROWS = 100_000
HEADER = ["id", "at", "actor", "actor_kind", "action", "object", "object_id", "summary", "request_id"]


async def snapshot(sessions, scope: Scope, f: query.AuditFilter) -> tuple[query.AuditFilter, int]:
    """``f`` pinned to the rows there are now, and how many of them will be sent."""
    async with sessions() as session:
        top = await query.newest_id(session)
        pinned = replace(f, before=min(f.before or top + 1, top + 1))
        ids = (select(AuditEntry.id).where(*query.matching(scope, pinned), AuditEntry.id < pinned.before)
               .limit(MAX_ROWS).subquery())
        count = await session.scalar(select(func.count()).select_from(ids))
    return pinned, count or 0


async def record_export(sessions, actor: str, where: str, f: query.AuditFilter, rows: int) -> None:
    """The export's own audit row (a bulk view of the trail)."""
    given = f.given()   # record_view's own parameters are named actor and action: the filters go as who, what
    given["who"], given["what"] = given.pop("actor", None), given.pop("action", None)
    await audit.record_view(sessions, actor, audit.REPORT_EXPORTED, where, rows=rows, report="audit", **given)


def cells(view: dict) -> list:
    at = view["at"]
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return [view["id"], at.isoformat() if at else "", view["actor"], view["actor_kind"], view["action"],
            view["object"], view["object_id"], view["summary"], view["request_id"]]


async def csv_chunks(sessions, scope: Scope, f: query.AuditFilter,
                     shown: Callable[[str], str] | None = None) -> AsyncIterator[str]:
    """The CSV text of the rows, a chunk at a time (no header)."""
    stmt = select(AuditEntry).where(*query.matching(scope, f))
    if f.before is not None:
        stmt = stmt.where(AuditEntry.id < f.before)
    # one query read a chunk at a time: a page per chunk (query.pages) would
    # gather and sort a manager's rows again for every chunk
    stmt = stmt.order_by(AuditEntry.id.desc()).limit(MAX_ROWS).execution_options(yield_per=CHUNK)
    async with sessions() as session, sessions() as names:
        result = await session.stream_scalars(stmt)
        async for rows in result.partitions(CHUNK):
            users = await query.user_ids(names, {r.actor for r in rows})
            yield encode(cells(row_view(r, users, shown)) for r in rows)
