#!/usr/bin/env python3
"""Record the raw bytes of an AMI session (the call-work user by default)
into a file: banner, login response and every event, exactly as received.

    python scripts/record_ami.py --config callcenter.toml --out stream.raw --seconds 30

From Python (a test): ``AmiRecorder(host, port, user, secret, path)``;
``await rec.start()``, ... , ``await rec.stop()``. Uses a raw asyncio socket,
not panoramisk, so the bytes are untouched."""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path


class AmiRecorder:
    def __init__(self, host: str, port: int, username: str, secret: str, out: str | Path):
        self.host, self.port = host, port
        self.username, self.secret = username, secret
        self.out = Path(out)
        self._task: asyncio.Task | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._logged_in = asyncio.Event()
        self.nbytes = 0

    async def start(self, timeout: float = 5.0) -> None:
        """Connect, log in (Events: on) and start writing; returns once logged in."""
        reader, self._writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.out, "wb")
        self._writer.write(
            f"Action: Login\r\nActionID: rec-login\r\nUsername: {self.username}\r\n"
            f"Secret: {self.secret}\r\nEvents: on\r\n\r\n".encode())
        self._task = asyncio.ensure_future(self._pump(reader, fh))
        try:
            await asyncio.wait_for(self._logged_in.wait(), timeout)
        except asyncio.TimeoutError:
            await self.stop()
            raise RuntimeError(f"AMI login of {self.username} at {self.host}:{self.port} failed") from None

    async def _pump(self, reader: asyncio.StreamReader, fh) -> None:
        buf = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                fh.write(data)
                fh.flush()
                self.nbytes += len(data)
                if not self._logged_in.is_set():
                    buf += data
                    if b"ActionID: rec-login" in buf and b"Response: Success" in buf:
                        self._logged_in.set()
        finally:
            fh.close()

    async def stop(self) -> int:
        """Log off, close and return the number of bytes written."""
        if self._writer is not None:
            try:
                self._writer.write(b"Action: Logoff\r\nActionID: rec-logoff\r\n\r\n")
                await asyncio.wait_for(self._writer.drain(), 1.0)
            except (OSError, asyncio.TimeoutError):
                pass
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 1.0)
            except asyncio.TimeoutError:
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    pass
            self._task = None
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = None
        return self.nbytes


async def _main(args) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from callcenter.config import load

    settings = load(args.config)
    ami = settings.ami
    user, secret = (ami.admin_username, ami.admin_secret) if args.admin else (ami.username, ami.secret)
    rec = AmiRecorder(ami.host, ami.port, user, secret, args.out)
    await rec.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.seconds if args.seconds > 0 else None)
    except asyncio.TimeoutError:
        pass
    n = await rec.stop()
    print(f"{n} bytes written to {args.out}", file=sys.stderr)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="callcenter TOML config")
    p.add_argument("--out", required=True, help="file to write the raw stream to")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until SIGINT/SIGTERM)")
    p.add_argument("--admin", action="store_true", help="log in as the admin user instead of the call-work user")
    return asyncio.run(_main(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
