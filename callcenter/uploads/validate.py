"""The validation pass of a customer upload: read the saved file once,
streaming, and write (1) the full report CSV (row, status, mobile, reason),
(2) the rows to commit, staged as JSON lines beside the file, (3) the rejects
file: the rows left out with their original cells and reason
(callcenter/uploads/rejects.py), (4) an Upload row with the counts and the
first problems.

Row statuses: ``new`` (a customer to create), ``update`` (a customer who
exists: updated, not duplicated), ``duplicate`` (the same mobile as an
earlier row of the file: skipped, the first one counts), ``dnd`` (on the DND
list: excluded), ``invalid`` (a reason per problem: skipped). The upload is
``validated`` when at least one row can be committed (new + update: the
rest is skipped at the commit) and ``rejected`` when none can.

Nothing holds all rows: they are parsed in batches (in a worker thread, so
the server keeps answering) and looked up in the database per batch; the
mobiles already met (for the duplicates) are kept in a throw-away SQLite file
(callcenter/spreadsheets/seen.py), so memory does not grow with the file."""
from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.campaigns import service as campaigns
from callcenter.campaigns.exceptions import CampaignClosed
from callcenter.customers.models import Customer, DndNumber
from callcenter.org.models import Store
from callcenter.org.scope import Scope
from callcenter.spreadsheets import store as files
from callcenter.spreadsheets.exceptions import EmptySpreadsheet
from callcenter.spreadsheets.models import Upload
from callcenter.spreadsheets.seen import SeenNumbers
from callcenter.spreadsheets.spreadsheet import open_spreadsheet
from callcenter.uploads.customer_rows import RowChecker, StoreRef
from callcenter.uploads.rejects import RejectsWriter
from callcenter.work import scope as work_scope
from callcenter.work.models import WorkItem

log = logging.getLogger(__name__)

BATCH = 1000         # rows per parse batch and per IN (...) lookup


def _next_batch(rows, checker: RowChecker, seen: SeenNumbers) -> list:
    """Up to BATCH rows: (row, values or None, reasons, mobile, earlier row
    of that mobile, the row's cells as in the file)."""
    out = []
    for number, cells, original in rows:
        out.append((number, *checker.check(number, cells), original))
        if len(out) == BATCH:
            break
    firsts = iter(seen.first_rows([(mobile, number) for number, _, _, mobile, _ in out if mobile]))
    return [(number, row, reasons, mobile, next(firsts) if mobile else None, original)
            for number, row, reasons, mobile, original in out]


class _Tally:
    def __init__(self) -> None:
        self.total = self.invalid = self.duplicates = self.existing = self.dnd = 0
        self.new = self.in_campaign = 0
        self.invalid_rows: list[dict] = []
        self.skipped_rows: list[dict] = []

    def problem(self, kind: str, row: int, reason: str, mobile: str | None) -> None:
        shown = self.invalid_rows if kind == "invalid" else self.skipped_rows
        if len(shown) < files.SHOWN_PROBLEMS:
            shown.append({"row": row, "status": kind, "reason": reason, "mobile": mobile})


async def _lookups(session: AsyncSession, campaign_id: int, mobiles: list[str]):
    if not mobiles:
        return set(), set(), set()
    existing = set((await session.scalars(select(Customer.mobile).where(
        Customer.mobile.in_(mobiles)))).all())
    dnd = set((await session.scalars(select(DndNumber.number).where(
        DndNumber.number.in_(mobiles)))).all())
    in_campaign = set()
    if existing:
        in_campaign = set((await session.scalars(
            select(Customer.mobile).join(WorkItem, WorkItem.customer_id == Customer.id)
            .where(WorkItem.campaign_id == campaign_id, Customer.mobile.in_(list(existing))))).all())
    return existing, dnd, in_campaign


