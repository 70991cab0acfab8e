"""Reports mailed on a schedule, through the JSON API on the real middleware
(tests/light_app.py), the daily run of callcenter/schedule.py with an
injected clock (Asia/Kolkata), the notification outbox's dispatcher and a
real SMTP exchange with a tiny SMTP server on 127.0.0.1: each recipient
gets the figures of their own part of the organisation in the attached
CSV / XLSX, a send that fails is retried and shows on the schedule's page
with its attempts, the send time is local, a paused schedule sends nothing,
and a day is mailed once however many times the schedules are looked at."""
from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
import socket

import openpyxl
import pytest
from sqlalchemy import func, select, update

from callcenter.models import ScheduledRun, User, utcnow
from callcenter.notifications.dispatcher import Dispatcher
from callcenter.notifications.models import Notification, NotificationAttachment
from callcenter.notifications.providers import SmtpProvider
from callcenter.org.models import Location
from callcenter.report_schedules.models import ReportSchedule
from callcenter.report_schedules.runner import Mailer
from tests import factories as f
from tests.event_texts import add_event_texts
from tests.light_app import call, light_app, page
from tests.test_notifications_providers import TinySmtp, smtp_settings
from tests.test_reports_service import add_call
from tests.test_schedule import Clock

ZONE = "Asia/Kolkata"
REPORT_DAY = dt.date(2026, 12, 6)
RUN_AT = "2026-12-07 06:00"  # local time of the day after
UTC = dt.timezone.utc
ADDRESSES = {"lead_n": "lead.north@example.org", "manager_n": "manager.north@example.org",
             "manager_s": "manager.south@example.org"}


@pytest.fixture
async def app(settings, sessions):
    app = await light_app(settings, sessions)
    r = app.rows
    async with sessions() as s, s.begin():
        trunk = await f.trunk(s)
        users = {k: await s.get(User, r[k]) for k in ("agent_n", "exec1", "exec2", "exec3")}
        ten_thirty = dt.datetime(2026, 12, 6, 5, 0, tzinfo=UTC)  # 10:30 in Kolkata, the report's day
        await add_call(s, trunk, users["agent_n"], None, ten_thirty, talk=60)
        await add_call(s, trunk, users["agent_n"], None, ten_thirty + dt.timedelta(minutes=5))
        await add_call(s, trunk, users["exec1"], None, ten_thirty, talk=30)
        await add_call(s, trunk, users["exec3"], None, ten_thirty, talk=45)
        # 20:00 UTC on the 6th is 01:30 on the 7th in Kolkata: not the report's day
        await add_call(s, trunk, users["exec2"], None, dt.datetime(2026, 12, 6, 20, 0, tzinfo=UTC), talk=10)
    for who, address in ADDRESSES.items():
        status, body = await call(app, "PATCH", f"/api/v1/users/{r[who]}", "admin", {"email": address})
        assert status == 200 and body["user"]["email"] == address
    yield app
    await app.client.close()


def mailer(app, clock) -> Mailer:
    return Mailer(app.services.sessions, ZONE, clock=clock)


def dispatcher(app, port, clock=utcnow) -> Dispatcher:
    n = smtp_settings(port, max_attempts=3, backoff_seconds=60)
    return Dispatcher(n, app.services.sessions, {"email": SmtpProvider(n)}, clock=clock)


async def schedule(app, who="admin", **fields) -> dict:
    body = {"name": "Morning figures", "report": "agents", "formats": "both", "send_at": "06:00",
            "roles": ["teamlead", "manager"], **fields}
    status, out = await call(app, "POST", "/api/v1/report-schedules", who, body)
    assert status == 201, out
    async with app.services.sessions() as s, s.begin():  # made long before the runs below, whatever today is
        await s.execute(update(ReportSchedule).where(ReportSchedule.id == out["id"])
                        .values(created_at=dt.datetime(2026, 1, 1, tzinfo=UTC)))
    return out


