"""Shared fixtures: tests/stack.py runs the real PBX stack (Asterisk, Redis,
sipp); tests/harness.py runs the server in-process against it."""
import pytest

from callcenter.config import Settings
from callcenter.db import make_engine, migrate, sessionmaker
from tests import sqlite_template

pytest_plugins = ["tests.sharding", "tests.postgres", "tests.stack", "tests.harness", "tests.browser"]


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Default settings with a state folder of the test's own (no file behind them)."""
    return Settings(path=tmp_path / "cc.toml", state_dir=tmp_path)


@pytest.fixture
async def sessions(tmp_path, database_url):
    """Sessions on a fresh, migrated database: a SQLite file, or the test's own
    PostgreSQL database when the suite runs on PostgreSQL (tests/postgres.py)."""
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    sqlite_template.copy_migrated(url)
    engine = make_engine(url)
    await migrate(engine)
    try:
        yield sessionmaker(engine)
    finally:
        await engine.dispose()
