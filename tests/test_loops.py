"""Background loops outlive their failures: a failed iteration is counted and
the next one comes on time; a loop that dies is started again with back-off
and /healthz-style health says so; stopping the server stops every loop,
even one whose library swallowed the cancellation."""
from __future__ import annotations

import asyncio
import logging

import pytest
from redis import exceptions as redis_errors

from callcenter import loops as loops_module
from callcenter.loops import Loops, RateLimitedLog, stop_tasks
from monitoring.metrics import Metrics

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)


def counted(metrics, name: str, *labels) -> float:
    return getattr(metrics, name).labels(*labels)._value.get()


async def test_a_failed_iteration_is_counted_and_the_loop_goes_on():
    metrics = Metrics()
    loops = Loops(metrics)
    turns = []

    async def iteration():
        turns.append(len(turns))
        if len(turns) in (2, 3):
            raise redis_errors.ConnectionError("Redis went away")
        if len(turns) == 4:
            raise KeyError("a bug")

    loops.every("reconcile", 0.01, iteration, first=True)
    for _ in range(200):
        if len(turns) >= 6:
            break
        await asyncio.sleep(0.01)
    await loops.close()
    assert len(turns) >= 6
    assert counted(metrics, "loop_errors", "reconcile", "redis_unavailable") == 2
    assert counted(metrics, "loop_errors", "reconcile", "KeyError") == 1
    health = loops.health()["reconcile"]
    assert health["errors"] == 3 and health["restarts"] == 0 and "KeyError" in health["last_error"]


async def test_a_loop_that_dies_is_started_again_and_health_says_so(monkeypatch):
    monkeypatch.setattr(loops_module, "FIRST_BACKOFF", 0.05)
    metrics = Metrics()
    loops = Loops(metrics)
    runs = []
    release = asyncio.Event()

    async def writer():
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("writer crashed")
        await release.wait()  # the second run stays up

    loops.start("call_writer", writer)
    await asyncio.sleep(0.01)
    assert loops.health()["call_writer"]["running"] is False  # down, waiting for its back-off
    assert not loops.all_running()
    for _ in range(100):
        if len(runs) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(runs) == 2 and loops.all_running()
    assert loops.health()["call_writer"]["restarts"] == 1
    assert counted(metrics, "loop_restarts", "call_writer") == 1
    await loops.close()


async def test_closing_stops_a_loop_whose_cancellation_was_swallowed(monkeypatch):
    monkeypatch.setattr(loops_module, "CLOSE_ROUND_SECONDS", 0.05)
    loops = Loops(Metrics())

    async def stubborn():
        try:
            await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            pass  # as a client library caught mid-call may do

    loops.every("watch", 0.001, stubborn, first=True)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(loops.close(), 2)
    assert not loops.tasks


def test_the_same_trouble_is_logged_once_a_minute_with_a_count(caplog):
    now = [0.0]
    rate_limited = RateLimitedLog(logging.getLogger("test"), every=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for second in range(0, 125, 5):
            now[0] = second
            rate_limited.warning("redis", "Redis is down")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Redis is down", "Redis is down (11 more since the last report)",
                     "Redis is down (11 more since the last report)"]


async def test_a_loop_of_the_system_runs_only_while_this_process_holds_its_lease():
    loops = Loops(Metrics())
    duties, pbx = type("Lease", (), {"held": False})(), type("Lease", (), {"held": True})()
    loops.leases.update(duties=duties, pbx=pbx)
    turns = {"sweep": 0, "fence": 0, "probes": 0}

    def counting(name):
        async def iteration():
            turns[name] += 1
        return iteration
    loops.every("sweep", 0.01, counting("sweep"), first=True, once=True)
    loops.every("fence", 0.01, counting("fence"), first=True, once="pbx")
    loops.every("probes", 0.01, counting("probes"), first=True)
    await asyncio.sleep(0.2)
    assert turns["sweep"] == 0 and turns["fence"] > 0 and turns["probes"] > 0
    health = loops.health()
    assert health["sweep"]["once"] == "duties" and health["sweep"]["active"] is False
    assert health["sweep"]["running"] and loops.all_running()  # waiting is no failure
    assert "once" not in health["probes"]

    duties.held, pbx.held = True, False  # another process died; this one took the duties
    fence_before = turns["fence"]
    await asyncio.sleep(0.2)
    fence_after = turns["fence"]
    await loops.close()
    assert turns["sweep"] > 0 and fence_after - fence_before <= 1


async def test_a_close_stops_a_task_that_swallowed_its_cancellation(monkeypatch, caplog):
    # what a close in the server does with its tasks (the live bus, the call writer, the IVR...):
    # a task that swallows the first cancellation, as a library caught mid-call may, is cancelled
    # again; one cancelled once and gathered made a test server's close wait until pytest's timeout
    monkeypatch.setattr(loops_module, "FIRST_CLOSE_SECONDS", 0.05)
    monkeypatch.setattr(loops_module, "CLOSE_ROUND_SECONDS", 0.05)
    swallowed = []

    async def stubborn():
        while True:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)

    async def failing():
        raise RuntimeError("failed before the close")

    tasks = [asyncio.create_task(stubborn()), asyncio.create_task(failing())]
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(stop_tasks(tasks, "test task"), 2)
    assert swallowed and all(task.done() for task in tasks)
    assert "did not stop" not in caplog.text