def received(server: TinySmtp) -> dict[str, email.message.EmailMessage]:
    mails = [email.message_from_bytes(raw, policy=email.policy.default) for raw in server.messages]
    return {m["To"]: m for m in mails}


def files_of(mail) -> dict[str, object]:
    return {part.get_filename(): part.get_content() for part in mail.iter_attachments()}


def csv_logins(text: str) -> list[str]:
    return [row["login"] for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))]


def xlsx_logins(data: bytes) -> list[str]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("login")
    return [row[column] for row in rows[1:]]


async def notifications(app) -> list[Notification]:
    async with app.services.sessions() as s:
        return list((await s.scalars(select(Notification).order_by(Notification.id))).all())


async def test_each_recipient_gets_their_own_part_of_the_organisation(app):
    await schedule(app)
    assert await mailer(app, Clock(RUN_AT)).tick() == {"report-schedule:1": "done"}
    async with TinySmtp() as server:
        assert await dispatcher(app, server.port).tick() == {"sent": 3}
    mails = received(server)
    assert set(mails) == set(ADDRESSES.values())
    lead, north, south = (mails[ADDRESSES[k]] for k in ("lead_n", "manager_n", "manager_s"))
    name = f"agents-{REPORT_DAY.isoformat()}"
    assert set(files_of(lead)) == {f"{name}.csv", f"{name}.xlsx"}
    # the team lead: their team only; the north manager: the north; the south manager: the south
    assert csv_logins(files_of(lead)[f"{name}.csv"]) == ["agent_n"]
    assert xlsx_logins(files_of(lead)[f"{name}.xlsx"]) == ["agent_n"]
    assert csv_logins(files_of(north)[f"{name}.csv"]) == ["agent_n", "exec1", "exec2"]
    assert xlsx_logins(files_of(north)[f"{name}.xlsx"]) == ["agent_n", "exec1", "exec2"]
    assert csv_logins(files_of(south)[f"{name}.csv"]) == ["exec3"]
    assert lead["Subject"] == f"Daily report per agent {REPORT_DAY.isoformat()} · Morning figures"
    text = north.get_body(("plain",)).get_content()
    # exec2's call at 01:30 on the 7th (Kolkata) is not in the 6th's report
    assert "Calls placed: 3 · connected: 2 · talk time: 0:01:30 · appointments: 0" in text
    assert "Top (connected calls): Agent_N 1, Exec1 1, Exec2 0" in text
    assert "Calls placed: 2 · connected: 1" in lead.get_body(("plain",)).get_content()


