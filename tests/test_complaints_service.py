"""Complaints without HTTP: ticket numbers, scope, status changes with their
history and audit, the customer's SMS, and escalation up the hierarchy
driven by an injected clock (no sleeps)."""
import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select

from callcenter.complaints import categories, escalation, service, tickets
from callcenter.complaints.escalation import Chain, decide, owner_from
from callcenter.complaints.exceptions import (ComplaintCallNotFound, ComplaintCustomerNotFound,
                                              ComplaintNotFound, InvalidComplaint, InvalidTransition)
from callcenter.complaints.models import Complaint, ComplaintEvent
from callcenter.models import AuditEntry, Call, Event, User
from callcenter.notifications.models import Notification
from callcenter.org.scope import load_scope
from callcenter.auth.tokens import Principal
from tests import factories as f
from tests.event_texts import add_event_texts
from tests.light_app import organisation

NOW = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.timezone.utc)  # 11:30 in Asia/Kolkata
TICKET = re.compile(r"^TK-261123-\d{4}$")


@pytest.fixture
async def org(sessions):
    async with sessions() as s, s.begin():
        rows = await organisation(s)
        await add_event_texts(s)
        camp = await f.campaign(s, "Birthdays", loc=rows["north"])
        rows["cust_n"] = await f.customer(s, "+919812345601", "Meera", store=rows["s1"])
        rows["cust_e2"] = await f.customer(s, "+919812345602", "Ravi", store=rows["s2"])
        await f.work_item(s, camp, rows["cust_n"], rows["agent_n"])
        await f.work_item(s, await f.campaign(s, "Anniversaries", loc=rows["north"]), rows["cust_n"],
                          rows["exec1"])
        await f.work_item(s, camp, rows["cust_e2"], rows["exec2"])
        trunk = await f.trunk(s)
        for key, agent, cust in (("call_n", rows["agent_n"], rows["cust_n"]),
                                 ("call_e2", rows["exec2"], rows["cust_e2"])):
            call = Call(id=uuid.uuid4().hex, agent_id=agent.id, requested_by=agent.name, mode="desktop",
                        number=cust.mobile, trunk_id=trunk.id, caller_id="8062247000", channels=1,
                        state="ended", customer_id=cust.id, direction="inbound", inbound_call_id="1700.1")
            s.add(call)
            rows[key] = call
        rows["cat"] = await categories.create_category(s, "test", "delivery", "Late delivery", 24)
        rows["cat_fast"] = await categories.create_category(s, "test", "billing", "Billing", 2)
        ids = {k: v.id for k, v in rows.items()}
    return ids


async def scope_for(session, ids, who, role=None):
    user = await session.get(User, ids[who])
    return await load_scope(session, Principal(user.name, role or user.role, user.id))


async def make(sessions, settings, ids, who="agent_n", now=NOW, **fields):
    fields.setdefault("category_id", ids["cat"])
    fields.setdefault("description", "The ring was delivered late")
    if "call_id" not in fields:
        fields.setdefault("customer_id", ids["cust_n"])
    async with sessions() as s, s.begin():
        scope = await scope_for(s, ids, who)
        return await service.create(s, scope, settings, who, now=now, **fields)


async def test_tickets_are_short_readable_unique_and_count_per_day(sessions, settings, org):
    made = [await make(sessions, settings, org) for _ in range(3)]
    assert [c.ticket for c in made] == ["TK-261123-0001", "TK-261123-0002", "TK-261123-0003"]
    assert all(TICKET.fullmatch(c.ticket) for c in made)
    # the local day decides: 20:00 UTC is already the 24th in India
    late = await make(sessions, settings, org, now=NOW.replace(hour=20))
    assert late.ticket == "TK-261124-0001"
    settings.complaints.ticket_prefix = "CX"
    assert (await make(sessions, settings, org)).ticket == "CX-261123-0001"


async def test_a_taken_number_is_skipped_without_breaking_the_transaction(sessions, settings, org, monkeypatch):
    for _ in range(2):
        await make(sessions, settings, org)

    async def stale(*_args):  # as if another process had taken 0001 and 0002 meanwhile
        return 1
    monkeypatch.setattr(tickets, "next_sequence", stale)
    third = await make(sessions, settings, org)
    assert third.ticket == "TK-261123-0003"
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 3
        events = await s.scalar(select(func.count()).select_from(ComplaintEvent).where(
            ComplaintEvent.complaint_id == third.id))
        assert events == 1


async def test_create_owner_due_history_audit_and_the_customers_sms(sessions, settings, org):
    complaint = await make(sessions, settings, org, call_id=org["call_n"], priority="high")
    assert (complaint.status, complaint.level, complaint.owner_id) == ("open", "agent", org["agent_n"])
    assert complaint.customer_id == org["cust_n"] and complaint.inbound_call_id == "1700.1"
    assert complaint.location_id == org["north"]
    assert complaint.due_at.replace(tzinfo=dt.timezone.utc) == NOW + dt.timedelta(hours=24)
    async with sessions() as s:
        sms = (await s.scalars(select(Notification).where(Notification.channel == "sms"))).all()
        assert [(n.recipient, n.entity, n.entity_id) for n in sms] == [
            ("+919812345601", "complaint", str(complaint.id))]
        assert complaint.ticket in sms[0].body and "24 hours" in sms[0].body
        audit = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "complaint.create"))).one()
        assert audit.actor == "agent_n" and audit.details["ticket"] == complaint.ticket
    settings.notifications.customer_sms = False
    await make(sessions, settings, org)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Notification)) == 1


