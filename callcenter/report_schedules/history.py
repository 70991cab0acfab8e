"""What a schedule did: its daily runs (``scheduled_runs``: status, attempts,
error, what it mailed) and the mails it produced with their delivery state
and every attempt (``notifications`` / ``notification_attempts``)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.clock import utc_iso
from callcenter.models import ScheduledRun
from callcenter.notifications import outbox
from callcenter.notifications.models import Notification
from callcenter.report_schedules.mailing import ENTITY, job_name
from callcenter.report_schedules.models import ReportSchedule

RUNS = 14
MAILS = 50


def schedule_json(row: ReportSchedule) -> dict:
    return {"id": row.id, "name": row.name, "report": row.report, "campaign_id": row.campaign_id,
            "period": row.period, "formats": row.formats, "roles": row.role_list, "emails": row.email_list,
            "send_at": row.send_at, "active": row.active, "owner_id": row.owner_id,
            "created_at": utc_iso(row.created_at), "updated_at": utc_iso(row.updated_at)}


def run_json(run: ScheduledRun) -> dict:
    return {"day": run.day.isoformat(), "status": run.status, "attempts": run.attempts,
            "started_at": utc_iso(run.started_at), "finished_at": utc_iso(run.finished_at),
            "error": run.error, "detail": run.detail or {}}


async def runs(session: AsyncSession, schedule_ids: list[int], limit: int = RUNS) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {i: [] for i in schedule_ids}
    jobs = {job_name(i): i for i in schedule_ids}
    if jobs:
        rows = (await session.scalars(select(ScheduledRun).where(ScheduledRun.job.in_(list(jobs)))
                                      .order_by(ScheduledRun.day.desc(), ScheduledRun.id.desc()))).all()
        for run in rows:
            if len(out[jobs[run.job]]) < limit:
                out[jobs[run.job]].append(run_json(run))
    return out


async def mails(session: AsyncSession, schedule_id: int, limit: int = MAILS) -> list[dict]:
    rows = (await session.scalars(
        select(Notification).where(Notification.entity == ENTITY, Notification.entity_id == str(schedule_id))
        .order_by(Notification.id.desc()).limit(limit))).all()
    ids = [r.id for r in rows]
    attempts = await outbox.attempts_of(session, ids)
    files = await outbox.attachments_of(session, ids, content=False)
    return [{"id": r.id, "recipient": r.recipient, "subject": r.subject, "status": r.status,
             "attempts": r.attempts, "created_at": utc_iso(r.created_at), "sent_at": utc_iso(r.sent_at),
             "next_attempt_at": utc_iso(r.next_attempt_at) if r.status in ("pending", "sending") else None,
             "files": [{"filename": f.filename, "size": f.size} for f in files[r.id]],
             "attempt_log": [{"at": utc_iso(a.at), "provider": a.provider, "ok": a.ok, "error": a.error}
                             for a in attempts[r.id]]} for r in rows]
