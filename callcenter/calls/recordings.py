"""Where a call's recording is on this host: the row's server-made path,
inside the recordings folder and a file, or None."""
from __future__ import annotations

from pathlib import Path

from callcenter.models import Recording


async def recording_path(sessions, recordings_dir: Path, call) -> Path | None:
    if not call.recording_id:
        return None
    async with sessions() as session:
        recording = await session.get(Recording, call.recording_id)
    if recording is None:
        return None
    base = recordings_dir.resolve()
    path = (base / recording.path).resolve()
    if base not in path.parents or not path.is_file():
        return None
    return path
