"""Asterisk inside its root, as a child process of the server (or of the tests).

A plain ``subprocess.Popen`` watched with ``asyncio.sleep`` polling, so it may
be started in one event loop and stopped in another (the test fixtures do that)."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from callcenter.child_process import StartError as PbxStartError
from callcenter.child_process import first_line
from callcenter.child_process import stop_popen as _stop_popen
from callcenter.child_process import tail as _tail
from callcenter.config import Settings

ASTERISK_BIN = "/usr/sbin/asterisk"


def _is_mount(path: Path) -> bool:
    try:
        with open("/proc/self/mountinfo") as fh:
            target = str(path.resolve())
            return any(line.split()[4] == target for line in fh)
    except OSError:
        return os.path.ismount(path)


async def _kill_pids(pids: list[int], grace: float) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        await asyncio.sleep(0.05)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class AsteriskProcess:
    """Asterisk of one instance, run as the root's unprivileged user:
    ``chroot ROOT /usr/sbin/asterisk -f -U USER -G USER -C <instance_dir>/etc/asterisk.conf``.
    The config must have been written (``callcenter.pbx.write_config``)."""

    def __init__(self, settings: Settings, *, start_timeout: float = 30.0, stop_timeout: float = 5.0):
        self.settings = settings
        self.root = Path(settings.pbx.root)
        self.instance_dir = settings.pbx.instance_dir
        self.conf_inner = f"{self.instance_dir}/etc/asterisk.conf"
        self.conf_host = settings.pbx.host_path(self.conf_inner)
        self.log_dir = settings.pbx.host_path(self.instance_dir + "/log")
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._proc: subprocess.Popen | None = None
        self._console = None
        self.start_seconds: float | None = None

    # -- state -------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_status(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running else None

    def log_tail(self, lines: int = 30) -> str:
        return (f"--- {self.log_dir}/messages.log\n{_tail(self.log_dir / 'messages.log', lines)}\n"
                f"--- {self.log_dir}/console.log\n{_tail(self.log_dir / 'console.log', lines)}")

    # -- helpers -----------------------------------------------------------
    def _prepare_root(self) -> None:
        if not (self.root / ASTERISK_BIN.lstrip("/")).exists():
            raise PbxStartError(f"no Asterisk in {self.root}: run scripts/build-pbx-root.sh")
        if not self.conf_host.exists():
            raise PbxStartError(f"{self.conf_host} is missing: write the config first (write_config)")
        proc_dir = self.root / "proc"
        if not _is_mount(proc_dir):
            proc_dir.mkdir(exist_ok=True)
            subprocess.run(["mount", "-t", "proc", "proc", str(proc_dir)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        hosts = self.root / "etc" / "hosts"
        try:
            same = Path("/etc/hosts").read_bytes() == hosts.read_bytes()
        except FileNotFoundError:
            same = False
        if not same:
            shutil.copyfile("/etc/hosts", hosts)

    def stale_pids(self) -> list[int]:
        """Asterisk processes of this instance (same root, same asterisk.conf)
        that this object did not start: left over by an earlier run."""
        mine = self._proc.pid if self._proc is not None else None
        found = []
        root = str(self.root.resolve())
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == mine:
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                if not argv or not argv[0].endswith(b"asterisk"):
                    continue
                if self.conf_inner.encode() not in argv:
                    continue
                if os.readlink(entry / "root") != root:
                    continue
            except OSError:
                continue
            found.append(int(entry.name))
        return found

    async def _probe_ami(self) -> bool:
        """True when the AMI port answers with its banner."""
        banner = await first_line(self.settings.ami.host, self.settings.ami.port)
        return banner is not None and banner.startswith(b"Asterisk Call Manager")

    async def rx(self, command: str, timeout: float = 10.0) -> str:
        """Run a CLI command through the control socket (``asterisk -rx``)."""
        proc = await asyncio.create_subprocess_exec(
            "chroot", str(self.root), ASTERISK_BIN, "-C", self.conf_inner, "-rx", command,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return out.decode("utf-8", "replace")

    # -- life cycle --------------------------------------------------------
    async def start(self) -> None:
        if self.running:
            return
        self._prepare_root()
        stale = self.stale_pids()
        if stale:
            await _kill_pids(stale, self.stop_timeout)
        user = self.settings.pbx.run_as
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for leftover in ("asterisk.ctl", "asterisk.pid"):
            try:
                (self.settings.pbx.host_path(self.instance_dir + "/run") / leftover).unlink()
            except FileNotFoundError:
                pass
        t0 = time.monotonic()
        if self._console is not None:  # started again after it died
            self._console.close()
        self._console = open(self.log_dir / "console.log", "ab")
        self._proc = subprocess.Popen(
            ["chroot", str(self.root), ASTERISK_BIN, "-f", "-U", user, "-G", user, "-C", self.conf_inner],
            stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT,
            start_new_session=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        deadline = t0 + self.start_timeout
        ctl = self.settings.pbx.host_path(self.instance_dir + "/run/asterisk.ctl")
        try:
            while not ctl.exists() or not await self._probe_ami():
                if self._proc.poll() is not None:
                    raise PbxStartError(
                        f"Asterisk exited with status {self._proc.returncode} while starting\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise PbxStartError(
                        f"Asterisk did not open AMI on {self.settings.ami.host}:{self.settings.ami.port} "
                        f"within {self.start_timeout:.0f} s\n{self.log_tail()}")
                await asyncio.sleep(0.05)
            remaining = max(1.0, deadline - time.monotonic())
            try:
                out = await self.rx("core waitfullybooted", timeout=remaining)
            except asyncio.TimeoutError:
                raise PbxStartError(f"Asterisk did not finish booting within {self.start_timeout:.0f} s\n"
                                    f"{self.log_tail()}") from None
            if "fully booted" not in out.lower():
                raise PbxStartError(f"Asterisk did not boot: {out.strip()}\n{self.log_tail()}")
        except BaseException:
            await self.stop()
            raise
        self.start_seconds = time.monotonic() - t0

    async def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after ``stop_timeout`` seconds. Returns the exit status."""
        proc, self._proc = self._proc, None
        code = None
        if proc is not None:
            code = await _stop_popen(proc, self.stop_timeout)
        if self._console is not None:
            self._console.close()
            self._console = None
        return code

    async def restart(self) -> None:
        await self.stop()
        await self.start()
