"""One fetch of the HR source: pull the employee list, write it as a
head-count file in the uploads folder (a server-made name), and validate it
through the head-count import, exactly like an uploaded file
(callcenter/headcount/service.py); then decide whether it applies itself.

The rule: a **scheduled** fetch commits by itself (through
callcenter/headcount/commit.py, as an admin's commit would) only when its
report is clean (no invalid row), the guard passes (no more than
``max_leavers_percent`` of today's active store executives would be
disabled) and automatic commit is on. Otherwise it waits for an admin:
``rejected`` (invalid rows: nothing can be committed), ``held`` (the guard
tripped: an admin may still commit it from the head-count page) or
``validated`` (automatic commit off). A fetch **now** by an admin always
waits for that admin's commit. A failed pull is kept as ``failed`` with its
error in plain words and raised, so the daily job is tried again."""
from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from callcenter.errors import DomainError
from callcenter.headcount.commit import commit_headcount
from callcenter.headcount.service import validate_headcount
from callcenter.hrsource import client, records
from callcenter.hrsource.exceptions import SourceFailed, SourceNotReady
from callcenter.hrsource.models import HrFetch
from callcenter.hrsource.source import get_source, spec_of
from callcenter.models import User
from callcenter.org.scope import Scope
from callcenter.orm import utcnow
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.models import Upload

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "hr-source"          # who a scheduled fetch's uploads and commits are by
EVERYTHING = Scope("admin")        # the source is the whole organisation's head count
ERROR_CHARS = 500
_F = HrFetch.__table__


async def active_executives(session) -> int:
    return await session.scalar(select(func.count()).select_from(User).where(
        User.role == "agent", User.agent_kind == "store", User.active.is_(True))) or 0


def hold_reason(upload: Upload, active: int, limit_percent: int) -> str | None:
    """Why a validated upload must wait for an admin (None: it may apply itself)."""
    if upload.status != "validated":
        return f"{upload.invalid} invalid row(s): fix them in the HR system"
    leavers = (upload.report or {}).get("planned", {}).get("deactivate", 0)
    if leavers and leavers * 100 > limit_percent * max(active, 1):
        share = 100.0 * leavers / max(active, 1)
        return (f"{leavers} of {active} active executives would be disabled ({share:.0f} %, "
                f"more than the {limit_percent} % allowed): check the list, then commit it by hand")
    return None


class Fetcher:
    def __init__(self, sessions: async_sessionmaker, settings) -> None:
        self.sessions, self.settings = sessions, settings

    async def _finish(self, fetch_id: int, **values) -> None:
        async with self.sessions() as session:
            await session.execute(update(_F).where(_F.c.id == fetch_id).values(finished_at=utcnow(), **values))
            await session.commit()

    async def _upload(self, source, spec, fetch_id: int, actor: str) -> tuple[Upload, int]:
        pulled = await client.pull(spec)
        rows = records.to_rows(pulled.records, source.mapping or {}, source.active_statuses)
        if not rows:
            raise SourceFailed("the employee list in the answer is empty")
        async with self.sessions() as session:
            await session.execute(update(_F).where(_F.c.id == fetch_id).values(employees=len(rows),
                                                                                pages=pulled.pages))
            await session.commit()
        name = f"hr-source-{utcnow():%Y-%m-%d-%H%M}.csv"
        saved = files.save_bytes(records.csv_bytes(rows), name, self.settings.uploads_dir,
                                 files.max_bytes(self.settings))
        async with self.sessions() as session:
            upload = await validate_headcount(session, self.settings, EVERYTHING, saved, actor=actor)
            await session.execute(update(_F).where(_F.c.id == fetch_id).values(upload_id=upload.id))
            await session.commit()
            return upload, await active_executives(session)

    async def fetch(self, *, trigger: str, actor: str) -> HrFetch:
        """Pull, save, validate and (scheduled, clean) commit; the fetch's row.
        A failure is recorded on the row, then raised."""
        async with self.sessions() as session:
            source = await get_source(session)
            fetch = HrFetch(trigger=trigger, requested_by=actor[:60], status="running", error="", detail={})
            session.add(fetch)
            await session.commit()
            fetch_id = fetch.id
        try:
            if not source.list_url:
                raise SourceNotReady("the HR source has no employee list URL yet")
            upload, active = await self._upload(source, spec_of(self.settings, source), fetch_id, actor)
            status, detail = await self._decide(source, upload, active, trigger, actor)
        except DomainError as failure:
            failure.details["fetch_id"] = fetch_id
            await self._finish(fetch_id, status="failed", error=failure.message[:ERROR_CHARS])
            log.warning("HR source fetch %s (%s) failed: %s", fetch_id, trigger, failure.message)
            raise
        except Exception as failure:
            await self._finish(fetch_id, status="failed",
                               error=f"internal error: {type(failure).__name__}"[:ERROR_CHARS])
            raise
        await self._finish(fetch_id, status=status, detail=detail)
        log.info("HR source fetch %s (%s): %s %s", fetch_id, trigger, status, detail.get("planned", {}))
        async with self.sessions() as session:
            return await session.get(HrFetch, fetch_id)

    async def _decide(self, source, upload: Upload, active: int, trigger: str, actor: str):
        """(status, detail) of a fetch whose upload is validated or rejected;
        commits a clean scheduled one."""
        planned = (upload.report or {}).get("planned", {})
        detail = {"planned": planned, "total": upload.total, "invalid": upload.invalid,
                  "active_before": active}
        reason = hold_reason(upload, active, source.max_leavers_percent)
        if reason is not None:
            detail["held_because"] = reason
            return ("rejected" if upload.status != "validated" else "held"), detail
        if trigger != "scheduled" or not source.auto_commit:
            detail["waiting"] = ("an admin's commit" if trigger != "scheduled"
                                 else "an admin's commit (automatic commit is off)")
            return "validated", detail
        async with self.sessions() as session:
            try:
                result = await commit_headcount(session, self.settings, EVERYTHING, upload.id, actor=actor)
                await session.commit()
            except DomainError as refused:   # e.g. the data changed under it: an admin looks
                await session.rollback()
                detail["held_because"] = f"the commit was refused: {refused.message}"
                return "held", detail
        detail["result"] = result.as_dict()
        return "committed", detail


async def list_fetches(session, limit: int = 50) -> list[tuple[HrFetch, Upload | None]]:
    rows = await session.execute(select(HrFetch, Upload).outerjoin(Upload, Upload.id == HrFetch.upload_id)
                                 .order_by(HrFetch.id.desc()).limit(limit))
    return [(f, u) for f, u in rows.all()]


async def get_fetch(session, fetch_id: int) -> tuple[HrFetch, Upload | None] | None:
    row = (await session.execute(select(HrFetch, Upload).outerjoin(Upload, Upload.id == HrFetch.upload_id)
                                 .where(HrFetch.id == fetch_id))).first()
    return (row[0], row[1]) if row else None
