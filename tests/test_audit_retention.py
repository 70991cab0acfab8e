"""Retention of audit rows: rows older than the period go, oldest first, with
one ``audit.pruned`` row per pass; the chain still verifies; rows removed
by hand past the anchor do not pass for retention; a failed pass does not
stop the sweeper."""
from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select, text

from callcenter import audit, audit_chain
from callcenter.audit_trail import retention
from callcenter.audit_trail.settings import AuditSettings
from callcenter.audit_trail.verify import verify
from callcenter.loops import Loops
from callcenter.models import AuditEntry
from monitoring.metrics import Metrics

NOW = dt.datetime.now(dt.timezone.utc)


async def write_at(sessions, monkeypatch, when: dt.datetime, count: int) -> None:
    """``count`` rows, one transaction each, written as if at ``when``."""
    monkeypatch.setattr(audit_chain, "utcnow", lambda: when)
    for n in range(count):
        async with sessions() as s:
            audit.record(s, "user:old", "thing.change", "thing", n)
            await s.commit()
    monkeypatch.undo()


async def rows(sessions) -> list:
    async with sessions() as s:
        return (await s.execute(select(AuditEntry.id, AuditEntry.action, AuditEntry.entity_id,
                                       AuditEntry.details).order_by(AuditEntry.id))).all()


async def test_old_rows_go_with_one_row_saying_so_and_the_chain_still_verifies(sessions, monkeypatch):
    await write_at(sessions, monkeypatch, NOW - dt.timedelta(days=4 * 365), 5)
    await write_at(sessions, monkeypatch, NOW - dt.timedelta(days=2 * 365), 3)
    pruned = await retention.prune_pass(sessions, 1095)
    assert (pruned.count, pruned.from_id, pruned.through_id) == (5, 1, 5)
    kept = await rows(sessions)
    assert [r.id for r in kept] == [6, 7, 8, 9]
    said = kept[-1]
    assert (said.action, said.entity_id) == ("audit.pruned", "1-5")
    assert (said.details["count"], said.details["retention_days"]) == (5, 1095)
    verdict = await verify(sessions.kw["bind"])
    assert verdict.intact and verdict.first_id == 6, verdict
    assert await retention.prune_pass(sessions, 1095) is None  # nothing more: no row
    assert len(await rows(sessions)) == 4

    # someone removes the oldest kept rows by hand: the anchor does not cover them
    async with sessions() as s:
        await s.execute(text("DELETE FROM audit_log WHERE id <= 7"))
        await s.commit()
    verdict = await verify(sessions.kw["bind"])
    assert not verdict.intact and "rows 6-7 are missing" in verdict.problem, verdict


async def test_an_anchor_moved_by_hand_is_found(sessions, monkeypatch):
    await write_at(sessions, monkeypatch, NOW - dt.timedelta(days=10), 6)
    async with sessions() as s:  # rows 1-3 removed, the anchor set to row 3 and its true hash
        hash_3 = await s.scalar(select(AuditEntry.hash).where(AuditEntry.id == 3))
        await s.execute(text("DELETE FROM audit_log WHERE id <= 3"))
        await s.execute(text("UPDATE audit_chain SET pruned_through_id = 3, pruned_hash = :h"), {"h": hash_3})
        await s.commit()
    verdict = await verify(sessions.kw["bind"])
    assert not verdict.intact and "no audit.pruned row says retention removed them" in verdict.problem


async def test_a_backlog_goes_a_pass_at_a_time(sessions, monkeypatch):
    await write_at(sessions, monkeypatch, NOW - dt.timedelta(days=40), 7)
    await write_at(sessions, monkeypatch, NOW - dt.timedelta(days=1), 1)
    assert await retention.sweep(sessions, 30, batch=3, pause=0) == 7
    kept = await rows(sessions)
    assert [(r.action, r.entity_id) for r in kept] == [
        ("thing.change", "0"), ("audit.pruned", "1-3"), ("audit.pruned", "4-6"), ("audit.pruned", "7-7")]
    assert (await verify(sessions.kw["bind"])).intact
    # the pruned rows age too: a later pass removes them, and the chain holds
    monkeypatch.setattr(retention, "utcnow", lambda: NOW + dt.timedelta(days=60))
    assert await retention.sweep(sessions, 30, pause=0) == 4
    assert [(r.action, r.entity_id) for r in await rows(sessions)] == [("audit.pruned", "8-11")]
    assert (await verify(sessions.kw["bind"])).intact


async def test_a_failed_pass_does_not_stop_the_sweeper(sessions, monkeypatch):
    await write_at(sessions, monkeypatch, NOW - dt.timedelta(days=40), 2)
    real, calls = retention.sweep, []

    async def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return await real(*args, **kwargs)

    monkeypatch.setattr(retention, "sweep", flaky)
    monkeypatch.setattr(retention, "INTERVAL", 0.01)
    loops = Loops(Metrics())
    await retention.start(SimpleNamespace(audit=AuditSettings(retention_days=30)), sessions, loops)
    for _ in range(200):
        if len(calls) >= 2 and [r.action for r in await rows(sessions)] == ["audit.pruned"]:
            break
        await asyncio.sleep(0.02)
    await loops.close()
    assert loops.states["audit.retention"].errors >= 1 and len(calls) >= 2
    assert [r.action for r in await rows(sessions)] == ["audit.pruned"]
