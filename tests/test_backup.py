"""``callcenter backup`` / ``restore`` through the CLI, on the suite's database
(a SQLite file, or the test's own PostgreSQL database with CC_TEST_POSTGRES)."""
from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import make_url

from callcenter.backup import postgres, serving
from callcenter.customers.models import Customer
from callcenter.db import _alembic_config, make_engine, sessionmaker
from callcenter.features import load_settings
from callcenter.models import AuditEntry, User
from tests.config_files import initialised, set_keys
from tests.postgres import on_postgres
from tests.test_cli import run

RECORDING = "2026/12/07/call-1.wav"
AUDIO = os.urandom(64 * 1024)


def configure(folder: Path) -> str:
    """``init`` in ``folder``, with the PBX root (so the recordings) inside it."""
    path = initialised(folder / "cc.toml")
    set_keys(path, {"root": json.dumps(str(folder / "pbx-root"))}, section="pbx")
    (folder / "pbx-root").mkdir()  # as make install builds it
    return str(path)


@pytest.fixture
def cfg(tmp_path) -> str:
    return configure(tmp_path / "site")


def in_db(cfg: str, work):
    """``work(session)`` on the config's database, committed; its result."""
    async def _run():
        engine = make_engine(load_settings(cfg).database_url)
        try:
            async with sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()
    return asyncio.run(_run())


def names(cfg: str, model) -> list[str]:
    async def _names(session):
        return sorted((await session.scalars(select(model.name))).all())
    return in_db(cfg, _names)


def folders(cfg: str) -> tuple[Path, Path]:
    settings = load_settings(cfg)
    return settings.pbx.recordings_dir, settings.uploads_dir


def populate(cfg: str, capsys) -> None:
    for name in ("asha", "ravi"):
        assert run(capsys, "user", "add", name, "--role", "agent", "--config", cfg)[0] == 0

    async def _customers(session):
        session.add_all([Customer(mobile="+919800000001", name="Kavya Rao"),
                         Customer(mobile="+919800000002", name="Imran Shaikh")])
    in_db(cfg, _customers)
    recordings, uploads = folders(cfg)
    (recordings / RECORDING).parent.mkdir(parents=True)
    (recordings / RECORDING).write_bytes(AUDIO)
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "7-customers.csv").write_text("mobile,name\n9800000001,Kavya Rao\n")


def backup(cfg: str, capsys, *extra: str) -> Path:
    code, out, err = run(capsys, "backup", "--config", cfg, *extra)
    assert code == 0, err
    return Path(next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("backup written: ")))


def spoil(cfg: str, capsys) -> None:
    """Change and delete what populate made."""
    assert run(capsys, "user", "add", "intruder", "--role", "admin", "--config", cfg)[0] == 0

    async def _change(session):
        await session.execute(update(Customer).where(Customer.name == "Kavya Rao").values(name="Changed"))
        await session.execute(delete(Customer).where(Customer.name == "Imran Shaikh"))
    in_db(cfg, _change)
    recordings, uploads = folders(cfg)
    (recordings / RECORDING).unlink()
    (uploads / "7-customers.csv").write_text("overwritten\n")


def rewrite(archive: Path, out: Path, member=None, manifest=None) -> Path:
    """A copy of ``archive`` with a member's bytes or the manifest changed."""
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for info in src.getmembers():
            data = src.extractfile(info).read()
            if member and info.name.startswith(member):
                data = data[:-1] + bytes([data[-1] ^ 1])
            if manifest and info.name == "manifest.json":
                data = json.dumps(dict(json.loads(data), **manifest)).encode()
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    return out


