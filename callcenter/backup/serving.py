"""The lock that keeps ``serve`` and ``restore`` apart: ``<state_dir>/serve.lock``.

Every ``callcenter serve`` holds a shared ``flock`` on it while it runs; a
restore takes it exclusively, so it is refused while any server of this
state dir serves on this machine, and a server does not start during a
restore. (Servers on other machines share no lock: for PostgreSQL the
restore also looks for their connections, see ``postgres.other_servers``.)"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = "serve.lock"


class Busy(Exception):
    """The other side holds the lock."""


def _open(state_dir: Path) -> int:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def _locked(state_dir: Path, how: int, busy: str):
    fd = _open(state_dir)
    try:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(busy) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def serving(state_dir: Path):
    """Held by ``serve`` for as long as it runs."""
    return _locked(state_dir, fcntl.LOCK_SH,
                   f"a restore is running on {state_dir}; start the server when it has finished")


def restoring(state_dir: Path):
    """Held by ``restore``; Busy while a server serves."""
    return _locked(state_dir, fcntl.LOCK_EX,
                   f"a server is serving from {state_dir} (it holds {state_dir / LOCK_FILE}); "
                   "stop it before restoring (e.g. systemctl stop callcenter)")
