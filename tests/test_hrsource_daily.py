"""The daily pull of the head count from the HR system (callcenter/hrsource/
daily.py over callcenter/schedule.py): at the admin's time a clean list
commits itself (leavers disabled and their customers re-allocated, movers
moved); a list where too many would leave, or with a wrong row, waits for an
admin; an HR system that is down is a failed run tried again later."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from callcenter.hrsource.daily import DailyPull
from callcenter.models import AuditEntry, ScheduledRun, User
from callcenter.work.models import WorkItem
from tests.fake_hr import employee
from tests.hr_setup import api, hr, known, source_settings, todays_list  # noqa: F401 - fixtures
from tests.light_app import call
from tests.test_schedule import Clock


async def active(sessions) -> dict:
    async with sessions() as s:
        return {u.employee_id: u.active for u in (await s.scalars(select(User).where(User.employee_id.is_not(None))))}


async def fetches(api) -> list[dict]:
    return (await call(api, "GET", "/api/v1/hrsource/fetches", "admin"))[1]["fetches"]


async def test_the_daily_pull_commits_a_clean_list_by_itself_at_its_time(api, hr, known, sessions, settings):
    hr.employees = todays_list()
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr, daily_at="06:30"))
    clock = Clock("2026-12-07 06:29")
    pull = DailyPull(sessions, settings, clock=clock)
    assert await pull.tick() == {}
    clock.advance(minutes=1)
    assert await pull.tick() == {"headcount:pull": "done"}
    assert await pull.tick() == {}                                       # once a day
    [fetch] = await fetches(api)
    assert (fetch["trigger"], fetch["status"], fetch["upload_status"]) == ("scheduled", "committed", "committed")
    assert (fetch["detail"]["result"]["deactivated"], fetch["detail"]["result"]["moved"],
            fetch["detail"]["result"]["created"]) == (1, 1, 2)
    now = await active(sessions)
    assert now["E100"] is False and now["E200"] is True and now["E101"] is True
    async with sessions() as s:
        owners = set((await s.scalars(select(WorkItem.agent_id).where(WorkItem.id.in_(known["items"])))).all())
        assert known["ids"]["E100"] not in owners and None not in owners
        commit = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "headcount.commit"))).one()
        assert commit.actor == "hr-source"
        run = (await s.scalars(select(ScheduledRun))).one()
        assert (run.status, run.detail["status"]) == ("done", "committed")


async def test_a_list_where_many_would_leave_waits_for_an_admin(api, hr, known, sessions, settings):
    hr.employees = todays_list(resigned=("E100", "E101", "E103", "E104"))   # 4 of 13 active: 31 %
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr))
    assert await DailyPull(sessions, settings, clock=Clock("2026-12-07 06:00")).tick() == {"headcount:pull": "done"}
    [fetch] = await fetches(api)
    assert (fetch["status"], fetch["upload_status"]) == ("held", "validated")
    assert fetch["detail"]["held_because"] == (
        "4 of 13 active executives would be disabled (31 %, more than the 10 % allowed): "
        "check the list, then commit it by hand")
    assert all((await active(sessions)).values())                         # nobody disabled
    status, body = await call(api, "POST", f"/api/v1/headcount/{fetch['upload_id']}/commit", "admin")
    assert status == 200 and body["deactivated"] == 4                     # the admin decides
    # a higher guard lets the same kind of list through the next day
    await call(api, "PUT", "/api/v1/hrsource", "admin", {"max_leavers_percent": 50})
    hr.employees = todays_list(resigned=("E100", "E101", "E103", "E104", "E105", "E106"))
    assert await DailyPull(sessions, settings, clock=Clock("2026-12-08 06:00")).tick() == {"headcount:pull": "done"}
    assert (await fetches(api))[0]["status"] == "committed"


async def test_a_list_with_a_wrong_row_is_rejected_and_nothing_changes(api, hr, known, sessions, settings):
    hr.employees = todays_list() + [employee("E300", "Nowhere Man", "XXX99", "Active", phone="9876500000")]
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr))
    assert await DailyPull(sessions, settings, clock=Clock("2026-12-07 07:00")).tick() == {"headcount:pull": "done"}
    [fetch] = await fetches(api)
    assert (fetch["status"], fetch["upload_status"]) == ("rejected", "rejected")
    assert fetch["detail"]["held_because"] == "1 invalid row(s): fix them in the HR system"
    _, report = await call(api, "GET", f"/api/v1/headcount/{fetch['upload_id']}", "admin")
    assert [r["reason"] for r in report["invalid_rows"]] == ["unknown store code XXX99"]
    assert all((await active(sessions)).values())


async def test_automatic_commit_off_leaves_a_clean_pull_for_an_admin(api, hr, known, sessions, settings):
    hr.employees = todays_list()
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr, auto_commit=False))
    await DailyPull(sessions, settings, clock=Clock("2026-12-07 07:00")).tick()
    [fetch] = await fetches(api)
    assert (fetch["status"], fetch["upload_status"]) == ("validated", "validated")
    assert (await active(sessions))["E100"] is True


async def test_an_hr_system_down_is_a_failed_run_tried_again_later(api, hr, known, sessions, settings):
    hr.employees, hr.down = todays_list(), True
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr))
    clock = Clock("2026-12-07 06:00")
    pull = DailyPull(sessions, settings, clock=clock, retry_minutes=15)
    assert await pull.tick() == {"headcount:pull": "failed"}               # the loop goes on
    [failed] = await fetches(api)
    assert (failed["status"], failed["error"]) == ("failed", "the token URL answered 503")
    clock.advance(minutes=5)
    assert await pull.tick() == {}                                        # not before the retry time
    hr.down = False
    clock.advance(minutes=10)
    assert await pull.tick() == {"headcount:pull": "done"}
    assert [f["status"] for f in await fetches(api)] == ["committed", "failed"]
    async with sessions() as s:
        run = (await s.scalars(select(ScheduledRun))).one()
        assert (run.status, run.attempts, run.day) == ("done", 2, dt.date(2026, 12, 7))


async def test_no_daily_pull_when_the_source_is_off_or_has_no_time(api, hr, known, sessions, settings):
    hr.employees = todays_list()
    pull = DailyPull(sessions, settings, clock=Clock("2026-12-07 23:00"))
    assert await pull.tick() == {}                                        # never configured
    await call(api, "PUT", "/api/v1/hrsource", "admin", source_settings(hr, enabled=False))
    assert await pull.tick() == {}
    await call(api, "PUT", "/api/v1/hrsource", "admin", {"enabled": True, "daily_at": ""})
    assert await pull.tick() == {}
    assert await fetches(api) == [] and hr.list_requests == []