async def test_explicit_addresses_get_the_owners_scope_and_the_run_is_on_the_page(app):
    made = await schedule(app, "manager_n", roles=[], emails="ops@example.org\nOps@Example.org", formats="csv")
    assert made["emails"] == ["ops@example.org"]
    await mailer(app, Clock(RUN_AT)).tick()
    async with TinySmtp() as server:
        await dispatcher(app, server.port).tick()
    mail = received(server)["ops@example.org"]
    assert list(files_of(mail)) == [f"agents-{REPORT_DAY.isoformat()}.csv"]
    assert csv_logins(files_of(mail)[f"agents-{REPORT_DAY.isoformat()}.csv"]) == ["agent_n", "exec1", "exec2"]
    status, body = await call(app, "GET", f"/api/v1/report-schedules/{made['id']}", "manager_n")
    assert status == 200
    assert [(r["day"], r["status"], r["detail"]["mails"]) for r in body["runs"]] == [("2026-12-07", "done", 1)]
    assert body["runs"][0]["detail"]["no_address"] == []
    assert [(m["recipient"], m["status"], m["attempts"]) for m in body["mails"]] == [("ops@example.org", "sent", 1)]
    # the other location's manager does not see it
    assert (await call(app, "GET", f"/api/v1/report-schedules/{made['id']}", "manager_s"))[0] == 404
    assert (await call(app, "GET", "/api/v1/report-schedules", "manager_s"))[1] == {"schedules": []}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_send_that_fails_is_retried_and_shows_on_the_page(app):
    made = await schedule(app, roles=[], emails=["boss@example.org"])
    await mailer(app, Clock(RUN_AT)).tick()
    now = [utcnow()]
    down = dispatcher(app, closed_port(), clock=lambda: now[0])
    assert await down.tick() == {"pending": 1}                     # SMTP down: kept for a retry
    status, body = await call(app, "GET", f"/api/v1/report-schedules/{made['id']}", "admin")
    mail = body["mails"][0]
    assert (mail["status"], mail["attempts"]) == ("pending", 1)
    assert mail["next_attempt_at"] and "SMTP" in mail["attempt_log"][0]["error"]
    resp, html = await page(app, "GET", f"/reports/schedules/{made['id']}", "admin")
    assert resp.status == 200
    assert "Pending" in html and "ConnectionRefusedError" in html and "boss@example.org" in html
    assert await down.tick() == {}                                 # not before its back-off
    now[0] += dt.timedelta(seconds=61)
    async with TinySmtp() as server:
        up = dispatcher(app, server.port, clock=lambda: now[0])
        assert await up.tick() == {"sent": 1}
    assert list(received(server)) == ["boss@example.org"]
    mail = (await call(app, "GET", f"/api/v1/report-schedules/{made['id']}", "admin"))[1]["mails"][0]
    assert (mail["status"], mail["attempts"], [a["ok"] for a in mail["attempt_log"]]) == ("sent", 2, [False, True])
    # after the last attempt it is marked failed, and the page says so
    await mailer(app, Clock(RUN_AT)).tick()
    await call(app, "POST", f"/api/v1/report-schedules/{made['id']}/send", "admin")
    for _ in range(3):
        now[0] += dt.timedelta(hours=1)
        await down.tick()
    mail = (await call(app, "GET", f"/api/v1/report-schedules/{made['id']}", "admin"))[1]["mails"][0]
    assert (mail["status"], mail["attempts"]) == ("failed", 3)
    assert "Failed" in (await page(app, "GET", f"/reports/schedules/{made['id']}", "admin"))[1]


async def test_the_send_time_is_local_and_a_day_is_mailed_once(app):
    await schedule(app, send_at="06:00")
    clock = Clock("2026-12-07 05:59")            # 00:29 UTC
    assert await mailer(app, clock).tick() == {}
    assert await notifications(app) == []
    clock.advance(minutes=1)                     # 06:00 in Kolkata, 00:30 UTC
    assert await mailer(app, clock).tick() == {"report-schedule:1": "done"}
    assert len(await notifications(app)) == 3
    clock.advance(hours=2)
    assert await mailer(app, clock).tick() == {}  # a restart, a second server: not again
    assert len(await notifications(app)) == 3
    async with app.services.sessions() as s:
        run = await s.scalar(select(ScheduledRun))
        files = await s.scalar(select(func.count()).select_from(NotificationAttachment))
    assert (run.job, run.day, run.status, run.detail["mails"]) == ("report-schedule:1", dt.date(2026, 12, 7), "done", 3)
    assert files == 6                             # CSV and XLSX for each of the three


async def test_people_of_the_roles_without_an_address_are_named_on_the_run(app):
    made = await schedule(app, roles=["teamlead"])
    await call(app, "PATCH", f"/api/v1/users/{app.rows['lead_n']}", "admin", {"email": None})
    await mailer(app, Clock(RUN_AT)).tick()
    assert await notifications(app) == []
    resp, html = await page(app, "GET", f"/reports/schedules/{made['id']}", "admin")
    assert "no e-mail address: lead_n" in html


async def test_a_paused_schedule_sends_nothing(app):
    made = await schedule(app)
    status, body = await call(app, "PATCH", f"/api/v1/report-schedules/{made['id']}", "admin", {"active": False})
    assert status == 200 and body["active"] is False
    assert await mailer(app, Clock(RUN_AT)).tick() == {}
    assert await notifications(app) == []
    await call(app, "PATCH", f"/api/v1/report-schedules/{made['id']}", "admin", {"active": True})
    assert await mailer(app, Clock(RUN_AT)).tick() == {"report-schedule:1": "done"}
    assert len(await notifications(app)) == 3


