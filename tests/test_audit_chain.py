"""The audit trail's hash chain: ``callcenter audit verify`` names a row
edited, removed in the middle or removed at the end of the database file;
concurrent writers get one order (ids contiguous, time never going back);
the rows written before the chain are hashed by the migration; every row
carries the API request's or the CLI run's id."""
from __future__ import annotations

import asyncio
import random
import re

from sqlalchemy import insert, select, text, update

from callcenter import audit
from callcenter.audit_trail.verify import verify
from callcenter.db import _alembic_config, make_engine, migrate, sessionmaker
from callcenter.features import load_settings
from callcenter.main import main
from callcenter.models import AuditEntry
from tests.light_app import running_light_app
from tests.postgres import query


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def sql(cfg: str, statement: str, *params) -> list[tuple]:
    """Rows of one statement run straight on the configured database (SQLite
    or PostgreSQL), past the server, as someone tampering with it would."""
    return query(load_settings(cfg).database_url, statement, *params)


def core(cfg: str, statement):
    """Rows of one SQLAlchemy Core statement on the configured database: its
    columns typed (a JSON column is text in SQLite, json in PostgreSQL)."""
    async def _run():
        engine = make_engine(load_settings(cfg).database_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(statement)
                return result.all() if result.returns_rows else []
        finally:
            await engine.dispose()
    return asyncio.run(_run())


async def write_rows(url: str, transactions: int, per_transaction: int) -> None:
    engine = make_engine(url)
    try:
        sessions = sessionmaker(engine)
        for t in range(transactions):
            async with sessions() as s:
                for n in range(per_transaction):
                    audit.record(s, "user:tester", "thing.change", "thing", f"{t}-{n}", note="é ünïcode", n=n)
                await s.commit()
    finally:
        await engine.dispose()


def test_verify_names_the_row_edited_or_removed_in_the_database(tmp_path, capsys):
    cfg = str(tmp_path / "cc.toml")
    assert run(capsys, "init", "--config", cfg)[0] == 0
    asyncio.run(write_rows(load_settings(cfg).database_url, transactions=10, per_transaction=5))
    code, out = run(capsys, "audit", "verify", "--config", cfg)
    assert code == 0 and re.fullmatch(r"50 rows checked, chain intact \(rows 1-50; head hash [0-9a-f]{64}\)\n",
                                      out), out

    log, row_20 = AuditEntry.__table__, AuditEntry.__table__.c.id == 20
    original = core(cfg, select(log.c.details).where(row_20))[0][0]
    assert original["n"] == 4
    core(cfg, update(log).where(row_20).values(details={**original, "n": 5}))
    code, out = run(capsys, "audit", "verify", "--config", cfg)
    assert code == 1 and "row 20 was changed" in out, out
    core(cfg, update(log).where(row_20).values(details=original))
    sql(cfg, "UPDATE audit_log SET actor = 'user:someone-else' WHERE id = 3")
    code, out = run(capsys, "audit", "verify", "--config", cfg)
    assert code == 1 and "row 3 was changed" in out, out
    sql(cfg, "UPDATE audit_log SET actor = 'user:tester' WHERE id = 3")
    assert run(capsys, "audit", "verify", "--config", cfg)[0] == 0

    row_41 = core(cfg, select(log).where(log.c.id == 41))[0]
    sql(cfg, "DELETE FROM audit_log WHERE id = 41")
    code, out = run(capsys, "audit", "verify", "--config", cfg)
    assert code == 1 and "row 41 is missing" in out, out
    core(cfg, insert(log).values(**row_41._mapping))
    assert run(capsys, "audit", "verify", "--config", cfg)[0] == 0

    sql(cfg, "DELETE FROM audit_log WHERE id >= 49")
    code, out = run(capsys, "audit", "verify", "--config", cfg)
    assert code == 1 and "rows 49-50 are missing" in out and "newest row is 50" in out, out
    sql(cfg, "DELETE FROM audit_log WHERE id <= 2")
    code, out = run(capsys, "audit", "verify", "--config", cfg)
    assert code == 1 and "rows 1-2 are missing" in out, out


def test_one_cli_run_gives_its_rows_one_request_id(tmp_path, capsys):
    cfg = str(tmp_path / "cc.toml")
    assert run(capsys, "init", "--config", cfg)[0] == 0
    run(capsys, "location", "add", "north", "--title", "North centre", "--config", cfg)
    run(capsys, "user", "add", "ivan", "--role", "agent", "--config", cfg)
    run(capsys, "user", "add", "olga", "--role", "agent", "--config", cfg)
    ids = [r[0] for r in sql(cfg, "SELECT request_id FROM audit_log ORDER BY id")]
    assert len(ids) >= 3 and all(re.fullmatch(r"cli-[0-9a-f]{12}", i) for i in ids), ids
    assert len(set(ids)) == len(ids)  # one run, one id (each of these wrote one row)


async def test_concurrent_writers_get_one_order(sessions):
    """40 transactions at once, each holding its rows across awaits while the
    others write: the ids are 1..N with no gap, time never goes back along
    them, the chain is intact."""
    rng = random.Random(7)

    async def writer(n: int) -> None:
        async with sessions() as s:
            await s.execute(text("SELECT 1"))
            audit.record(s, f"user:w{n}", "call.hangup" if n % 2 else "disposition.submit", "call", n)
            await asyncio.sleep(rng.random() / 50)
            audit.record(s, f"user:w{n}", "thing.second", "thing", n)
            await s.commit()

    async def viewer(n: int) -> None:
        await asyncio.sleep(rng.random() / 50)
        await audit.record_view(sessions, f"user:v{n}", audit.CUSTOMERS_VIEWED, "/customers", rows=n)

    await asyncio.gather(*(writer(n) for n in range(40)), *(viewer(n) for n in range(10)))
    async with sessions() as s:
        rows = (await s.execute(select(AuditEntry.id, AuditEntry.at, AuditEntry.actor)
                                .order_by(AuditEntry.id))).all()
    assert [r.id for r in rows] == list(range(1, 91))
    assert all(a.at <= b.at for a, b in zip(rows, rows[1:]))
    by_writer = {}
    for r in rows:  # a transaction's rows are next to each other
        by_writer.setdefault(r.actor, []).append(r.id)
    assert all(ids == list(range(ids[0], ids[0] + len(ids))) for ids in by_writer.values())
    verdict = await verify(sessions.kw["bind"], chunk=7)  # several chunks
    assert verdict.intact and verdict.checked == 90, verdict


async def test_a_rolled_back_transaction_leaves_no_row_and_no_gap(sessions):
    async with sessions() as s:
        audit.record(s, "user:a", "thing.change", "thing", 1)
        await s.flush()
        await s.rollback()
    async with sessions() as s:
        entry = audit.record(s, "user:a", "thing.change", "thing", 2)
        await s.commit()
    assert entry.id == 1 and len(entry.hash) == 64
    assert (await verify(sessions.kw["bind"])).summary().startswith("1 rows checked, chain intact")


async def test_rows_written_before_the_chain_are_hashed_by_the_migration(tmp_path):
    """A database at 0012 with rows whose times disagree with their ids (the
    old behaviour) and a gap: upgraded, it verifies; a change to an old row shows."""
    from alembic import command

    db = tmp_path / "old.db"
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with engine.begin() as conn:
            def to_0012(connection):
                cfg = _alembic_config(f"sqlite+aiosqlite:///{db}")
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "0012")
            await conn.run_sync(to_0012)
            for n, at in ((1, "2026-01-01 10:00:05.000000"), (2, "2026-01-01 10:00:01.000000"),
                          (4, "2026-01-01 10:00:09.250000")):
                await conn.execute(text(
                    "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, details) "
                    "VALUES (:id, :at, 'user:old', 'thing.change', 'thing', :id, :details)"),
                    {"id": n, "at": at, "details": '{"b": [1, 2], "a": "x"}'})
        await migrate(engine)
        sessions = sessionmaker(engine)
        async with sessions() as s:
            new = audit.record(s, "user:new", "thing.change", "thing", 9)
            await s.commit()
        assert new.id == 5
        verdict = await verify(engine)
        assert verdict.intact and verdict.checked == 4, verdict
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET entity_id = '3' WHERE id = 2"))
        verdict = await verify(engine)
        assert not verdict.intact and verdict.row_id == 2, verdict
    finally:
        await engine.dispose()


