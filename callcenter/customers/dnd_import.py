"""Importing a DND list from CSV or XLSX, like a customer upload: a
validation pass (report per row: ``new``, ``listed`` (on the list already),
``duplicate``, ``invalid``), then a commit, all or nothing, refused when a
row is invalid, the file changed, or it was committed already.
Numbers may be landlines too (a DND list is not only mobiles)."""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.customers import dnd
from callcenter.errors import DomainError
from callcenter.models import utcnow
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.cells import CellError, parse_mobile
from callcenter.spreadsheets.exceptions import (EmptySpreadsheet, UploadNotCommittable,
                                                UploadNotFound)
from callcenter.spreadsheets.models import Upload
from callcenter.spreadsheets.seen import SeenNumbers
from callcenter.spreadsheets.spreadsheet import open_spreadsheet

log = logging.getLogger(__name__)
BATCH = 1000


class DndNotAllowed(DomainError):
    error_id = "forbidden"
    status = 403


def _may_import(scope: Scope) -> bool:
    return scope.sees_all or (scope.role == "manager" and scope.user_id is not None)


def may_import(scope: Scope) -> None:
    if not _may_import(scope):
        raise DndNotAllowed("only managers and admins change the DND list")


async def recent_uploads(session: AsyncSession, scope: Scope, *, limit: int = 10) -> list[Upload]:
    """The latest DND imports, newest first, for those who import them (managers, admins)."""
    if not _may_import(scope):
        return []
    return list((await session.scalars(select(Upload).where(Upload.kind == "dnd")
                                       .order_by(Upload.id.desc()).limit(limit))).all())


def _read_lines(f, count: int) -> list[str]:
    return [line.strip() for _, line in zip(range(count), f) if line.strip()]


def _parse_batch(rows, region: str, seen: SeenNumbers) -> list:
    """Up to BATCH rows: (row, number or None, reason, earlier row of that number)."""
    out = []
    for number, cells in rows:
        try:
            mobile = parse_mobile(cells.get("mobile", ""), region, mobile_only=False)
            reason = None if mobile else "the number is empty"
        except CellError as exc:
            mobile, reason = None, str(exc)
        out.append((number, mobile, reason))
        if len(out) == BATCH:
            break
    firsts = iter(seen.first_rows([(mobile, number) for number, mobile, _ in out if mobile]))
    return [(number, mobile, reason, next(firsts) if mobile else None) for number, mobile, reason in out]


async def validate_dnd_upload(session: AsyncSession, scope: Scope, saved: files.SavedFile, *,
                              actor: str, settings) -> Upload:
    may_import(scope)
    directory = settings.uploads_dir
    staged = files.staged_path(directory, saved.stored_name)
    counts = {"total": 0, "invalid": 0, "duplicates": 0, "listed": 0, "new": 0}
    invalid_rows, skipped_rows = [], []
    try:
        sheet = await asyncio.to_thread(open_spreadsheet, saved.path, "dnd", name=saved.original_name,
                                        max_bytes=files.max_bytes(settings))
        region = settings.calls.default_region
        with sheet, files.ReportWriter(files.report_path(directory, saved.stored_name)) as report, \
                open(staged, "w") as stage, SeenNumbers(directory) as seen:
            rows = iter(sheet)
            while batch := await asyncio.to_thread(_parse_batch, rows, region, seen):
                on_list = await dnd.listed(session, {m for _, m, _, _ in batch if m})
                for number, mobile, reason, first in batch:
                    counts["total"] += 1
                    status, note = "new", ""
                    if reason:
                        status, note = "invalid", reason
                    elif first is not None:
                        status, note = "duplicate", f"the same number as row {first}: skipped"
                    elif mobile in on_list:
                        status, note = "listed", "on the DND list already"
                    counts[{"new": "new", "invalid": "invalid", "duplicate": "duplicates",
                            "listed": "listed"}[status]] += 1
                    report.add(number, status, note, mobile)
                    shown = invalid_rows if status == "invalid" else skipped_rows
                    if status in ("invalid", "duplicate") and len(shown) < files.SHOWN_PROBLEMS:
                        shown.append({"row": number, "status": status, "reason": note, "mobile": mobile})
                    if status == "new":
                        stage.write(mobile + "\n")
        if counts["total"] == 0:
            raise EmptySpreadsheet("the file has a header but no numbers")
    except BaseException:
        files.delete(directory, saved.stored_name)
        staged.unlink(missing_ok=True)
        raise
    upload = Upload(kind="dnd", campaign_id=None, original_name=saved.original_name,
                    stored_name=saved.stored_name,
                    status="rejected" if counts["invalid"] else "validated",
                    total=counts["total"], valid=counts["total"] - counts["invalid"],
                    invalid=counts["invalid"], duplicates_in_file=counts["duplicates"],
                    duplicates_existing=counts["listed"], dnd=0, created_by=actor[:60],
                    report={"sha256": saved.sha256, "size": saved.size, "format": sheet.format,
                            "columns": [c for c in sheet.columns if c], "to_commit": counts["new"],
                            "new": counts["new"], "invalid_rows": invalid_rows,
                            "skipped_rows": skipped_rows})
    session.add(upload)
    await session.flush()
    audit.record(session, actor, "upload.validate", "upload", upload.id, kind="dnd",
                 file=saved.original_name, status=upload.status, **counts)
    return upload


async def commit_upload(sessions, scope: Scope, upload_id: int, *, actor: str, settings) -> dict:
    """Add the upload's new numbers to the DND list, in one transaction."""
    may_import(scope)
    async with sessions() as session:
        upload = await session.get(Upload, upload_id)
        if upload is None or upload.kind != "dnd":
            raise UploadNotFound("no such upload", upload_id=upload_id)
        if upload.status == "committed":
            raise UploadNotCommittable("the upload was committed already", reason="committed")
        if upload.status != "validated" or upload.invalid:
            raise UploadNotCommittable(
                f"the upload has {upload.invalid} invalid row(s): fix them and upload the file "
                "again (nothing was committed)", reason="invalid_rows")
        path = files.stored_path(settings.uploads_dir, upload.stored_name)
        staged = files.staged_path(settings.uploads_dir, upload.stored_name)
        if not (path.exists() and staged.exists()) or \
                await asyncio.to_thread(files.file_sha256, path) != upload.report.get("sha256"):
            raise UploadNotCommittable("the uploaded file changed or is gone since it was "
                                       "validated: upload it again", reason="file_changed")
        claimed = await session.execute(update(Upload).where(
            Upload.id == upload_id, Upload.status == "validated").values(status="committing"))
        if claimed.rowcount != 1:
            raise UploadNotCommittable("the upload is being committed already", reason="committed")
        added = 0
        with open(staged) as f:
            while numbers := await asyncio.to_thread(_read_lines, f, BATCH):
                added += await dnd.add_numbers(session, numbers, "import", actor, audited=False)
        now = utcnow()
        await session.execute(update(Upload).where(Upload.id == upload_id).values(
            status="committed", committed_at=now, report={**upload.report, "committed": {"added": added}}))
        audit.record(session, actor, "upload.commit", "upload", upload_id, kind="dnd", added=added)
        await session.commit()
    log.info("DND upload %s committed: %d numbers added", upload_id, added)
    return {"upload_id": upload_id, "status": "committed", "added": added}