async def test_bad_input_is_refused_with_the_field_named(sessions, settings, org):
    cases = [({"priority": "panic"}, "priority"), ({"description": "  "}, "description"),
             ({"description": "x" * 2001}, "description"), ({"category_id": 999}, "category_id"),
             ({"category_id": "1"}, "category_id"), ({"customer_id": None}, "customer_id")]
    for fields, field in cases:
        with pytest.raises(InvalidComplaint) as error:
            await make(sessions, settings, org, **fields)
        assert error.value.details["field"] == field
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Complaint)) == 0


async def test_nobody_files_or_sees_a_complaint_outside_their_scope(sessions, settings, org):
    with pytest.raises(ComplaintCustomerNotFound):
        await make(sessions, settings, org, who="exec1", customer_id=org["cust_e2"])
    with pytest.raises(ComplaintCallNotFound):
        await make(sessions, settings, org, who="agent_n", call_id=org["call_e2"])
    mine = await make(sessions, settings, org, who="agent_n")
    theirs = await make(sessions, settings, org, who="exec2", customer_id=org["cust_e2"])
    expected = {"agent_n": {mine.id}, "exec1": set(), "exec2": {theirs.id}, "lead_n": {mine.id},
                "manager_n": {mine.id, theirs.id}, "manager_s": set(), "admin": {mine.id, theirs.id}}
    async with sessions() as s:
        for who, ids in expected.items():
            scope = await scope_for(s, org, who)
            rows, total = await service.list_complaints(s, scope)
            assert {row[0].id for row in rows} == ids, who
            assert total == len(ids)
            for complaint in (mine, theirs):
                if complaint.id not in ids:
                    with pytest.raises(ComplaintNotFound):
                        await service.change(s, scope, settings, who, complaint.id, comment="hello")


async def test_status_moves_with_a_resolution_note_and_history(sessions, settings, org):
    complaint = await make(sessions, settings, org)
    async with sessions() as s, s.begin():
        scope = await scope_for(s, org, "lead_n")
        await service.change(s, scope, settings, "lead_n", complaint.id, status="in_progress",
                             comment="Calling the courier", now=NOW)
        with pytest.raises(InvalidTransition):
            await service.change(s, scope, settings, "lead_n", complaint.id, status="open", now=NOW)
        with pytest.raises(InvalidComplaint) as error:
            await service.change(s, scope, settings, "lead_n", complaint.id, status="resolved", now=NOW)
        assert error.value.details["field"] == "resolution"
        done = await service.change(s, scope, settings, "lead_n", complaint.id, status="resolved",
                                    resolution="Delivered with an apology voucher", now=NOW)
        assert done.status == "resolved" and done.resolution.startswith("Delivered")
        await service.change(s, scope, settings, "lead_n", complaint.id, status="closed", now=NOW)
        with pytest.raises(InvalidTransition):
            await service.change(s, scope, settings, "lead_n", complaint.id, status="in_progress", now=NOW)
    async with sessions() as s:
        actions = [e.action for e in await service.events_of(s, complaint.id)]
        assert actions == ["created", "commented", "in_progress", "resolved", "closed"]
        audit = (await s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "complaint")
                                 .order_by(AuditEntry.id))).all()
        assert audit == ["complaint.create", "complaint.status", "complaint.comment", "complaint.status",
                         "complaint.status"]
        sms = (await s.scalars(select(Notification.body).where(Notification.channel == "sms")
                               .order_by(Notification.id))).all()
        assert len(sms) == 2 and "has been resolved" in sms[1]
        # the agent (owner) heard of the team lead's changes
        told = (await s.scalars(select(Notification.subject).where(Notification.recipient == "user:agent_n"))).all()
        assert told and all(complaint.ticket in t for t in told)


# -- escalation ------------------------------------------------------------------
def test_the_decision_skips_empty_levels_and_stays_at_admin():
    chain = Chain(agent=1, teamlead=None, manager=3, admin=4)
    assert owner_from("teamlead", chain) == ("manager", 3)
    assert owner_from("teamlead", Chain(agent=1)) == ("admin", None)
    due = NOW - dt.timedelta(minutes=1)
    assert decide("agent", 1, NOW + dt.timedelta(seconds=1), NOW, 24, chain) is None
    step = decide("agent", 1, due, NOW, 24, chain)
    assert (step.action, step.to_level, step.owner_id, step.previous_owner_id) == ("escalated", "manager", 3, 1)
    assert step.due_at == NOW + dt.timedelta(hours=24)
    top = decide("admin", 4, due, NOW, 2, chain)
    assert (top.action, top.to_level, top.owner_id, top.due_at) == ("renotified", "admin", 4,
                                                                     NOW + dt.timedelta(hours=2))
    assert decide("admin", None, due, NOW, 2, chain).owner_id == 4