async def test_the_request_id_is_on_the_audit_row_and_in_the_answer(settings, sessions):
    async with running_light_app(settings, sessions) as app:
        given = {**app.headers("manager_n"), "X-Request-Id": "crm-7f3a.2"}
        resp = await app.client.post("/api/v1/dnd", json={"number": "+919811100100"}, headers=given)
        assert resp.status == 201 and resp.headers["X-Request-Id"] == "crm-7f3a.2"
        bad = {**app.headers("manager_n"), "X-Request-Id": "no spaces; or <tags>"}
        resp = await app.client.post("/api/v1/dnd", json={"number": "+919811100101"}, headers=bad)
        made = resp.headers["X-Request-Id"]
        assert resp.status == 201 and re.fullmatch(r"[0-9a-f]{16}", made)
        resp = await app.client.get("/api/v1/dnd/+919811100100", headers=app.headers("manager_n"))
        assert re.fullmatch(r"[0-9a-f]{16}", resp.headers["X-Request-Id"])  # every answer has one
    async with sessions() as s:
        rows = (await s.execute(select(AuditEntry.entity_id, AuditEntry.request_id)
                                .where(AuditEntry.action == "dnd.add").order_by(AuditEntry.id))).all()
    assert rows == [("+919811100100", "crm-7f3a.2"), ("+919811100101", made)]


