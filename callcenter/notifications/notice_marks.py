"""A timed notice made once on any number of servers: a NoticeMark (event,
entity, id, for_at) inserted in the same savepoint as the notice's outbox
rows; a unique-key clash means another server made it."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import String, cast, exists
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.notifications.models import NoticeMark

log = logging.getLogger(__name__)


def marked(event: str, entity: str, entity_id, for_at):
    """Whether the notice ``event`` of this row and time was made (the
    unique key's index answers it)."""
    return exists().where(NoticeMark.event == event, NoticeMark.entity == entity,
                          NoticeMark.entity_id == cast(entity_id, String), NoticeMark.for_at == for_at)


async def once(session: AsyncSession, event: str, entity: str, entity_id, for_at: dt.datetime,
                outcome: str, now: dt.datetime, make: Callable[[], Awaitable] | None) -> bool:
    """Mark the notice and (``make``) queue its messages, in a savepoint;
    False when another server marked it first or making it failed."""
    try:
        async with session.begin_nested():
            session.add(NoticeMark(event=event, entity=entity, entity_id=str(entity_id), for_at=for_at,
                                   outcome=outcome, created_at=now))
            await session.flush()
            if make is not None:
                await make()
    except IntegrityError:
        return False        # another server made it
    except Exception:       # noqa: BLE001 - one bad notice must not hold back the others; tried again next pass
        log.warning("%s for %s %s failed; tried again next pass", event, entity, entity_id, exc_info=True)
        return False
    return True
