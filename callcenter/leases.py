"""The claim and lease of an outbox row, shared by the notification outbox
(callcenter/notifications/outbox.py) and the webhook deliveries
(callcenter/webhooks/deliveries.py).

A row's life: ``pending`` (due at ``next_attempt_at``) -> ``sending`` (claimed
by one process with a conditional UPDATE, which also pushes
``next_attempt_at`` to the end of a lease) -> done, or back to ``pending``
with an exponential :func:`backoff`, or ``failed``. A ``sending`` row whose
lease ran out (its process died mid-send) is claimable again, so a message is
sent at least once, never lost; the lease's end doubles as the claim's token,
so a late finisher never overwrites a newer claim (:func:`settle`).

The table needs ``id``, ``status`` and ``next_attempt_at`` columns (and an
index on ``status, next_attempt_at``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Table, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

CLAIMABLE = ("pending", "sending")


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: base, 2*base, 4*base... up to cap."""
    return min(cap, base * (2 ** max(0, attempts - 1)))


def claimable(table: Table, now: dt.datetime):
    return and_(table.c.status.in_(CLAIMABLE), table.c.next_attempt_at <= now)


async def due(session: AsyncSession, table: Table, now: dt.datetime, limit: int, *where) -> list[int]:
    """Ids of rows ready to send, the longest waiting first."""
    rows = await session.execute(select(table.c.id).where(claimable(table, now), *where)
                                 .order_by(table.c.next_attempt_at, table.c.id).limit(limit))
    return [r.id for r in rows]


async def claim(session: AsyncSession, table: Table, row_id: int, now: dt.datetime,
                lease_until: dt.datetime) -> bool:
    """Take the row until ``lease_until``; False when another process took it
    first (the UPDATE's condition no longer holds)."""
    result = await session.execute(
        update(table).where(table.c.id == row_id, claimable(table, now))
        .values(status="sending", next_attempt_at=lease_until))
    return result.rowcount == 1


async def settle(session: AsyncSession, table: Table, row_id: int, lease_until: dt.datetime,
                 values: dict) -> bool:
    """Write the row's next state if this claim still holds it; False when the
    lease ran out and another process took the row over."""
    result = await session.execute(
        update(table).where(table.c.id == row_id, table.c.status == "sending",
                            table.c.next_attempt_at == lease_until).values(**values))
    return result.rowcount == 1
