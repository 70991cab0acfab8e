"""The head count: the list of store executives per store (employee id, name,
store code, status, languages, mobile), imported from CSV or XLSX.

First a validation pass (:func:`validate_headcount`) reads the file and says,
per row, what would happen or what is wrong: an Upload row of kind
``headcount`` with the counts, and a downloadable report CSV (row, status,
mobile, reason). Then :func:`callcenter.headcount.commit.commit_headcount`
applies ALL of it in one transaction, and is refused when any row is invalid.

The rules (the safe ones):
- status active (or working, joined, transferred...): a new employee id
  becomes an agent of kind 'store' in that store, with phone mode mobile and
  user name derived from the employee id (``E12345`` -> ``e12345``, ``12345``
  -> ``e12345``). They get NO login password: an admin or manager resets one
  (shown once) when the person is to log in. A known executive whose store
  changed moves (location follows the store); other changes (name,
  languages, mobile) update them; a disabled one listed active is enabled.
- status left / resigned / terminated...: the executive is disabled.
- an executive absent from the file is left as they are: only rows that say
  left deactivate (a partial file never disables a whole store).
The customers (open work items) of executives who left or moved are then
re-allocated (callcenter/work/handover.py)."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.headcount.exceptions import UploadNotFound
from callcenter.headcount.rows import HeadcountChecker, PlannedRow
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.exceptions import EmptySpreadsheet
from callcenter.spreadsheets.models import Upload
from callcenter.spreadsheets.spreadsheet import open_spreadsheet

log = logging.getLogger(__name__)

KIND = "headcount"
SHOWN = 200   # invalid rows and changes kept in Upload.report (all are in the CSV)
ACTIONS = ("create", "move", "update", "deactivate", "reactivate", "unchanged")


@dataclass
class Checked:
    """The outcome of reading a head-count file against the database."""
    rows: list[PlannedRow]
    format: str = "csv"
    columns: tuple = ()

    @property
    def invalid(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.errors]

    def counts(self) -> dict:
        out = {action: 0 for action in ACTIONS}
        for row in self.rows:
            if not row.errors:
                out[row.action] += 1
        return out


def _read(path, name, limit) -> tuple[list, str, tuple]:
    with open_spreadsheet(path, KIND, name=name, max_bytes=limit) as sheet:
        return list(sheet), sheet.format, tuple(c for c in sheet.columns if c)


async def check_file(session: AsyncSession, settings, scope: Scope, path, *,
                     name: str | None = None) -> Checked:
    """Read and check every row of a head-count file (SpreadsheetError when the
    file is not one). Nothing is written."""
    rows, fmt, columns = await asyncio.to_thread(_read, path, name, files.max_bytes(settings))
    if not rows:
        raise EmptySpreadsheet("the file has a header but no executive rows")
    checker = await HeadcountChecker.load(session, scope, region=settings.calls.default_region)
    return Checked([checker.check(number, cells) for number, cells in rows], fmt, columns)


def upload_scope(scope: Scope, actor: str):
    """Clause on Upload: head-count uploads the caller may see (an admin all,
    anyone else their own)."""
    clause = Upload.kind == KIND
    return clause if scope.sees_all else clause & (Upload.created_by == actor)


async def get_upload(session: AsyncSession, scope: Scope, upload_id: int, actor: str) -> Upload:
    upload = (await session.execute(select(Upload).where(
        Upload.id == upload_id, upload_scope(scope, actor)))).scalar_one_or_none()
    if upload is None:
        raise UploadNotFound(f"no head-count upload {upload_id}")
    return upload


async def list_uploads(session: AsyncSession, scope: Scope, actor: str, limit: int = 20) -> list[Upload]:
    return list((await session.execute(select(Upload).where(upload_scope(scope, actor))
                                       .order_by(Upload.id.desc()).limit(limit))).scalars())


def report_file(settings, upload: Upload):
    return files.report_path(settings.uploads_dir, upload.stored_name)


async def validate_headcount(session: AsyncSession, settings, scope: Scope,
                             saved: files.SavedFile, *, actor: str) -> Upload:
    """Check a saved head-count file; add (flush) its Upload row with the counts
    and write the report CSV. The caller commits. A file that is not a
    head count at all (not a spreadsheet, a column missing) is deleted and
    its SpreadsheetError raised."""
    directory = settings.uploads_dir
    try:
        checked = await check_file(session, settings, scope, saved.path, name=saved.original_name)
        with files.ReportWriter(files.report_path(directory, saved.stored_name)) as report:
            for row in checked.rows:
                report.add(row.number, "invalid" if row.errors else row.action,
                           "; ".join(row.errors) or row.note, row.mobile or "")
    except BaseException:
        files.delete(directory, saved.stored_name)
        raise
    invalid = checked.invalid
    counts = checked.counts()
    upload = Upload(
        kind=KIND, campaign_id=None, original_name=saved.original_name,
        stored_name=saved.stored_name, status="rejected" if invalid else "validated",
        total=len(checked.rows), valid=len(checked.rows) - len(invalid), invalid=len(invalid),
        duplicates_in_file=sum(1 for r in checked.rows if r.duplicate),
        duplicates_existing=sum(1 for r in checked.rows if r.user_id is not None),
        created_by=actor[:60],
        report={"sha256": saved.sha256, "size": saved.size, "format": checked.format,
                "columns": list(checked.columns), "planned": counts,
                "invalid_rows": [r.as_dict() for r in invalid[:SHOWN]],
                "changes": [r.as_dict() for r in checked.rows
                            if not r.errors and r.action != "unchanged"][:SHOWN]})
    session.add(upload)
    await session.flush()
    audit.record(session, actor, "headcount.validate", "upload", upload.id,
                 file=saved.original_name, status=upload.status, total=upload.total,
                 invalid=upload.invalid, **counts)
    log.info("head count %s validated: %d rows, %d invalid", upload.id, upload.total, upload.invalid)
    return upload