def test_round_trip_brings_back_rows_recordings_and_uploads(cfg, capsys):
    populate(cfg, capsys)
    archive = backup(cfg, capsys)
    state_dir = load_settings(cfg).state_dir
    assert archive.parent == state_dir / "backups" and archive.name.startswith("callcenter-backup-")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert tar.extractfile(f"recordings/{RECORDING}").read() == AUDIO
    assert manifest["database"] == ("postgresql" if on_postgres() else "sqlite")
    assert manifest["counts"]["users"] == 2 and manifest["counts"]["customers"] == 2
    assert manifest["schema_revision"] and len(manifest["members"]) == 3

    spoil(cfg, capsys)
    code, out, err = run(capsys, "restore", "--config", cfg, str(archive), "--yes")
    assert code == 0, err
    assert "1 recordings, 1 uploads" in out
    assert names(cfg, User) == ["asha", "ravi"]
    assert names(cfg, Customer) == ["Imran Shaikh", "Kavya Rao"]
    recordings, uploads = folders(cfg)
    assert (recordings / RECORDING).read_bytes() == AUDIO
    assert (uploads / "7-customers.csv").read_text().startswith("mobile,name")

    async def _last(session):
        return (await session.execute(select(AuditEntry.actor, AuditEntry.action)
                                      .order_by(AuditEntry.id.desc()).limit(1))).one()
    actor, action = in_db(cfg, _last)
    assert action == "backup.restore" and actor.startswith("cli:")
    code, out, err = run(capsys, "audit", "verify", "--config", cfg)
    assert code == 0 and "intact" in out
    # the restored database is in use at once: new rows take new ids
    assert run(capsys, "user", "add", "meena", "--role", "agent", "--config", cfg)[0] == 0


def test_restore_over_data_needs_yes_and_a_new_machine_does_not(cfg, capsys, tmp_path, request):
    populate(cfg, capsys)
    archive = backup(cfg, capsys)
    spoil(cfg, capsys)
    code, out, err = run(capsys, "restore", "--config", cfg, str(archive))
    assert code == 1 and "already holds 3 users" in err and "--yes" in err
    assert names(cfg, User) == ["asha", "intruder", "ravi"]
    assert names(cfg, Customer) == ["Changed"]

    if on_postgres():  # the new machine's own, empty database
        databases = request.getfixturevalue("_postgres")
        name = next(databases.names)
        request.addfinalizer(lambda: databases.drop(name))
        request.getfixturevalue("monkeypatch").setenv("CALLCENTER_DATABASE_URL", databases.create(name))
    fresh = configure(tmp_path / "new-machine")
    (tmp_path / "new-machine" / "pbx-root").rmdir()
    code, out, err = run(capsys, "restore", "--config", fresh, str(archive))
    assert code == 1 and "is not built yet" in err and names(fresh, User) == []
    (tmp_path / "new-machine" / "pbx-root").mkdir()
    code, out, err = run(capsys, "restore", "--config", fresh, str(archive))
    assert code == 0, err
    assert names(fresh, User) == ["asha", "ravi"]
    assert (folders(fresh)[0] / RECORDING).read_bytes() == AUDIO


def test_a_damaged_archive_is_refused_and_nothing_changes(cfg, capsys, tmp_path):
    populate(cfg, capsys)
    archive = backup(cfg, capsys)
    spoil(cfg, capsys)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    damaged = [rewrite(archive, tmp_path / "db.tar.gz", member="database/"),
               rewrite(archive, tmp_path / "rec.tar.gz", member="recordings/"), cut]
    for bad in damaged:
        code, out, err = run(capsys, "restore", "--config", cfg, str(bad), "--yes")
        assert code == 1 and "refused, nothing was changed" in err, err
        assert len(err.strip().splitlines()) == 1
    assert "sha256" in run(capsys, "restore", "--config", cfg, str(damaged[0]), "--yes")[2]
    assert names(cfg, User) == ["asha", "intruder", "ravi"]
    assert names(cfg, Customer) == ["Changed"]
    recordings, uploads = folders(cfg)
    assert not (recordings / RECORDING).exists()
    assert (uploads / "7-customers.csv").read_text() == "overwritten\n"


