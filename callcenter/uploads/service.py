"""Uploads the caller may see, their JSON, and their report files.

A customer upload belongs to a campaign: it is seen by those who manage the
campaign (its location's manager, admins). DND uploads are seen by managers
and admins. (Head-count uploads are the organisation's: see callcenter/org.)"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Upload
from callcenter.org.scope import Scope
from callcenter.uploads import store as files
from callcenter.uploads.exceptions import UploadNotFound

KINDS = ("customers", "dnd")


def visible(scope: Scope):
    """Clause on Upload: the customer and DND uploads the caller may see."""
    if scope.sees_all:
        return Upload.kind.in_(KINDS)
    if scope.role != "manager" or scope.user_id is None:
        return false()
    own = false()
    if scope.location_id is not None:
        own = Upload.campaign_id.in_(select(Campaign.id).where(Campaign.location_id == scope.location_id))
    return (Upload.kind == "dnd") | ((Upload.kind == "customers") & own)


async def list_uploads(session: AsyncSession, scope: Scope, *, campaign_id: int | None = None,
                       kind: str | None = None, limit: int = 50, offset: int = 0) -> list[Upload]:
    query = select(Upload).where(visible(scope))
    if campaign_id is not None:
        query = query.where(Upload.campaign_id == campaign_id)
    if kind is not None:
        query = query.where(Upload.kind == kind)
    return list((await session.scalars(query.order_by(Upload.id.desc()).limit(limit)
                                       .offset(offset))).all())


async def count_uploads(session: AsyncSession, scope: Scope, *, kind: str | None = None) -> int:
    query = select(func.count()).select_from(Upload).where(visible(scope))
    if kind is not None:
        query = query.where(Upload.kind == kind)
    return await session.scalar(query)


async def get_upload(session: AsyncSession, scope: Scope, upload_id: int) -> Upload:
    upload = (await session.scalars(select(Upload).where(Upload.id == upload_id,
                                                         visible(scope)))).first()
    if upload is None:
        raise UploadNotFound("no such upload", upload_id=upload_id)
    return upload


def report_file(settings, upload: Upload):
    """The path of the upload's full report CSV (UploadNotFound when gone)."""
    path = files.report_path(settings.uploads_dir, upload.stored_name)
    if not path.exists():
        raise UploadNotFound("the report of this upload is gone", upload_id=upload.id)
    return path


def _iso(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def upload_json(upload: Upload, *, problems: bool = True) -> dict:
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
    if problems:
        out["invalid_rows"] = report.get("invalid_rows", [])
        out["skipped_rows"] = report.get("skipped_rows", [])
    return out
