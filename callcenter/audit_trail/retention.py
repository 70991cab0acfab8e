"""Retention: audit rows older than ``[audit] retention_days`` are removed,
oldest first, by a sweeper every hour, and one ``audit.pruned`` row says so
(how many, the ids, the last one's hash).

A pass is one transaction that takes the chain's lock first (so two
servers' passes run one after the other, and the second finds nothing
left), removes at most ``BATCH`` rows from the oldest on, moves the chain's
anchor to the last row removed (its id and hash: the oldest kept row chains
from it, so ``audit verify`` still passes) and writes its row. A backlog
(the first pass after years) is worked off a pass at a time with a pause
between, so other writers are never kept out for long. A pass that fails
is counted by the loop (``loops.every``) and the next comes on time."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from callcenter import audit, audit_chain
from callcenter.audit_trail.verify import PRUNED
from callcenter.models import AuditChain, AuditEntry, utcnow

log = logging.getLogger(__name__)
INTERVAL = 3600.0         # seconds between sweeps
BATCH = 20_000            # rows removed by one pass (one transaction)
PAUSE = 0.5               # seconds between the passes of a backlog
MAX_PASSES = 500          # a sweep stops there; the next goes on
ACTOR = "system:retention"
_A = AuditEntry.__table__
_H = AuditChain.__table__


@dataclass(frozen=True)
class Pruned:
    count: int
    from_id: int
    through_id: int


async def prune_pass(sessions, retention_days: int, *, now: dt.datetime | None = None,
                     batch: int = BATCH, up_to: int | None = None) -> Pruned | None:
    """Remove up to ``batch`` of the oldest rows written before the retention
    period began (and not after row ``up_to``), with their ``audit.pruned``
    row; None when there were none."""
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    async with sessions() as session:
        if await session.scalar(select(_A.c.id).where(_A.c.at < cutoff).limit(1)) is None:
            return None  # the usual case: nothing to do, no lock taken
        connection = await session.connection()
        await connection.run_sync(audit_chain.lock_head)
        head = (await session.execute(select(_H.c.pruned_through_id).where(_H.c.id == audit_chain.HEAD_ID))).one()
        anchor = head.pruned_through_id
        first_kept = await session.scalar(select(func.min(_A.c.id)).where(_A.c.at >= cutoff, _A.c.id > anchor))
        limit = anchor + batch if first_kept is None else min(first_kept - 1, anchor + batch)
        limit = limit if up_to is None else min(limit, up_to)
        span = (await session.execute(select(func.min(_A.c.id), func.max(_A.c.id), func.count())
                                      .where(_A.c.id > anchor, _A.c.id <= limit))).one()
        if not span[2]:
            return None
        from_id, through_id = span[0], span[1]
        through_hash = await session.scalar(select(_A.c.hash).where(_A.c.id == through_id))
        removed = (await session.execute(delete(_A).where(_A.c.id > anchor, _A.c.id <= through_id))).rowcount
        await session.execute(update(_H).where(_H.c.id == audit_chain.HEAD_ID)
                              .values(pruned_through_id=through_id, pruned_hash=through_hash))
        audit.record(session, ACTOR, PRUNED, "audit_log", f"{from_id}-{through_id}", count=removed,
                     from_id=from_id, through_id=through_id, through_hash=through_hash,
                     before=audit_chain.utc_text(cutoff), retention_days=retention_days)
        await session.commit()
    log.info("audit retention: %d rows removed (%d-%d, older than %d days)", removed, from_id, through_id,
             retention_days)
    return Pruned(removed, from_id, through_id)


async def sweep(sessions, retention_days: int, *, batch: int = BATCH, pause: float = PAUSE) -> int:
    """Passes until nothing is older than the period (or MAX_PASSES); rows
    removed. The rows of its own passes are left to the next sweep."""
    async with sessions() as session:
        up_to = await session.scalar(select(_H.c.last_id).where(_H.c.id == audit_chain.HEAD_ID))
    total = 0
    for _ in range(MAX_PASSES):
        pruned = await prune_pass(sessions, retention_days, batch=batch, up_to=up_to)
        if pruned is None:
            break
        total += pruned.count
        if pruned.count < batch:
            break
        await asyncio.sleep(pause)  # let the other writers in
    return total


async def start(settings, sessions, loops) -> None:
    days = settings.audit.retention_days
    loops.every("audit.retention", INTERVAL, lambda: sweep(sessions, days), first=True, once=True)