async def test_one_schedule_failing_never_stops_another(app):
    broken = await schedule(app, "manager_s", name="South", roles=["manager"])
    working = await schedule(app, "manager_n", name="North", roles=["teamlead"])
    async with app.services.sessions() as s, s.begin():
        await s.execute(update(User).where(User.id == app.rows["manager_s"]).values(active=False))
    ran = await mailer(app, Clock(RUN_AT)).tick()
    assert ran == {f"report-schedule:{broken['id']}": "failed", f"report-schedule:{working['id']}": "done"}
    resp, html = await page(app, "GET", f"/reports/schedules/{broken['id']}", "admin")
    assert "failed" in html and "owner is disabled" in html
    assert [n.recipient for n in await notifications(app)] == [ADDRESSES["lead_n"]]
    runs = (await call(app, "GET", "/api/v1/report-schedules", "admin"))[1]["schedules"]
    last = {s["name"]: s["last_run"] for s in runs}
    assert last["South"]["status"] == "failed" and "owner is disabled" in last["South"]["error"]
    assert last["North"]["status"] == "done"


async def test_send_now_mails_at_once_within_the_owners_reach(app):
    made = await schedule(app, period="today", roles=["manager"], send_at="23:59")
    status, body = await call(app, "POST", f"/api/v1/report-schedules/{made['id']}/send", "admin")
    assert status == 202 and body["mails"] == 2 and sorted(body["to"]) == ["manager_n", "manager_s"]
    # the admin's schedule is out of a manager's reach; the manager's own reaches their location only
    assert (await call(app, "POST", f"/api/v1/report-schedules/{made['id']}/send", "manager_n"))[0] == 404
    own = await schedule(app, "manager_n", period="today", roles=["manager"], send_at="23:59")
    status, body = await call(app, "POST", f"/api/v1/report-schedules/{own['id']}/send", "manager_n")
    assert status == 202 and body["to"] == ["manager_n"]
    assert [n.entity_id for n in await notifications(app)] == [str(made["id"])] * 2 + [str(own["id"])]


@pytest.mark.parametrize("who, fields, status, error, field", [
    ("admin", {"send_at": "25:00"}, 422, "invalid_schedule", "send_at"),
    ("admin", {"report": "weekly"}, 422, "invalid_schedule", "report"),
    ("admin", {"formats": "pdf"}, 422, "invalid_schedule", "formats"),
    ("admin", {"emails": ["not-an-address"]}, 422, "invalid_schedule", "emails"),
    ("admin", {"roles": [], "emails": []}, 422, "invalid_schedule", "roles"),
    ("admin", {"report": "campaign"}, 422, "invalid_schedule", "campaign_id"),
    ("manager_n", {"roles": ["admin"]}, 422, "invalid_schedule", "roles"),
    ("lead_n", {}, 403, "forbidden", None),
])
async def test_bad_schedules_are_refused_clearly(app, who, fields, status, error, field):
    body = {"name": "x", "report": "agents", "send_at": "06:00", "roles": ["manager"], **fields}
    got, out = await call(app, "POST", "/api/v1/report-schedules", who, body)
    assert (got, out["error"]) == (status, error)
    if field:
        assert out["field"] == field and out["message"]
    assert (await call(app, "GET", "/api/v1/report-schedules", "admin"))[1] == {"schedules": []}


async def test_a_user_email_is_checked(app):
    status, body = await call(app, "PATCH", f"/api/v1/users/{app.rows['agent_n']}", "admin", {"email": "a@b"})
    assert (status, body["error"]) == (422, "invalid_email")
    status, body = await call(app, "PATCH", f"/api/v1/users/{app.rows['agent_n']}", "admin", {"email": ""})
    assert status == 200 and body["user"]["email"] is None


