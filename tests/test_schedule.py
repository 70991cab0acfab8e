"""Daily jobs (callcenter/schedule.py) against a migrated SQLite database: a
job runs once per local day at its time, survives restarts and a second
server, and a failed run is tried again later the same day."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from callcenter.models import ScheduledRun
from callcenter.schedule import DailyJob, Schedule, parse_time, runs_of

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


class Clock:
    def __init__(self, local: str) -> None:
        self.now = dt.datetime.fromisoformat(local).replace(tzinfo=IST).astimezone(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def schedule(sessions, clock, **kw) -> Schedule:
    return Schedule(sessions, "Asia/Kolkata", clock=clock, **kw)


async def test_a_job_runs_once_a_day_at_its_local_time(sessions):
    clock, days = Clock("2026-12-07 05:59"), []

    async def mail(day):
        days.append(day)
        return {"sent": 3}
    jobs = [DailyJob("reports:daily", parse_time("06:00"), mail)]
    first = schedule(sessions, clock)
    assert await first.tick(jobs) == {}                        # not yet 06:00 in Kolkata
    clock.advance(minutes=1)
    assert await first.tick(jobs) == {"reports:daily": "done"}
    assert await first.tick(jobs) == {}                        # once a day
    assert await schedule(sessions, clock).tick(jobs) == {}    # a restart, or a second server: not again
    clock.advance(days=1)
    assert await first.tick(jobs) == {"reports:daily": "done"}
    assert days == [dt.date(2026, 12, 7), dt.date(2026, 12, 8)]
    async with sessions() as session:
        runs = await runs_of(session, "reports:")
    assert [(r.day, r.status, r.detail) for r in runs] == [
        (dt.date(2026, 12, 8), "done", {"sent": 3}), (dt.date(2026, 12, 7), "done", {"sent": 3})]


async def test_a_server_down_at_the_time_runs_the_job_when_it_comes_back(sessions):
    clock, days = Clock("2026-12-07 11:40"), []

    async def pull(day):
        days.append(day)
    assert await schedule(sessions, clock).tick([DailyJob("headcount:pull", dt.time(6, 0), pull)]) \
        == {"headcount:pull": "done"}
    assert days == [dt.date(2026, 12, 7)]


async def test_a_failed_run_is_kept_and_tried_again_later_up_to_the_limit(sessions):
    clock, calls = Clock("2026-12-07 06:00"), []

    async def flaky(day):
        calls.append(clock())
        if len(calls) < 3:
            raise ConnectionError("HR system refused the connection")
        return {"employees": 40}
    jobs = [DailyJob("headcount:pull", dt.time(6, 0), flaky)]
    runner = schedule(sessions, clock, retry_minutes=15, max_attempts=5)
    assert await runner.tick(jobs) == {"headcount:pull": "failed"}
    async with sessions() as session:
        run = (await runs_of(session, "headcount:"))[0]
    assert (run.status, run.attempts) == ("failed", 1)
    assert "ConnectionError: HR system refused the connection" in run.error
    clock.advance(minutes=10)
    assert await runner.tick(jobs) == {}                       # not before the retry time
    clock.advance(minutes=5)
    assert await runner.tick(jobs) == {"headcount:pull": "failed"}
    clock.advance(minutes=15)
    assert await runner.tick(jobs) == {"headcount:pull": "done"}
    async with sessions() as session:
        run = (await runs_of(session, "headcount:"))[0]
    assert (run.status, run.attempts, run.error, run.detail) == ("done", 3, "", {"employees": 40})


async def test_a_run_fails_for_good_after_the_last_attempt(sessions):
    clock = Clock("2026-12-07 06:00")

    async def down(day):
        raise TimeoutError("no answer")
    jobs = [DailyJob("reports:daily", dt.time(6, 0), down)]
    runner = schedule(sessions, clock, retry_minutes=1, max_attempts=2)
    assert await runner.tick(jobs) == {"reports:daily": "failed"}
    clock.advance(minutes=1)
    assert await runner.tick(jobs) == {"reports:daily": "failed"}
    clock.advance(hours=1)
    assert await runner.tick(jobs) == {}


async def test_two_servers_ticking_together_run_the_day_once(sessions):
    clock, calls = Clock("2026-12-07 07:00"), []

    async def mail(day):
        calls.append(day)
        await asyncio.sleep(0.05)
    jobs = [DailyJob("reports:daily", dt.time(6, 0), mail)]
    results = await asyncio.gather(*(schedule(sessions, clock).tick(jobs) for _ in range(4)))
    assert len(calls) == 1 and sum(len(r) for r in results) == 1


async def test_a_run_left_running_by_a_dead_process_is_taken_over_after_its_lease(sessions):
    clock, calls = Clock("2026-12-07 06:00"), []

    async def pull(day):
        calls.append(day)
    async with sessions() as session:  # a process claimed the day and died
        session.add(ScheduledRun(job="headcount:pull", day=dt.date(2026, 12, 7), status="running",
                                 attempts=1, started_at=clock(), next_attempt_at=clock(), error="", detail={}))
        await session.commit()
    jobs = [DailyJob("headcount:pull", dt.time(6, 0), pull)]
    runner = schedule(sessions, clock, lease_minutes=30)
    clock.advance(minutes=29)
    assert await runner.tick(jobs) == {}
    clock.advance(minutes=2)
    assert await runner.tick(jobs) == {"headcount:pull": "done"} and len(calls) == 1
    async with sessions() as session:
        assert (await session.scalar(select(ScheduledRun.attempts))) == 2


@pytest.mark.parametrize("text", ["6", "25:00", "06:61", "six", ""])
def test_a_time_of_day_that_is_not_one_is_refused_with_a_sentence(text):
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time(text)
