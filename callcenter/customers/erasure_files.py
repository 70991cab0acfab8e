"""The files an erasure owes: call recordings of an erased customer, listed
in ``owed_deletions`` in the erasure's own transaction and deleted after its
commit. A file that cannot be deleted now (a full or read-only disk, a
permission) stays on the list with its attempts and last error, and the
``erasure.owed_deletions`` loop tries again (at start-up, then every
``INTERVAL`` seconds): an owed deletion is never forgotten.

A row leaves the list only when its file is gone (deleted now, or already
missing). Paths are the recordings' server-made paths, relative to the
recordings folder; one that would leave the folder is dropped, never followed."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import delete, func, select

from callcenter.customers.models import OwedDeletion

log = logging.getLogger(__name__)
INTERVAL = 300.0
BATCH = 200


def _delete_file(base: Path, relative: str) -> None:
    """Delete the file (missing is done); OSError when it cannot be deleted."""
    base = base.resolve()
    path = (base / relative).resolve()
    if base not in path.parents:
        log.warning("owed deletion outside the recordings folder dropped: %r", relative)
        return
    path.unlink(missing_ok=True)


async def delete_owed(sessions, recordings_dir: Path, ids: list[int] | None = None) -> tuple[int, int]:
    """Try the owed deletions (``ids``, or all of them): (deleted, still owed)."""
    deleted = failed = 0
    async with sessions() as session:
        query = select(OwedDeletion).order_by(OwedDeletion.attempts, OwedDeletion.id).limit(BATCH)
        if ids is not None:
            query = query.where(OwedDeletion.id.in_(ids))
        rows = (await session.scalars(query)).all()
        for row in rows:
            try:
                await asyncio.to_thread(_delete_file, recordings_dir, row.path)
            except OSError as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc.strerror or exc}"[:300]
                failed += 1
                log.warning("owed deletion %s failed (attempt %s): %s", row.id, row.attempts, row.last_error)
                continue
            await session.execute(delete(OwedDeletion).where(OwedDeletion.id == row.id))
            deleted += 1
        await session.commit()
    return deleted, failed


async def owed_count(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(OwedDeletion))


def start_loop(loops, sessions, settings) -> None:
    """Retry the owed deletions now (after a restart) and every INTERVAL seconds."""
    async def iteration() -> None:
        await delete_owed(sessions, settings.pbx.recordings_dir)
    loops.every("erasure.owed_deletions", INTERVAL, iteration, first=True, once=True)
