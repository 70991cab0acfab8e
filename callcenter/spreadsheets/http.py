"""The web side of an uploaded spreadsheet, for the features that take one
(customer uploads, DND imports): receiving the file, and the JSON of its
Upload row. No routes of its own."""
from __future__ import annotations

import datetime as dt

from aiohttp import web

from callcenter.spreadsheets import store
from callcenter.spreadsheets.exceptions import SpreadsheetError, TooLarge
from web import csrf
from web.keys import SERVICES

FILE_FIELD = "file"


async def receive_file(request: web.Request) -> store.SavedFile:
    """The multipart field ``file`` saved under a server-made name (a page's
    form has its ``_csrf`` field first: web.csrf checks it)."""
    settings = request.app[SERVICES].settings
    limit = store.max_bytes(settings)
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise TooLarge(f"the file is larger than {settings.work.upload_max_mb} MB", max_bytes=limit)
    if request.content_type != "multipart/form-data":
        raise SpreadsheetError("send the file as multipart/form-data in the field 'file'")
    reader = await csrf.multipart(request)
    while (part := await reader.next()) is not None:
        if part.name == FILE_FIELD and part.filename:
            return await store.save_part(part, settings.uploads_dir, limit)
        await part.release()
    raise SpreadsheetError("no file: send it in the multipart field 'file'")


def _iso(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def upload_json(upload, *, problems: bool = True) -> dict:
    """A customer or DND upload (an Upload row) as the API shows it."""
    report = upload.report or {}
    out = {"id": upload.id, "kind": upload.kind, "campaign_id": upload.campaign_id,
           "file": upload.original_name, "status": upload.status, "total": upload.total,
           "valid": upload.valid, "invalid": upload.invalid,
           "duplicates_in_file": upload.duplicates_in_file,
           "duplicates_existing": upload.duplicates_existing, "dnd": upload.dnd,
           "to_commit": report.get("to_commit"), "new": report.get("new"),
           "already_in_campaign": report.get("already_in_campaign"),
           "columns": report.get("columns", []), "extra_columns": report.get("extra_columns", []),
           "committed": report.get("committed"), "created_by": upload.created_by,
           "created_at": _iso(upload.created_at), "committed_at": _iso(upload.committed_at),
           "report_url": f"/api/v1/uploads/{upload.id}/report.csv"}
    if "headers" in report:   # a customer upload that kept its rejects file
        out.update({"rejected": report.get("rejected", 0), "headers": report["headers"],
                    "rejects_csv_url": f"/api/v1/uploads/{upload.id}/rejects.csv",
                    "rejects_xlsx_url": f"/api/v1/uploads/{upload.id}/rejects.xlsx"})
    if problems:
        out["invalid_rows"] = report.get("invalid_rows", [])
        out["skipped_rows"] = report.get("skipped_rows", [])
    return out
