"""Committing a validated customer upload: its valid rows (new + update), all
of them or none, in ONE transaction; the rows the validation left out
(invalid, repeated in the file, on the DND list) are skipped and counted, and
are in the upload's rejects file (callcenter/uploads/rejects.py).

Refused (nothing written) when no row can be committed, when ``strict`` and
a row is invalid (today's all-or-nothing for the API), when it was committed
already, its campaign is closed or expired, or its file changed since the
validation. Otherwise the staged rows are applied in chunks with bulk
statements: customers upserted by E.164 mobile (an existing one is updated:
the file's non-empty cells replace theirs, extra columns merge into
``data``), one fresh unallocated WorkItem per customer not yet in the
campaign (the customer's store and language copied), numbers that joined the
DND list since the validation skipped. Then, in a second transaction, the
campaign's unallocated items may be allocated (``work.allocation.allocate``):
an allocation that fails does not undo the committed customers."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.campaigns import service as campaigns
from callcenter.campaigns.models import Campaign
from callcenter.customers.models import Customer, DndNumber
from callcenter.errors import DomainError
from callcenter.models import User, utcnow
from callcenter.notifications.notify import notify
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.exceptions import UploadNotCommittable, UploadNotFound
from callcenter.spreadsheets.models import Upload
from callcenter.uploads.customer_rows import CustomerRow
from callcenter.work import scope as work_scope
from callcenter.work.allocation import allocate as allocate_items
from callcenter.work.models import WorkItem

log = logging.getLogger(__name__)
CHUNK = 500
ALLOCATIONS = ("none", "store", "language", "round_robin")
_C = Customer.__table__
_UPDATE = (update(_C).where(_C.c.id == bindparam("_id")).values(
    name=func.coalesce(bindparam("_name"), _C.c.name),
    store_id=func.coalesce(bindparam("_store_id"), _C.c.store_id),
    language=func.coalesce(bindparam("_language"), _C.c.language),
    city=func.coalesce(bindparam("_city"), _C.c.city),
    email=func.coalesce(bindparam("_email"), _C.c.email),
    alternate_mobile=func.coalesce(bindparam("_alternate_mobile"), _C.c.alternate_mobile),
    birthday=func.coalesce(bindparam("_birthday"), _C.c.birthday),
    anniversary=func.coalesce(bindparam("_anniversary"), _C.c.anniversary),
    data=bindparam("_data", type_=_C.c.data.type), updated_at=bindparam("_now")))


def _read_chunks(path):
    with open(path) as f:
        chunk = []
        for line in f:
            chunk.append(CustomerRow.from_list(json.loads(line)))
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def rejects_urls(upload_id: int) -> dict:
    return {"rejects_csv_url": f"/api/v1/uploads/{upload_id}/rejects.csv",
            "rejects_xlsx_url": f"/api/v1/uploads/{upload_id}/rejects.xlsx"}


def skipped_counts(upload: Upload) -> dict:
    """The rows the commit leaves out, by reason (all are in the rejects file)."""
    return {"invalid": upload.invalid, "duplicate": upload.duplicates_in_file, "dnd": upload.dnd}


async def _claim(session: AsyncSession, scope: Scope, upload_id: int, settings, today,
                 strict: bool = False) -> Upload:
    upload = await session.get(Upload, upload_id)
    if upload is None or upload.kind != "customers" or upload.campaign_id is None:
        raise UploadNotFound("no such upload", upload_id=upload_id)
    campaign = await campaigns.get_managed(session, scope, upload.campaign_id, work=work_scope)
    if upload.status == "committed":
        raise UploadNotCommittable("the upload was committed already", upload_id=upload_id,
                                   reason="committed")
    if upload.status != "validated" and not (upload.report or {}).get("to_commit"):
        raise UploadNotCommittable(
            f"none of the upload's {upload.total} row(s) can be committed (invalid, repeated in "
            "the file or on the DND list): fix them in the rejects file and upload it again "
            "(nothing was committed)", upload_id=upload_id, reason="no_valid_rows")
    if upload.invalid and (strict or upload.status == "rejected"):
        raise UploadNotCommittable(
            f"the upload has {upload.invalid} invalid row(s): fix them and upload the file again "
            "(nothing was committed)", upload_id=upload_id, reason="invalid_rows")
    reason = None
    if campaign.status == "closed" or campaign.expires_on < today:
        reason = "campaign_closed"
    else:
        path = files.stored_path(settings.uploads_dir, upload.stored_name)
        staged = files.staged_path(settings.uploads_dir, upload.stored_name)
        if not (path.exists() and staged.exists()) or \
                await asyncio.to_thread(files.file_sha256, path) != upload.report.get("sha256"):
            reason = "file_changed"
    if reason:
        message = {"campaign_closed": "the campaign is closed or expired",
                   "file_changed": "the uploaded file changed or is gone since it was validated: "
                                   "upload it again"}[reason]
        raise UploadNotCommittable(message, upload_id=upload_id, reason=reason)
    # Claim it: a second commit running at the same time finds it taken.
    claimed = await session.execute(update(Upload).where(Upload.id == upload_id,
                                                         Upload.status == "validated")
                                    .values(status="committing"))
    if claimed.rowcount != 1:
        raise UploadNotCommittable("the upload is being committed already", upload_id=upload_id,
                                   reason="committed")
    return upload


async def _apply(session: AsyncSession, campaign_id: int, rows: list[CustomerRow], now, counts) -> None:
    mobiles = [r.mobile for r in rows]
    dnd = set((await session.scalars(select(DndNumber.number).where(
        DndNumber.number.in_(mobiles)))).all())
    if dnd:
        counts["dnd_since_validation"] += len(dnd)
        rows = [r for r in rows if r.mobile not in dnd]
    found = {m: (i, s, lang, data) for i, m, s, lang, data in (await session.execute(
        select(_C.c.id, _C.c.mobile, _C.c.store_id, _C.c.language, _C.c.data)
        .where(_C.c.mobile.in_([r.mobile for r in rows])))).all()}
    updates, inserts = [], []
    for r in rows:
        if r.mobile in found:
            old = found[r.mobile][3] or {}
            updates.append({"_id": found[r.mobile][0], "_name": r.name, "_store_id": r.store_id,
                            "_language": r.language, "_city": r.city, "_email": r.email,
                            "_alternate_mobile": r.alternate_mobile, "_birthday": r.birthday,
                            "_anniversary": r.anniversary, "_data": {**old, **(r.data or {})},
                            "_now": now})
        else:
            inserts.append({"mobile": r.mobile, "name": r.name or "", "email": r.email,
                            "alternate_mobile": r.alternate_mobile, "store_id": r.store_id,
                            "language": r.language or r.store_language, "city": r.city,
                            "birthday": r.birthday, "anniversary": r.anniversary,
                            "data": r.data or {}, "created_at": now, "updated_at": now})
    if updates:
        await session.execute(_UPDATE, updates)
    if inserts:
        await session.execute(insert(_C), inserts)
        new = (await session.execute(select(_C.c.id, _C.c.mobile, _C.c.store_id, _C.c.language)
                                     .where(_C.c.mobile.in_([i["mobile"] for i in inserts])))).all()
        found.update({m: (i, s, lang, None) for i, m, s, lang in new})
    counts["updated"] += len(updates)
    counts["created"] += len(inserts)
    ids = {found[r.mobile][0]: r for r in rows}
    have = set((await session.scalars(select(WorkItem.customer_id).where(
        WorkItem.campaign_id == campaign_id, WorkItem.customer_id.in_(list(ids))))).all())
    items = []
    for customer_id, r in ids.items():
        if customer_id in have:
            continue
        _, old_store, old_language, _ = found[r.mobile]
        items.append({"campaign_id": campaign_id, "customer_id": customer_id, "agent_id": None,
                      "bucket": "fresh", "store_id": r.store_id or old_store,
                      "language": r.language or old_language or r.store_language, "attempts": 0,
                      "created_at": now, "updated_at": now})
    if items:
        await session.execute(insert(WorkItem.__table__), items)
    counts["work_items"] += len(items)
    counts["already_in_campaign"] += len(have)


async def commit_customers(session: AsyncSession, scope: Scope, upload_id: int, *, actor: str,
                           settings, today: dt.date, strict: bool = False) -> dict:
    """Apply the upload's valid rows in ``session``'s transaction (the caller
    commits it, or rolls everything back on an error)."""
    upload = await _claim(session, scope, upload_id, settings, today, strict)
    now = utcnow()
    counts = {"created": 0, "updated": 0, "work_items": 0, "already_in_campaign": 0,
              "dnd_since_validation": 0}
    chunks = _read_chunks(files.staged_path(settings.uploads_dir, upload.stored_name))
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        await _apply(session, upload.campaign_id, chunk, now, counts)
    counts["rows_committed"] = counts["created"] + counts["updated"]
    counts["skipped"] = skipped_counts(upload)
    await session.execute(update(Upload).where(Upload.id == upload_id).values(
        status="committed", committed_at=now, report={**upload.report, "committed": counts}))
    audit.record(session, actor, "upload.commit", "upload", upload_id,
                 campaign_id=upload.campaign_id, strict=strict,
                 **{k: v for k, v in counts.items() if k != "skipped"},
                 **{f"skipped_{k}": v for k, v in counts["skipped"].items()})
    await _tell_operator(session, settings, scope, upload, counts["rows_committed"], now)
    log.info("upload %s committed: %s", upload_id, counts)
    return counts


async def _tell_operator(session: AsyncSession, settings, scope: Scope, upload: Upload, rows: int, now) -> None:
    """``upload.committed`` to the person who committed it (in-app, e-mail)."""
    operator = await session.get(User, scope.user_id) if scope.user_id is not None else None
    if operator is None:
        return
    campaign = await session.get(Campaign, upload.campaign_id)
    await notify(session, settings, "upload.committed", people=[operator], entity="upload", entity_id=upload.id,
                 now=now, context={"person_name": operator.display_name or operator.name,
                                   "upload_name": upload.original_name, "rows": rows,
                                   "campaign": campaign.name if campaign else "", "link": f"/uploads/{upload.id}"})


async def commit_and_allocate(sessions, scope: Scope, upload_id: int, *, actor: str, settings,
                              today: dt.date, allocate: str = "none", team_id: int | None = None,
                              agent_ids: list[int] | None = None, strict: bool = False) -> dict:
    """Commit (one transaction), then allocate the campaign's unallocated items
    ``allocate`` ('none', 'store', 'language', 'round_robin' with a team or agents).
    ``strict``: refuse when any row is invalid instead of skipping it."""
    if allocate not in ALLOCATIONS:
        raise UploadNotCommittable(f"allocate must be one of {', '.join(ALLOCATIONS)}",
                                   reason="invalid_allocation")
    async with sessions() as session:
        counts = await commit_customers(session, scope, upload_id, actor=actor, settings=settings,
                                        today=today, strict=strict)
        campaign_id = (await session.get(Upload, upload_id)).campaign_id
        await session.commit()
    result = {"upload_id": upload_id, "status": "committed", **counts, **rejects_urls(upload_id),
              "allocation": None}
    if allocate == "none":
        return result
    async with sessions() as session:
        try:
            done = await allocate_items(session, scope, campaign_id, allocate, actor=actor,
                                        team_id=team_id, agent_ids=agent_ids, today=today,
                                        timezone=settings.web.timezone)
            result["allocation"] = {"how": allocate, "allocated": done.allocated,
                                    "unallocated": done.unallocated, "reasons": done.reasons}
        except DomainError as exc:
            await session.rollback()
            result["allocation"] = {"how": allocate, "error": exc.error_id, "message": exc.message}
        upload = await session.get(Upload, upload_id)
        upload.report = {**upload.report, "allocation": result["allocation"]}
        await session.commit()
    return result