async def test_a_run_mails_everyone_or_nobody(app, monkeypatch):
    from callcenter.notifications import outbox
    real, calls = outbox.enqueue, []

    def flaky(*args, **kw):
        calls.append(args[2])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kw)
    await schedule(app)
    monkeypatch.setattr(outbox, "enqueue", flaky)
    clock = Clock(RUN_AT)
    assert await mailer(app, clock).tick() == {"report-schedule:1": "failed"}
    assert await notifications(app) == []             # the first recipient's mail went with the rollback
    monkeypatch.setattr(outbox, "enqueue", real)
    clock.advance(minutes=16)
    assert await mailer(app, clock).tick() == {"report-schedule:1": "done"}
    assert len(await notifications(app)) == 3


async def test_a_process_dying_right_after_the_mails_were_committed_never_mails_twice(app):
    """The run row is marked done in the mails' own transaction: a server
    taking the run over after the lease finds it done, not 'running'."""
    from callcenter.report_schedules.mailing import run_day
    made = await schedule(app)
    day = dt.date(2026, 12, 7)
    async with app.services.sessions() as s, s.begin():   # claimed 5 hours ago by a process since gone
        s.add(ScheduledRun(job="report-schedule:1", day=day, status="running", attempts=1, error="", detail={},
                           started_at=utcnow() - dt.timedelta(hours=5), next_attempt_at=utcnow()))
    assert (await run_day(app.services.sessions, made["id"], day, ZONE))["mails"] == 3
    # ... and it died here, before the schedule wrote the run's end
    assert await mailer(app, Clock("2026-12-07 11:00")).tick() == {}
    assert len(await notifications(app)) == 3


