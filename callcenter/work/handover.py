"""Handing over the open work of users who left, moved or were disabled
(the users feature gets it as ``hand_over``: from callcenter/work/feature.py,
which declares the users' disable routes, and from the CLI; the head count
calls it).

Their open work items (every bucket but 'closed') go to the allocation's
``reallocate_from_agents`` (callcenter/work/allocation.py); whatever is
still theirs afterwards is released (``agent_id`` NULL, back in the
unallocated pool a manager allocates), so nobody who left keeps customers."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.work.allocation import reallocate_from_agents
from callcenter.work.models import WorkItem

log = logging.getLogger(__name__)


def _open_of(agent_ids: list[int]):
    return (WorkItem.agent_id.in_(agent_ids), WorkItem.bucket != "closed")


async def hand_over_work(session: AsyncSession, agent_ids: Iterable[int], *,
                         actor: str) -> tuple[int, int]:
    """Re-allocate the open work of ``agent_ids``; returns (re-allocated,
    left unallocated). Runs in the caller's transaction."""
    agent_ids = sorted(set(agent_ids))
    if not agent_ids:
        return 0, 0
    await session.flush()
    held = await session.scalar(select(func.count()).select_from(WorkItem).where(*_open_of(agent_ids)))
    if not held:
        return 0, 0
    moved = int(await reallocate_from_agents(session, agent_ids, actor=actor) or 0)
    await session.flush()
    released = await session.execute(
        update(WorkItem).where(*_open_of(agent_ids)).values(agent_id=None, allocated_at=None)
        .execution_options(synchronize_session=False))
    left = released.rowcount or 0
    # An item re-allocated to nobody (agent_id NULL) by the allocation counts as left too.
    if moved + left < held:
        left = held - moved
    return moved, left
