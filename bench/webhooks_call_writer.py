"""The call writer's cost of the ``call.ended`` event (webhooks).

    .venv/bin/python bench/webhooks_call_writer.py [--batches N] [--batch B] [--rounds R]

On a fresh, migrated SQLite file: B calls per batch are created (connected),
then each batch's ended rows are written by ``dialer.call_rows.write`` (one
transaction: the events' INSERT..SELECT run as executemany, then the rows'
UPDATE), by the alternative (one SELECT of the batch's calls not ended yet,
then one multi-row INSERT) and, for the baseline, by the UPDATE alone (the
write as it was before). Alternated per round, best round kept;
milliseconds per batch and per call. PostgreSQL not measured here (no server on this machine)."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import bindparam, insert, select

from callcenter import db
from callcenter.models import Call, Trunk, User
from dialer import call_rows


NOT_ENDED = select(call_rows.CALLS.c.id).where(call_rows.CALLS.c.id.in_(bindparam("ids", expanding=True)),
                                               call_rows.CALLS.c.state != "ended")


async def select_then_insert(engine, rows, recordings) -> None:
    """The alternative: one SELECT of the batch's calls not ended yet, one multi-row INSERT."""
    async with engine.begin() as connection:
        by_id = {r["b_id"]: r for r in rows}
        fresh = (await connection.execute(NOT_ENDED, {"ids": list(by_id)})).scalars().all()
        if fresh:
            events = [call_rows.ended_event(by_id[i], None) for i in fresh]
            await connection.execute(insert(call_rows.EVENTS), [
                {"kind": "call.ended", "entity_id": e["e_id"], "at": e["e_at"], "payload": e["e_payload"]}
                for e in events])
        await connection.execute(call_rows.UPDATE_CALL, rows)


async def without_event(engine, rows, recordings) -> None:
    async with engine.begin() as connection:
        await connection.execute(call_rows.UPDATE_CALL, rows)


def ended(call_id: str, now: dt.datetime) -> dict:
    return {"b_id": call_id, "b_state": "ended", "b_end_reason": "completed", "b_agent_channel": "PJSIP/a-1",
            "b_customer_channel": "PJSIP/c-1", "b_originated_at": now, "b_agent_answered_at": now,
            "b_customer_answered_at": now, "b_ended_at": now, "b_ring_seconds": 4.0, "b_talk_seconds": 30.0,
            "b_hangup_by": "customer", "b_hangup_cause": 16, "b_hangup_cause_txt": "Normal Clearing"}


async def prepare(engine, count: int) -> list[str]:
    ids = [uuid.uuid4().hex for _ in range(count)]
    now = dt.datetime.now(dt.timezone.utc)
    async with engine.begin() as c:
        user = (await c.execute(insert(User.__table__).values(name=f"u{uuid.uuid4().hex[:8]}", role="agent",
                                                              display_name="", active=True))).inserted_primary_key[0]
        trunk = (await c.execute(insert(Trunk.__table__).values(
            name=f"t{uuid.uuid4().hex[:8]}", host="127.0.0.2", port=5060, max_channels=10, inbound_headroom=0,
            did_start="1", did_end="2", pilot="1", created_at=now, updated_at=now))).inserted_primary_key[0]
        await c.execute(insert(Call.__table__), [dict(
            id=i, agent_id=user, requested_by="b", mode="desktop", number="+919800000000", trunk_id=trunk,
            caller_id="1", channels=1, state="connected", requested_at=now, direction="outbound") for i in ids])
    return ids


async def run(batches: int, batch: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await db.migrate(engine)
        variants = (("INSERT..SELECT", call_rows.write), ("SELECT+INSERT", select_then_insert),
                    ("without", without_event))
        best = {name: float("inf") for name, _ in variants}
        for _ in range(rounds):
            for name, write in variants:
                ids = await prepare(engine, batches * batch)
                now = dt.datetime.now(dt.timezone.utc)
                started = time.perf_counter()
                for b in range(batches):
                    await write(engine, [ended(i, now) for i in ids[b * batch:(b + 1) * batch]], [])
                best[name] = min(best[name], time.perf_counter() - started)
        await engine.dispose()
    for name, seconds in best.items():
        print(f"{name:15s} {seconds / batches * 1000:7.2f} ms per batch of {batch}, "
              f"{seconds / (batches * batch) * 1e6:6.1f} us per call")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.batches, args.batch, args.rounds))
