"""Shared fixtures: tests/stack.py runs the real PBX stack (Asterisk, Redis,
sipp); tests/harness.py runs the server in-process against it."""
import pytest
from argon2 import PasswordHasher

from callcenter.auth import passwords
from callcenter.config import Settings
from callcenter.db import make_engine, migrate, sessionmaker
from tests import sqlite_template

pytest_plugins = ["tests.sharding", "tests.postgres", "tests.stack", "tests.harness", "tests.browser"]

# Login passwords in the tests' processes: still argon2id through the same code, at its
# lowest cost. Production keeps argon2-cffi's memory-hard default (64 MiB, 3 passes:
# ~0.17 s of CPU per hash or check here), which every user made and every form login
# of the suite paid: minutes of a 2-core run. Servers the tests start as processes
# (the cluster) keep the default; a hash carries its parameters, so either verifies.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


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
