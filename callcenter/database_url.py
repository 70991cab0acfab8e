"""Which database a server uses: a URL in ``[database] url`` or the environment.

``postgresql://user:password@host/db`` (driver asyncpg) for production,
``sqlite:///path`` (driver aiosqlite) or nothing (a SQLite file in the state
folder) for a single server. ``CALLCENTER_DATABASE_URL``, when set, wins over
the file (one config file can then serve a test or a second environment)."""
from __future__ import annotations

import os
from dataclasses import dataclass

DATABASE_URL_ENV = "CALLCENTER_DATABASE_URL"
_DRIVERS = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg",
            "postgresql+asyncpg": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite",
            "sqlite+aiosqlite": "sqlite+aiosqlite"}


def database_url(url: str) -> str:
    """A database URL with the driver this server uses (``postgresql://`` ->
    ``postgresql+asyncpg://``, ``sqlite://`` -> ``sqlite+aiosqlite://``); empty stays empty."""
    if not url:
        return ""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _DRIVERS:
        raise ValueError(f"url must be postgresql://... or sqlite:///..., not {scheme!r}")
    return f"{_DRIVERS[scheme]}://{rest}"


@dataclass
class DatabaseSettings:
    """``[database]``: empty url = SQLite in state_dir; postgresql://user:password@host/db
    for production. The environment's CALLCENTER_DATABASE_URL, when set, wins over the file."""
    url: str = ""
    busy_timeout: float = 5.0  # seconds a request waits for a locked database before 503

    def __post_init__(self) -> None:
        self.url = database_url(os.environ.get(DATABASE_URL_ENV) or self.url)