async def test_a_failed_requests_log_line_names_the_id_its_answer_carries(settings, sessions, caplog):
    """An integrator quoting the X-Request-Id of a 500 leads the operator to its traceback."""
    from callcenter.feature import Feature
    from tests.light_app import light_app
    from web.app import FEATURES

    async def broken(_request):
        raise RuntimeError("boom")
    feature = Feature(name="broken", routes=[("GET", "/api/v1/broken", broken, ("admin",), "fails")])
    app = await light_app(settings, sessions, features=[*FEATURES, feature])
    try:
        resp = await app.client.get("/api/v1/broken", headers={**app.headers("admin"), "X-Request-Id": "crm-500"})
        assert resp.status == 500 and resp.headers["X-Request-Id"] == "crm-500"
    finally:
        await app.client.close()
    failed = [r for r in caplog.records if r.exc_info and "/api/v1/broken" in r.getMessage()]
    assert failed and "crm-500" in failed[0].getMessage()


async def test_a_row_rehashed_with_an_earlier_time_is_out_of_order(sessions):
    """Someone who rewrites the newest row's time, its hash and the head's:
    the chain holds, the order in time does not."""
    from callcenter.audit_chain import row_hash

    for n in range(3):
        async with sessions() as s:
            audit.record(s, "user:a", "thing.change", "thing", n)
            await s.commit()
    async with sessions() as s:
        second, third = (await s.execute(select(AuditEntry).where(AuditEntry.id >= 2)
                                         .order_by(AuditEntry.id))).scalars().all()
        forged = {"id": 3, "at": second.at.replace(year=second.at.year - 1), "actor": third.actor,
                  "action": third.action, "entity": third.entity, "entity_id": third.entity_id,
                  "request_id": third.request_id, "details": third.details}
        forged_hash = row_hash(second.hash, forged)
        await s.execute(update(AuditEntry.__table__).where(AuditEntry.__table__.c.id == 3)
                        .values(at=forged["at"], hash=forged_hash))  # the time as each database stores it
        await s.execute(text("UPDATE audit_chain SET last_hash = :h"), {"h": forged_hash})
        await s.commit()
    verdict = await verify(sessions.kw["bind"])
    assert not verdict.intact and verdict.row_id == 3 and "row 3 is out of order" in verdict.problem, verdict


async def test_a_savepoint_rolled_back_takes_its_rows_back(sessions):
    async with sessions() as s:
        audit.record(s, "user:a", "thing.kept", "thing", 1)
        try:
            async with s.begin_nested():
                audit.record(s, "user:a", "thing.undone", "thing", 2)
                await s.flush()
                raise RuntimeError("the savepoint fails")
        except RuntimeError:
            pass
        async with s.begin_nested():
            audit.record(s, "user:a", "thing.kept_too", "thing", 3)
        await s.commit()
    async with sessions() as s:
        rows = (await s.execute(select(AuditEntry.id, AuditEntry.action).order_by(AuditEntry.id))).all()
    assert rows == [(1, "thing.kept"), (2, "thing.kept_too")]
