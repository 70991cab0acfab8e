"""Redis as a managed child process: started by ``serve`` when nothing
answers at the configured URL (and ``redis.managed`` is true), stopped on exit."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from callcenter.child_process import ForegroundProcess, first_line
from callcenter.config import Settings


def _parse_redis_url(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 6379


async def redis_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    # +PONG, or -NOAUTH... from a server that wants a password: it answers.
    line = await first_line(host, port, b"PING\r\n", timeout)
    return line is not None and line[:1] in (b"+", b"-")


class RedisProcess(ForegroundProcess):
    """redis-server on 127.0.0.1:port, data folder ``data_dir``, in the
    foreground as a child process. It keeps an append-only file (fsync every
    second, no RDB snapshots): started again after a crash it comes back with
    the trunks' reservations, the agents' claims and the browser sessions."""

    def __init__(self, port: int, data_dir: str | Path, *, host: str = "127.0.0.1",
                 start_timeout: float = 10.0, stop_timeout: float = 3.0):
        self.host, self.port, self.data_dir = host, port, Path(data_dir)
        super().__init__(f"redis-server on {host}:{port}", self.data_dir / "redis.log",
                         start_timeout=start_timeout, stop_timeout=stop_timeout, poll=0.05)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def argv(self) -> list[str]:
        return ["redis-server", "--port", str(self.port), "--bind", self.host, "--save", "",
                "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no",
                "--dir", str(self.data_dir), "--protected-mode", "yes"]

    async def ready(self) -> bool:
        return await redis_answers(self.host, self.port)


async def ensure_redis(settings: Settings) -> RedisProcess | None:
    """Start redis-server for ``settings.redis.url`` when nothing answers
    there and ``settings.redis.managed`` is true. Returns the started process
    (the caller stops it) or None."""
    host, port = _parse_redis_url(settings.redis.url)
    if await redis_answers(host, port):
        return None
    if not settings.redis.managed:
        return None
    redis = RedisProcess(port, Path(settings.state_dir) / "redis", host=host)
    await redis.start()
    return redis
