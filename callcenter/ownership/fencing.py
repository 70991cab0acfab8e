"""The database's side of the PBX lease: a write of call rows carries its
owner's fencing token, and the database refuses it once a newer owner wrote.

``pbx_owners`` holds one row per PBX node with the newest token seen. In the
writer's own transaction, :func:`claim` inserts the node's row if absent, then
``UPDATE pbx_owners SET token = :t ... WHERE node = :n AND token <= :t``; no
row matched means a newer owner has written, and :class:`StaleOwner` is
raised, which rolls the whole transaction back. The UPDATE's row lock (on
PostgreSQL; SQLite has one writer at a time) orders two owners' transactions,
so once the newer owner's write is committed, the older one's never is."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from callcenter.models import PbxOwner, utcnow

OWNERS = PbxOwner.__table__


class StaleOwner(Exception):
    """A newer owner of this PBX node has written: this one's write is refused."""


@dataclass(frozen=True)
class Fence:
    """What a fenced write carries: the node, the writer's token and who it is."""
    node: str
    token: int
    holder: str


async def claim(connection, fence: Fence) -> None:
    """In the caller's transaction: record ``fence`` as the node's owner, or
    raise :class:`StaleOwner` when a larger token is recorded already."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    now = utcnow()
    await connection.execute(
        dialect.insert(OWNERS).values(node=fence.node, token=fence.token, holder=fence.holder, since=now)
        .on_conflict_do_nothing(index_elements=[OWNERS.c.node]))
    result = await connection.execute(
        update(OWNERS).where(OWNERS.c.node == fence.node, OWNERS.c.token <= fence.token)
        .values(token=fence.token, holder=fence.holder,
                since=case((OWNERS.c.token < fence.token, now), else_=OWNERS.c.since)))
    if result.rowcount != 1:
        raise StaleOwner(f"PBX node {fence.node}: token {fence.token} is older than the owner's")


async def newest_token(engine, node: str) -> int | None:
    """The newest token recorded for ``node``, if any."""
    async with engine.connect() as connection:
        return await connection.scalar(select(OWNERS.c.token).where(OWNERS.c.node == node))