async def validate_customers(session: AsyncSession, scope: Scope, campaign_id: int,
                             saved: files.SavedFile, *, actor: str, settings,
                             today) -> Upload:
    """Validate a saved customer file for a campaign the caller manages; the
    Upload row is added and flushed (the caller commits). The saved file is
    deleted when the whole file is refused (not a spreadsheet, a column missing...)."""
    directory = settings.uploads_dir
    staged = files.staged_path(directory, saved.stored_name)
    report_file = files.report_path(directory, saved.stored_name)
    rejects_file = files.rejects_path(directory, saved.stored_name)
    try:
        campaign = await campaigns.get_managed(session, scope, campaign_id, work=work_scope)
        if campaign.status == "closed" or campaign.expires_on < today:
            raise CampaignClosed("the campaign is closed or expired: customers cannot be added",
                                 campaign_id=campaign_id)
        stores = {s.code: StoreRef(s.id, s.location_id, s.language, s.active)
                  for s in (await session.scalars(select(Store))).all()}
        checker = RowChecker(stores, location_id=campaign.location_id,
                             region=settings.calls.default_region, today=today)
        sheet = await asyncio.to_thread(open_spreadsheet, saved.path, "customers",
                                        name=saved.original_name, max_bytes=files.max_bytes(settings))
        with sheet, files.ReportWriter(report_file) as report, open(staged, "w") as stage, \
                RejectsWriter(rejects_file, sheet.headers) as rejects, SeenNumbers(directory) as seen:
            tally = await _pass(session, campaign.id, sheet, checker, seen, (report, stage, rejects))
        if tally.total == 0:
            raise EmptySpreadsheet("the file has a header but no customer rows")
    except BaseException:
        files.delete(directory, saved.stored_name)
        staged.unlink(missing_ok=True)
        raise
    to_commit = tally.total - tally.invalid - tally.duplicates - tally.dnd
    upload = Upload(
        kind="customers", campaign_id=campaign.id, original_name=saved.original_name,
        stored_name=saved.stored_name, status="validated" if to_commit else "rejected",
        total=tally.total, valid=tally.total - tally.invalid, invalid=tally.invalid,
        duplicates_in_file=tally.duplicates, duplicates_existing=tally.existing, dnd=tally.dnd,
        created_by=actor[:60],
        report={"sha256": saved.sha256, "size": saved.size, "format": sheet.format,
                "header_row": sheet.header_row, "columns": [c for c in sheet.columns if c],
                "headers": sheet.headers, "rejected": tally.invalid + tally.duplicates + tally.dnd,
                "extra_columns": sheet.extra_columns, "to_commit": to_commit, "new": tally.new,
                "already_in_campaign": tally.in_campaign, "invalid_rows": tally.invalid_rows,
                "skipped_rows": tally.skipped_rows})
    session.add(upload)
    await session.flush()
    audit.record(session, actor, "upload.validate", "upload", upload.id, kind="customers",
                 campaign_id=campaign.id, file=saved.original_name, status=upload.status,
                 total=upload.total, invalid=upload.invalid, duplicates=upload.duplicates_in_file,
                 existing=upload.duplicates_existing, dnd=upload.dnd)
    log.info("upload %s validated: %d rows, %d invalid", upload.id, upload.total, upload.invalid)
    return upload


async def _pass(session, campaign_id, sheet, checker, seen, writers) -> _Tally:
    tally = _Tally()
    rows = sheet.with_cells()
    # The next batch is parsed (in a thread) while this one is looked up.
    pending = asyncio.ensure_future(asyncio.to_thread(_next_batch, rows, checker, seen))
    try:
        while batch := await pending:
            pending = asyncio.ensure_future(asyncio.to_thread(_next_batch, rows, checker, seen))
            await _judge(session, campaign_id, batch, tally, writers)
    finally:
        # Let the thread finish before the file is closed; an error of its own
        # after ours is not news.
        await asyncio.wait([pending])
        if not pending.cancelled():
            pending.exception()
    return tally


async def _judge(session, campaign_id, batch, tally, writers) -> None:
    report, stage, rejects = writers
    mobiles = list({m for _, row, _, m, first, _ in batch if row is not None and first is None})
    existing, dnd, in_campaign = await _lookups(session, campaign_id, mobiles)
    for number, row, reasons, mobile, first, original in batch:
        tally.total += 1
        if first is not None:
            reasons = reasons + [f"the same mobile as row {first}"]
        if row is None:
            tally.invalid += 1
            reason = "; ".join(reasons)
            report.add(number, "invalid", reason, mobile)
            rejects.add(number, reason, original)
            tally.problem("invalid", number, reason, mobile)
        elif first is not None:
            tally.duplicates += 1
            reason = f"the same mobile as row {first}: skipped"
            report.add(number, "duplicate", reason, mobile)
            rejects.add(number, reason, original)
            tally.problem("duplicate", number, reason, mobile)
        elif mobile in dnd:
            tally.dnd += 1
            report.add(number, "dnd", "on the DND list: excluded", mobile)
            rejects.add(number, "on the DND list: excluded", original)
            tally.problem("dnd", number, "on the DND list: excluded", mobile)
        elif mobile in existing:
            tally.existing += 1
            note = "an existing customer: updated"
            if mobile in in_campaign:
                tally.in_campaign += 1
                note += "; already in this campaign"
            report.add(number, "update", note, mobile)
            stage.write(json.dumps(row.as_list(), separators=(",", ":")) + "\n")
        else:
            tally.new += 1
            report.add(number, "new", "", mobile)
            stage.write(json.dumps(row.as_list(), separators=(",", ":")) + "\n")
