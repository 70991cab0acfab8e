"""Committing a validated head count: all of it in the caller's transaction,
or nothing (refused when a row is invalid, when the file changed, or when
the data changed since validation so that a row became invalid)."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.headcount.exceptions import UploadNotCommittable
from callcenter.headcount.rows import PlannedRow
from callcenter.headcount.service import Checked, check_file, get_upload
from callcenter.models import User, utcnow
from callcenter.org.models import Team
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.models import Upload
from callcenter.users.service import browser_endpoint_for, validate_name
from callcenter.work.handover import hand_over_work

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


CHUNK = 500


def _new_executive(row: PlannedRow) -> User:
    """A checked 'create' row as a User: a store executive with a mobile and no
    login password (the checker made the name, employee id, languages and mobile valid)."""
    validate_name(row.user_name)
    web = row.phone == "browser"
    return User(name=row.user_name, role="agent", active=True, display_name=row.name,
                employee_id=row.employee_id, agent_kind="store", languages=row.languages or "",
                location_id=row.location_id, store_id=row.store_id, phone_mode="browser" if web else "mobile",
                mobile=None if web else row.mobile,
                sip_endpoint=browser_endpoint_for(row.user_name) if web else None)


async def _load_users(session: AsyncSession, ids: list[int]) -> dict[int, User]:
    users: dict[int, User] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        users.update({u.id: u for u in (await session.scalars(select(User).where(User.id.in_(chunk))))})
    return users


def _change(user: User, row: PlannedRow, team_locations: dict, audits: list) -> bool:
    """Apply a known executive's row, adding its audit (action, user, details) to
    ``audits``; True when they left their store (moved or left)."""
    if row.action == "deactivate":
        user.active = False
        audits.append(("user.disable", user, {"employee_id": row.employee_id}))
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
    if row.set_phone and row.phone == "browser":
        change("phone_mode", "browser")
        change("sip_endpoint", browser_endpoint_for(user.name))
        change("mobile", None)
        change("sip_md5_cred", None)
        change("sip_contact", None)
    elif row.set_mobile or row.set_phone:
        change("phone_mode", "mobile")
        change("mobile", row.mobile or user.mobile)
        change("sip_endpoint", None)
        change("sip_md5_cred", None)
        change("sip_contact", None)
    if row.action == "reactivate":
        change("active", True)
    if changes:
        action = {"reactivate": "user.enable", "move": "user.move"}.get(row.action, "user.update")
        audits.append((action, user, {"employee_id": row.employee_id, **changes}))
    return moved


async def _claim(session: AsyncSession, settings, scope: Scope, upload_id: int, viewer: str):
    """The validated upload, marked committed (in the caller's transaction) and
    its file read again: UploadNotCommittable when it is not validated, its
    file is gone or changed, it is being committed, or a row became invalid."""
    upload = await get_upload(session, scope, upload_id, viewer)
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
    return upload, checked


async def _apply_rows(session: AsyncSession, checked: Checked, result: HeadcountResult):
    """Create, change or disable the executives of the rows (counted in
    ``result``); returns (ids of those who left their store, users created,
    audits (action, user, details))."""
    team_locations = dict((await session.execute(select(Team.id, Team.location_id))).all())
    known = await _load_users(session, [r.user_id for r in checked.rows
                                        if r.user_id is not None and r.action != "unchanged"])
    leaving: list[int] = []
    created: list[User] = []
    audits: list[tuple] = []
    with session.no_autoflush:
        for row in checked.rows:
            if row.action == "create":
                created.append(_new_executive(row))
            elif row.action == "unchanged":
                result.unchanged += 1
            else:
                if _change(known[row.user_id], row, team_locations, audits):
                    leaving.append(row.user_id)
                counter = {"deactivate": "deactivated", "reactivate": "reactivated", "move": "moved",
                           "update": "updated"}[row.action]
                setattr(result, counter, getattr(result, counter) + 1)
    session.add_all(created)
    await session.flush()
    result.created = len(created)
    return leaving, created, audits


def _write_audits(session: AsyncSession, actor: str, audits: list[tuple], created: list[User]) -> None:
    """One audit row per user changed or created (chained and written in batches at the commit)."""
    audits = audits + [("user.add", u, {
        "role": "agent", "phone_mode": u.phone_mode, "mobile": u.mobile, "login_password": False,
        "display_name": u.display_name, "employee_id": u.employee_id, "agent_kind": "store",
        "languages": u.languages, "location_id": u.location_id, "store_id": u.store_id})
        for u in created]
    audit.record_many(session, actor, ((action, "user", user.id, {"name": user.name, **details,
                                                                  "source": "headcount"})
                                       for action, user, details in audits))


async def commit_headcount(session: AsyncSession, settings, scope: Scope, upload_id: int, *,
                           actor: str, viewer: str | None = None) -> HeadcountResult:
    """Apply a validated head count in ``session``'s transaction (the caller
    commits, or everything is rolled back). ``viewer``: whose uploads the
    caller may see (see headcount.service.upload_scope; default ``actor``).
    The open work of executives who left or moved is handed over."""
    upload, checked = await _claim(session, settings, scope, upload_id, viewer or actor)
    result = HeadcountResult(upload.id, total=len(checked.rows))
    leaving, created, audits = await _apply_rows(session, checked, result)
    _write_audits(session, actor, audits, created)
    result.work_reallocated, result.work_unallocated = await hand_over_work(session, leaving, actor=actor)
    counts = result.as_dict()
    await session.execute(update(Upload).where(Upload.id == upload.id).values(
        report={**upload.report, "result": counts}))
    audit.record(session, actor, "headcount.commit", "upload", upload.id, file=upload.original_name,
                 **{k: v for k, v in counts.items() if k != "upload_id"})
    log.info("head count %s committed: %s", upload.id, counts)
    return result
