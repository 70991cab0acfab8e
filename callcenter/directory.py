"""An in-memory directory of active users and usable trunks for the click-to-call
hot path, so placing a call does not read them from the database each time.

It is reloaded from the database every ``interval`` seconds (2 s, like the PBX
config sync) by :meth:`Directory.run`. So a change made elsewhere (the CLI, another
process) shows here within that interval: a user disabled or a trunk removed may
still be used for up to ``interval`` seconds, and a change of an agent's phone
takes as long to apply. A name the directory does not know is looked up in the
database at once (and remembered), so a user or trunk added a moment ago works
on their very first call.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select

from callcenter.models import Trunk, User

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """What placing a call needs of a user (duck-types the User row)."""
    id: int
    name: str
    phone_mode: str | None
    sip_endpoint: str | None
    mobile: str | None
    pbx_node: str = "main"


@dataclass(frozen=True, slots=True)
class TrunkEntry:
    """What placing a call needs of a trunk (duck-types the Trunk row)."""
    id: int
    name: str
    pilot: str
    did_start: str
    did_end: str
    pbx_node: str = "main"


_AGENT_COLUMNS = (User.id, User.name, User.phone_mode, User.sip_endpoint, User.mobile, User.pbx_node)
_TRUNK_COLUMNS = (Trunk.id, Trunk.name, Trunk.pilot, Trunk.did_start, Trunk.did_end, Trunk.pbx_node)
_ACTIVE_USERS = select(*_AGENT_COLUMNS).where(User.active.is_(True))
_USABLE_TRUNKS = select(*_TRUNK_COLUMNS).where(Trunk.removed_at.is_(None)).order_by(Trunk.id)


class Directory:
    def __init__(self, sessions, interval: float = 2.0) -> None:
        self.sessions = sessions
        self.interval = interval
        self.agents: dict[str, AgentEntry] = {}
        self.trunks: dict[str, TrunkEntry] = {}   # by trunk id, lowest first
        self.loaded = False
        self.failed = None  # the server's Loops.failed, set by callcenter/services.py

    async def refresh(self) -> None:
        async with self.sessions() as session:
            users = (await session.execute(_ACTIVE_USERS)).all()
            trunks = (await session.execute(_USABLE_TRUNKS)).all()
        self.agents = {row.name: AgentEntry(*row) for row in users}
        self.trunks = {row.name: TrunkEntry(*row) for row in trunks}
        self.loaded = True

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # noqa: BLE001 - keep the last good copy; misses go to the database
                if self.failed is None:
                    log.exception("refreshing the agent/trunk directory failed")
                else:
                    self.failed("directory", error)
            await asyncio.sleep(self.interval)

    async def agent(self, name: str) -> AgentEntry | None:
        """The active user called ``name``, or None."""
        entry = self.agents.get(name)
        if entry is not None:
            return entry
        async with self.sessions() as session:
            row = (await session.execute(_ACTIVE_USERS.where(User.name == name))).first()
        if row is None:
            return None
        entry = self.agents[name] = AgentEntry(*row)
        return entry

    async def trunk(self, name: str | None = None, node: str | None = None) -> TrunkEntry | None:
        """The usable trunk called ``name``; with None the first one (lowest id),
        of those homed on ``node`` when it is given."""
        if name is None:
            homed = [trunk for trunk in self.trunks.values() if node is None or trunk.pbx_node == node]
            if homed:
                return min(homed, key=lambda trunk: trunk.id)
        else:
            entry = self.trunks.get(name)
            if entry is not None:
                return entry
        query = _USABLE_TRUNKS if name is None else _USABLE_TRUNKS.where(Trunk.name == name)
        if name is None and node is not None:
            query = query.where(Trunk.pbx_node == node)
        async with self.sessions() as session:
            row = (await session.execute(query.limit(1))).first()
        if row is None:
            return None
        entry = TrunkEntry(*row)
        if name is not None:
            self.trunks[name] = entry
        return entry
