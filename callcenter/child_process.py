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


async def first_line(host: str, port: int, send: bytes = b"", timeout: float = 1.0) -> bytes | None:
    """The first line a TCP server answers (after ``send``), None when it does
    not answer within ``timeout`` (connecting, then reading): how a child
    process is seen ready."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return None
    try:
        if send:
            writer.write(send)
            await writer.drain()
        return await asyncio.wait_for(reader.readline(), timeout)
    except (OSError, asyncio.TimeoutError):
        return None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


class ForegroundProcess:
    """A binary run in the foreground as a child (its own session), its output
    appended to ``log_path``; started when ``ready()`` answers, stopped with
    SIGTERM then SIGKILL. Redis and the monitoring tools are ones."""

    def __init__(self, name: str, log_path: Path, *, start_timeout: float, stop_timeout: float,
                 poll: float = 0.1) -> None:
        self.name, self.log_path = name, Path(log_path)
        self.start_timeout, self.stop_timeout, self.poll = start_timeout, stop_timeout, poll
        self._proc: subprocess.Popen | None = None
        self._log = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    async def ready(self) -> bool:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_status(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    async def start(self) -> None:
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self._log is not None:  # started again after it died
            self._log.close()
        self._log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not await self.ready():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                code = self._proc.poll()
                await self.stop()
                raise StartError(f"{self.name} did not start (status {code})\n{tail(self.log_path)}")
            await asyncio.sleep(self.poll)

    async def stop(self) -> int | None:
        proc, self._proc = self._proc, None
        code = await stop_popen(proc, self.stop_timeout) if proc is not None else None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code
