"""What /metrics says about the server's dependencies, looked at by a loop
(``probes``, every PROBE_INTERVAL seconds): the database and Redis answer
(``callcenter_database_up``, ``callcenter_redis_up``), and the dispositions
agents still owe (``callcenter_dispositions_owed``: calls placed from a work
item that ended without one; ``callcenter_dispositions_owed_oldest_seconds``).

The scrape itself never waits on the database: it reads the last probe."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select, text

from callcenter.models import Call
from callcenter.orm import utcnow

log = logging.getLogger(__name__)
PROBE_INTERVAL = 15.0


async def database_up(sessions) -> bool:
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means down
        return False


async def redis_up(redis) -> bool:
    try:
        return bool(await redis.ping())
    except Exception:  # noqa: BLE001
        return False


async def owed_dispositions(sessions, now: dt.datetime | None = None) -> tuple[int, float]:
    """(how many, age in seconds of the oldest) ended work-item calls without a disposition."""
    async with sessions() as session:
        count, oldest = (await session.execute(select(func.count(), func.min(Call.ended_at)).where(
            Call.work_item_id.is_not(None), Call.disposed_at.is_(None), Call.state == "ended"))).one()
    if not count or oldest is None:
        return int(count or 0), 0.0
    if oldest.tzinfo is None:  # SQLite gives naive UTC back
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    return int(count), max(0.0, ((now or utcnow()) - oldest).total_seconds())


async def probe(services) -> None:
    """One look at the dependencies; the gauges keep the answers till the next."""
    m = services.metrics
    db_up = await database_up(services.sessions)
    m.database_up.set(1 if db_up else 0)
    m.redis_up.set(1 if await redis_up(services.redis) else 0)
    if db_up:
        count, oldest = await owed_dispositions(services.sessions)
        m.dispositions_owed.set(count)
        m.dispositions_owed_oldest.set(oldest)