def test_other_kind_newer_schema_and_a_serving_server_are_refused(cfg, capsys, tmp_path):
    populate(cfg, capsys)
    archive = backup(cfg, capsys)
    other = "sqlite" if on_postgres() else "postgresql"
    code, _, err = run(capsys, "restore", "--config", cfg, "--yes",
                       str(rewrite(archive, tmp_path / "kind.tar.gz", manifest={"database": other})))
    assert code == 1 and "same kind of database" in err
    code, _, err = run(capsys, "restore", "--config", cfg, "--yes",
                       str(rewrite(archive, tmp_path / "new.tar.gz", manifest={"schema_revision": "9999"})))
    assert code == 1 and "newer than this version knows" in err
    spoil(cfg, capsys)
    with serving.serving(load_settings(cfg).state_dir):  # as `callcenter serve` holds it
        code, _, err = run(capsys, "restore", "--config", cfg, str(archive), "--yes")
    assert code == 1 and "a server is serving" in err
    with serving.restoring(load_settings(cfg).state_dir):  # and no server starts during a restore
        code, _, err = run(capsys, "serve", "--config", cfg)
    assert code == 1 and "a restore is running" in err
    if on_postgres():  # a server on another machine: its connections to the database
        url = load_settings(cfg).database_url
        args, env = postgres.connection(url)
        with subprocess.Popen([postgres.tool("psql"), "-X", "-q", "-c", "SELECT pg_sleep(60)", *args,
                               "--dbname", make_url(url).database],
                              env=dict(env, PGAPPNAME="callcenter"), stdout=subprocess.DEVNULL) as other:
            try:
                deadline = time.monotonic() + 20
                while not asyncio.run(postgres.other_servers(url)):
                    assert time.monotonic() < deadline, "psql did not connect"
                    time.sleep(0.1)
                code, _, err = run(capsys, "restore", "--config", cfg, str(archive), "--yes")
                assert code == 1 and "stop every server" in err
            finally:
                other.kill()
    assert names(cfg, User) == ["asha", "intruder", "ravi"]


def migrate_to(url: str, revision: str) -> None:
    from alembic import command

    async def _run():
        engine = make_engine(url)
        alembic = _alembic_config(engine.url.render_as_string(hide_password=False))

        def _upgrade(connection):
            alembic.attributes["connection"] = connection
            command.upgrade(alembic, revision)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade)
        finally:
            await engine.dispose()
    asyncio.run(_run())


def test_an_older_backup_is_brought_to_this_schema(cfg, capsys, tmp_path, request, monkeypatch):
    from alembic.script import ScriptDirectory

    from callcenter.db import MIGRATIONS

    old = configure(tmp_path / "old")
    if on_postgres():  # the old site's own database, migrated to 0013 only
        databases = request.getfixturevalue("_postgres")
        name = next(databases.names)
        request.addfinalizer(lambda: databases.drop(name))
        monkeypatch.setenv("CALLCENTER_DATABASE_URL", databases.create(name))
    else:
        (tmp_path / "old" / "var" / "callcenter.db").unlink()
    migrate_to(load_settings(old).database_url, "0013")
    assert run(capsys, "user", "list", "--config", old)[0] == 1  # this version does not serve 0013
    archive = backup(old, capsys)
    with tarfile.open(archive) as tar:
        assert json.loads(tar.extractfile("manifest.json").read())["schema_revision"] == "0013"
    if on_postgres():
        monkeypatch.setenv("CALLCENTER_DATABASE_URL", request.getfixturevalue("database_url"))

    populate(cfg, capsys)  # a current database with data of its own
    code, out, err = run(capsys, "restore", "--config", cfg, str(archive), "--yes")
    assert code == 0, err
    assert names(cfg, User) == []
    assert run(capsys, "user", "list", "--config", cfg)[0] == 0

    async def _revision(session):
        return (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert in_db(cfg, _revision) == ScriptDirectory(str(MIGRATIONS)).get_current_head()