async def test_stores_campaign_and_nps_reports_each_in_the_recipients_scope(app):
    async with app.services.sessions() as s, s.begin():
        north = await s.get(Location, app.rows["north"])
        camp = await f.campaign(s, "North walk-ins", loc=north)
    await schedule(app, name="Stores", report="stores", formats="xlsx", roles=["manager"])
    await schedule(app, name="Campaign", report="campaign", campaign_id=camp.id, formats="csv", roles=["manager"])
    await schedule(app, name="NPS", report="nps", formats="csv", roles=["manager"])
    assert set((await mailer(app, Clock(RUN_AT)).tick()).values()) == {"done"}
    async with TinySmtp() as server:
        assert await dispatcher(app, server.port).tick() == {"sent": 5}
    mails = [email.message_from_bytes(raw, policy=email.policy.default) for raw in server.messages]
    by = {(m["To"], m["Subject"].rsplit(" · ", 1)[1]): m for m in mails}
    north_stores = files_of(by[ADDRESSES["manager_n"], "Stores"])[f"stores-{REPORT_DAY.isoformat()}.xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(north_stores), read_only=True).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["DEL01", "DEL02"]
    # the campaign is the north's: the south's manager is skipped, not sent another's figures
    assert (ADDRESSES["manager_s"], "Campaign") not in by
    assert "Campaign: North walk-ins" in by[ADDRESSES["manager_n"], "Campaign"].get_body(("plain",)).get_content()
    assert "NPS: - from 0 answers" in by[ADDRESSES["manager_s"], "NPS"].get_body(("plain",)).get_content()
    status, body = await call(app, "GET", "/api/v1/report-schedules", "admin")
    campaign_run = next(s["last_run"] for s in body["schedules"] if s["name"] == "Campaign")
    assert campaign_run["detail"]["skipped"] == ["manager_s"]


async def test_the_outbox_takes_only_server_named_files_on_emails_and_lists_them_without_bytes(app):
    from callcenter.notifications import outbox
    from callcenter.notifications.exceptions import InvalidNotification
    async with app.services.sessions() as s:
        for channel, recipient, name in (("email", "a@example.org", "../etc/passwd"),
                                         ("email", "a@example.org", "Report.CSV"),
                                         ("sms", "+919812345678", "agents.csv")):
            with pytest.raises(InvalidNotification):
                outbox.enqueue(s, channel, recipient, "s", "body", attachments=[(name, "text/csv", b"x")])
            await s.rollback()
    await schedule(app, roles=[], emails=["boss@example.org"], formats="csv")
    await mailer(app, Clock(RUN_AT)).tick()
    status, body = await call(app, "GET", "/api/v1/notifications?entity=report_schedule", "admin")
    files = body["notifications"][0]["attachments"]
    assert status == 200 and [f["filename"] for f in files] == [f"agents-{REPORT_DAY.isoformat()}.csv"]
    assert files[0]["size"] > 100 and "content" not in files[0]


async def test_a_schedule_made_after_its_time_starts_the_next_day(app):
    made = await schedule(app)
    async with app.services.sessions() as s, s.begin():  # made at 10:00 in Kolkata, for 06:00
        await s.execute(update(ReportSchedule).where(ReportSchedule.id == made["id"])
                        .values(created_at=dt.datetime(2026, 12, 7, 4, 30, tzinfo=UTC)))
    clock = Clock("2026-12-07 10:01")
    assert await mailer(app, clock).tick() == {"report-schedule:1": "done"}
    assert await notifications(app) == []
    clock.advance(days=1)
    assert await mailer(app, clock).tick() == {"report-schedule:1": "done"}
    assert len(await notifications(app)) == 3


async def test_the_pages_keep_what_was_typed_on_a_mistake_and_pause_resume_delete(app):
    form = {"name": "Evening", "report": "agents", "period": "today", "formats": "csv", "send_at": "7pm",
            "roles": "manager", "emails": "ops@example.org", "active": "1"}
    resp, html = await page(app, "POST", "/reports/schedules", "manager_n", form)
    assert resp.status == 422 and "HH:MM" in html
    assert 'value="Evening"' in html and "ops@example.org" in html
    assert (await call(app, "GET", "/api/v1/report-schedules", "admin"))[1] == {"schedules": []}
    resp, _ = await page(app, "POST", "/reports/schedules", "manager_n", {**form, "send_at": "19:00"})
    assert resp.status == 303
    path = resp.headers["Location"]
    resp, _ = await page(app, "POST", f"{path}/pause", "manager_n")
    assert resp.status == 303
    resp, html = await page(app, "GET", path, "manager_n")
    assert "· paused" in html and "Resume" in html
    assert (await page(app, "GET", path, "lead_n"))[0].status == 403
    assert (await page(app, "GET", path, "manager_s"))[0].status == 404
    resp, _ = await page(app, "POST", f"{path}/delete", "manager_n")
    assert resp.status == 303 and (await page(app, "GET", path, "manager_n"))[0].status == 404


def test_the_section_is_checked():
    from callcenter.report_schedules.settings import ReportScheduleSettings, check
    check(ReportScheduleSettings())
    for bad in (dict(check_interval=0), dict(retry_minutes=-1), dict(max_attempts=0)):
        with pytest.raises(ValueError):
            check(ReportScheduleSettings(**bad))


async def test_the_owner_hears_the_report_is_ready_without_a_second_copy_of_the_file(app):
    async with app.services.sessions() as s, s.begin():
        await add_event_texts(s)
    await schedule(app, "manager_n", name="For the leads", roles=["teamlead"])      # the owner is not mailed
    await schedule(app, "manager_n", name="For me", roles=["manager"])              # the owner is mailed
    run = Mailer(app.services.sessions, ZONE, clock=Clock(RUN_AT), settings=app.services.settings)
    assert await run.tick() == {"report-schedule:1": "done", "report-schedule:2": "done"}
    async with app.services.sessions() as s:
        ready = (await s.scalars(select(Notification).where(Notification.event == "report.ready")
                                 .order_by(Notification.id))).all()
        files = await s.scalar(select(func.count()).select_from(NotificationAttachment).where(
            NotificationAttachment.notification_id.in_([n.id for n in ready])))
    assert [(n.channel, n.recipient, n.entity_id) for n in ready] == [
        ("log", "user:manager_n", "1"), ("email", ADDRESSES["manager_n"], "1"), ("log", "user:manager_n", "2")]
    assert "For the leads" in ready[0].subject and files == 0
