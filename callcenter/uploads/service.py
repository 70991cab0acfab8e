"""Uploads the caller may see, and their report files (their JSON:
callcenter/spreadsheets/http.py).

A customer upload belongs to a campaign: it is seen by those who manage the
campaign (its location's manager, admins). DND uploads are seen by managers
and admins. (Head-count uploads are the organisation's: see callcenter/headcount.)"""
from __future__ import annotations

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import Campaign
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.exceptions import UploadNotFound
from callcenter.spreadsheets.models import Upload

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


def rejects_file(settings, upload: Upload):
    """The path of the customer upload's rejects CSV (UploadNotFound when it
    has none: a DND upload, or one validated before rejects files were kept)."""
    if upload.kind != "customers":
        raise UploadNotFound("only a customer upload has a rejects file", upload_id=upload.id)
    path = files.rejects_path(settings.uploads_dir, upload.stored_name)
    if not path.exists():
        raise UploadNotFound("the rejects file of this upload is gone", upload_id=upload.id)
    return path
