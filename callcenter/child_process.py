"""Child processes the server starts (Asterisk, Redis): stopping them and
reading their logs. Polling with ``asyncio.sleep`` (not asyncio subprocesses),
so a process may be started in one event loop and stopped in another."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path


class StartError(RuntimeError):
    """A managed process did not come up; the message holds its log tail."""


def tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return f"(no {path})"
    return "\n".join(text.splitlines()[-lines:])


async def stop_popen(proc: subprocess.Popen, grace: float) -> int | None:
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
    while proc.poll() is None:
        await asyncio.sleep(0.02)
    return proc.returncode
