"""A disposition saved, live: ``{"type": "disposition_saved", "call_id",
"agent_id", "work_item_id"}`` to the pages that see the agent (theirs, their
team lead's, manager's and admins'), so a supervisor's board ends the agent's
wrap-up without asking the database."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


async def disposition_saved(services, disposition) -> None:
    """Publish it if the live bus runs; never raises (a lost message costs the
    board its next snapshot, never the disposition)."""
    live = getattr(services, "live", None)
    if live is None or disposition.agent_id is None:
        return
    try:
        await live.publish({"type": "disposition_saved", "call_id": disposition.call_id,
                            "agent_id": disposition.agent_id, "work_item_id": disposition.work_item_id},
                           agent_id=disposition.agent_id)
    except Exception as error:  # noqa: BLE001 - Redis away: the board catches up at its next snapshot
        log.warning("publishing the disposition of call %s failed: %s", disposition.call_id, error)
