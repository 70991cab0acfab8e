"""Committing a validated head count: all of it in the caller's transaction,
or nothing (refused when a row is invalid, when the file changed, or when
the data changed since validation so that a row became invalid)."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.customers.models import Upload
from callcenter.models import User, utcnow
from callcenter.org.exceptions import UploadNotCommittable
from callcenter.org.headcount import check_file, get_upload
from callcenter.org.headcount_rows import PlannedRow
from callcenter.org.models import Team
from callcenter.org.scope import Scope
from callcenter.uploads import store as files
from callcenter.users.handover import hand_over_work
from callcenter.users.service import create_user

log = logging.getLogger(__name__)


@dataclass
class HeadcountResult:
    upload_id: int
    total: int = 0
    created: int = 0
    updated: int = 0
    moved: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0
    work_reallocated: int = 0
    work_unallocated: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


async def _create(session, settings, row: PlannedRow, actor: str) -> None:
    await create_user(session, settings, row.user_name, "agent", "mobile", None, row.mobile, None,
                      actor=actor, display_name=row.name, employee_id=row.employee_id,
                      agent_kind="store", languages=row.languages or "", store=row.store_id)


async def _change(session, row: PlannedRow, team_locations: dict, actor: str) -> bool:
    """Apply a known executive's row; True when they left their store (moved or left)."""
    user = await session.get(User, row.user_id)
    if row.action == "deactivate":
        user.active = False
        audit.record(session, actor, "user.disable", "user", user.id, name=user.name,
                     employee_id=row.employee_id, source="headcount")
        return True
    changes: dict = {}

    def change(name: str, value) -> None:
        if getattr(user, name) != value:
            changes[name] = [getattr(user, name), value]
            setattr(user, name, value)

    moved = user.store_id != row.store_id
    change("store_id", row.store_id)
    change("location_id", row.location_id)
    if user.team_id is not None and team_locations.get(user.team_id) != row.location_id:
        change("team_id", None)   # a team of the old location
    change("display_name", row.name)
    if row.languages is not None:
        change("languages", row.languages)
    if row.set_mobile:
        change("phone_mode", "mobile")
        change("mobile", row.mobile)
    if row.action == "reactivate":
        change("active", True)
    if changes:
        action = {"reactivate": "user.enable", "move": "user.move"}.get(row.action, "user.update")
        audit.record(session, actor, action, "user", user.id, name=user.name,
                     employee_id=row.employee_id, source="headcount", **changes)
    return moved


async def commit_headcount(session: AsyncSession, settings, scope: Scope, upload_id: int, *,
                           actor: str, viewer: str | None = None) -> HeadcountResult:
    """Apply a validated head count in ``session``'s transaction (the caller
    commits, or everything is rolled back). ``viewer``: whose uploads the
    caller may see (see headcount.upload_scope; default ``actor``)."""
    upload = await get_upload(session, scope, upload_id, viewer or actor)
    if upload.status != "validated":
        raise UploadNotCommittable(
            "this head count has invalid rows: fix the file and upload it again"
            if upload.status == "rejected" else f"this head count is {upload.status}",
            status_now=upload.status)
    path = files.stored_path(settings.uploads_dir, upload.stored_name)
    if not path.is_file() or files.file_sha256(path) != upload.report.get("sha256"):
        raise UploadNotCommittable("the uploaded file is gone or changed; upload it again")
    claimed = await session.execute(update(Upload).where(
        Upload.id == upload.id, Upload.status == "validated").values(status="committed",
                                                                     committed_at=utcnow()))
    if claimed.rowcount != 1:
        raise UploadNotCommittable("this head count is being committed or was committed already")
    checked = await check_file(session, settings, scope, path, name=upload.original_name)
    if checked.invalid:
        first = checked.invalid[0]
        raise UploadNotCommittable(
            f"{len(checked.invalid)} row(s) became invalid since the validation (row {first.number}: "
            f"{'; '.join(first.errors)}); upload the file again", rows=[r.number for r in checked.invalid])

    result = HeadcountResult(upload.id, total=len(checked.rows))
    team_locations = dict((await session.execute(select(Team.id, Team.location_id))).all())
    leaving: list[int] = []
    for row in checked.rows:
        if row.action == "create":
            await _create(session, settings, row, actor)
            result.created += 1
        elif row.action == "unchanged":
            result.unchanged += 1
        else:
            if await _change(session, row, team_locations, actor):
                leaving.append(row.user_id)
            counter = {"deactivate": "deactivated", "reactivate": "reactivated", "move": "moved",
                       "update": "updated"}[row.action]
            setattr(result, counter, getattr(result, counter) + 1)
    await session.flush()
    result.work_reallocated, result.work_unallocated = await hand_over_work(session, leaving, actor=actor)
    counts = result.as_dict()
    await session.execute(update(Upload).where(Upload.id == upload.id).values(
        report={**upload.report, "result": counts}))
    audit.record(session, actor, "headcount.commit", "upload", upload.id, file=upload.original_name,
                 **{k: v for k, v in counts.items() if k != "upload_id"})
    log.info("head count %s committed: %s", upload.id, counts)
    return result