async def escalate(sessions, settings, now):
    async with sessions() as s, s.begin():
        return await escalation.escalate_due(s, settings, now)


async def test_a_complaint_past_its_sla_climbs_agent_lead_manager_admin(sessions, settings, org):
    complaint = await make(sessions, settings, org, category_id=org["cat_fast"])  # SLA 2 h
    hours = lambda n: NOW + dt.timedelta(hours=n)  # noqa: E731
    assert await escalate(sessions, settings, hours(1.9)) == []
    expected = [(2, "teamlead", "lead_n", "agent_n"), (4, "manager", "manager_n", "lead_n"),
                (6, "admin", "admin", "manager_n")]
    for at, level, owner, previous in expected:
        steps = await escalate(sessions, settings, hours(at))
        assert [(s.action, s.to_level, s.owner_id) for s in steps] == [("escalated", level, org[owner])]
        assert await escalate(sessions, settings, hours(at)) == []  # never twice for one SLA period
        async with sessions() as s:
            row = await s.get(Complaint, complaint.id)
            assert (row.level, row.owner_id, row.escalations) == (level, org[owner], expected.index(
                (at, level, owner, previous)) + 1)
            assert row.due_at.replace(tzinfo=dt.timezone.utc) == hours(at + 2)
            told = (await s.scalars(select(Notification.recipient).where(
                Notification.created_at == hours(at)).order_by(Notification.id))).all()
            assert told == [f"user:{owner}", f"user:{previous}"]
    # at admin it stays, and the admin is reminded once per SLA period
    assert await escalate(sessions, settings, hours(7.9)) == []
    steps = await escalate(sessions, settings, hours(8))
    assert [(s.action, s.to_level, s.owner_id) for s in steps] == [("renotified", "admin", org["admin"])]
    assert await escalate(sessions, settings, hours(9)) == []
    async with sessions() as s:
        events = await service.events_of(s, complaint.id)
        assert [(e.action, e.from_level, e.to_level) for e in events] == [
            ("created", None, "agent"), ("escalated", "agent", "teamlead"), ("escalated", "teamlead", "manager"),
            ("escalated", "manager", "admin"), ("renotified", "admin", "admin")]
        assert all(e.actor == "system:escalation" for e in events[1:])
        audit = (await s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "complaint"))).all()
        assert audit.count("complaint.escalated") == 3 and audit.count("complaint.renotified") == 1
        business = (await s.scalars(select(Event).where(Event.entity_id == str(complaint.id))
                                    .order_by(Event.id))).all()  # for the webhooks: no event for a reminder
        assert [(e.kind, e.payload["level"], e.payload.get("from_level")) for e in business] == [
            ("complaint.created", "agent", None), ("complaint.escalated", "teamlead", "agent"),
            ("complaint.escalated", "manager", "teamlead"), ("complaint.escalated", "admin", "manager")]
        assert business[1].payload["owner"]["name"] == "lead_n"
        assert business[1].payload["number"] == complaint.ticket
        # once resolved, nothing escalates any more
        scope = await scope_for(s, org, "admin")
        await service.change(s, scope, settings, "admin", complaint.id, status="resolved",
                             resolution="refunded", now=hours(9))
        await s.commit()
    assert await escalate(sessions, settings, hours(100)) == []


async def test_a_store_executive_without_a_team_escalates_to_the_manager(sessions, settings, org):
    complaint = await make(sessions, settings, org, who="exec1", category_id=org["cat_fast"])
    steps = await escalate(sessions, settings, NOW + dt.timedelta(hours=3))
    assert [(s.from_level, s.to_level, s.owner_id) for s in steps] == [("agent", "manager", org["manager_n"])]
    async with sessions() as s:
        assert (await s.get(Complaint, complaint.id)).level == "manager"


async def test_reopening_restarts_the_sla_and_a_same_status_patch_changes_nothing(sessions, settings, org):
    complaint = await make(sessions, settings, org, category_id=org["cat_fast"])
    later = NOW + dt.timedelta(hours=5)
    async with sessions() as s, s.begin():
        scope = await scope_for(s, org, "agent_n")
        await service.change(s, scope, settings, "agent_n", complaint.id, status="resolved",
                             resolution="Sent again", now=NOW)
        same = await service.change(s, scope, settings, "agent_n", complaint.id, status="resolved", now=later)
        assert same.updated_at.replace(tzinfo=dt.timezone.utc) == NOW
        again = await service.change(s, scope, settings, "agent_n", complaint.id, status="in_progress",
                                     comment="Customer says it never came", now=later)
        assert again.resolved_at is None and again.due_at == later + dt.timedelta(hours=2)
    async with sessions() as s:
        assert [e.action for e in await service.events_of(s, complaint.id)] == [
            "created", "resolved", "commented", "reopened"]
    assert await escalate(sessions, settings, later + dt.timedelta(hours=1)) == []
    assert len(await escalate(sessions, settings, later + dt.timedelta(hours=2))) == 1
