"""The follow-up sweeper and the reminders loop.

``sweep`` moves future follow-ups whose time has passed, with no call placed
since the follow-up was set, to pending follow-up (one bulk UPDATE per chunk;
the ix_work_bucket_due index finds them). ``WorkLoop`` runs it every
``settings.work.sweep_interval`` seconds, then pushes to each agent's panel,
through the live bus (callcenter/live.py): ``bucket_counts`` when their
buckets changed, and ``reminder`` messages for newly missed follow-ups and
for items entering the reminder lead window (each once per item and time)."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import Call, utcnow
from callcenter.work import reminders
from callcenter.work.buckets import local_today
from callcenter.work.models import WorkItem

log = logging.getLogger(__name__)
CHUNK = 5000
MISSED_PUSHED_PER_AGENT = 10
_W = WorkItem.__table__


async def sweep(session: AsyncSession, now: dt.datetime) -> dict:
    """Move overdue follow-ups to pending follow-up. Returns ``{"moved": n,
    "agents": {agent id: n}, "item_ids": [...]}``; the caller commits."""
    call_since = exists().where(Call.work_item_id == WorkItem.id, Call.disposed_at.is_(None),
                                Call.requested_at >= WorkItem.updated_at)
    rows = (await session.execute(
        select(WorkItem.id, WorkItem.agent_id)
        .where(WorkItem.bucket == "future_followup", WorkItem.followup_at <= now, ~call_since))).all()
    moved, agents, item_ids = 0, Counter(), []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        result = await session.execute(
            update(_W).where(_W.c.id.in_([r.id for r in chunk]), _W.c.bucket == "future_followup",
                             _W.c.followup_at <= now)
            .values(bucket="pending_followup", updated_at=now))
        moved += result.rowcount
        for row in chunk:
            item_ids.append(row.id)
            if row.agent_id is not None:
                agents[row.agent_id] += 1
    if moved:
        log.info("sweeper: %d follow-ups missed, moved to pending follow-up", moved)
    return {"moved": moved, "agents": dict(agents), "item_ids": item_ids}


async def publish(services, event: dict, user_ids) -> None:
    """services.live.publish(event, user_ids=...) if the live bus runs; never raises."""
    live = getattr(services, "live", None)
    send = getattr(live, "publish", None)
    if send is None or not user_ids:
        return
    try:
        result = send(event, user_ids=list(user_ids))
        if hasattr(result, "__await__"):
            await result
    except Exception:  # noqa: BLE001 - a lost nudge costs a refresh, never the loop
        log.exception("publishing %s failed", event.get("type"))


async def nudge(services, *agent_ids) -> None:
    """Tell the agents' open pages that bucket counts changed (if the hub runs;
    never raises: a lost nudge costs a refresh, never the disposition)."""
    await publish(services, {"type": "bucket_counts"}, {a for a in agent_ids if a is not None})


class WorkLoop:
    """Sweeps and reminds every ``settings.work.sweep_interval`` seconds; a
    failed pass is counted by ``failed(loop name, error)``."""

    def __init__(self, settings, sessions, live, failed) -> None:
        self.settings = settings
        self.sessions = sessions
        self.live = live
        self.failed = failed
        self.sent: dict = {}  # (item id, due time) -> due time: reminders already pushed

    async def run(self) -> None:
        interval = max(1.0, float(self.settings.work.sweep_interval))
        while True:
            try:
                await self.tick(utcnow())
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the loop must outlive one bad tick
                self.failed("work", error)
            await asyncio.sleep(interval)

    async def tick(self, now: dt.datetime) -> dict:
        settings = self.settings
        tz = settings.web.timezone
        today = local_today(tz)
        async with self.sessions() as session:
            swept = await sweep(session, now)
            await session.commit()
            missed = await reminders.describe_items(session, swept["item_ids"][:2000], tz)
            due = await reminders.entering(session, now, settings.work.reminder_lead_minutes,
                                           self.sent, today=today, tz=tz)
        await publish(self, {"type": "bucket_counts"}, swept["agents"])
        missed_by_agent: dict[int, list] = {}
        for entry in missed:
            if entry["agent_id"] is not None:
                missed_by_agent.setdefault(entry["agent_id"], []).append(entry)
        for agent_id, items in missed_by_agent.items():
            await publish(self, reminders.message(items[:MISSED_PUSHED_PER_AGENT]), [agent_id])
        for agent_id, items in due.items():
            await publish(self, reminders.message(items), [agent_id])
        return {"moved": swept["moved"], "reminded": sum(len(v) for v in due.values())}
