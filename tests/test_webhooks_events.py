"""Where the call writer's ``call.ended`` comes from and how it is handed on:
written with the row that ends the call, once even when the row is written
again (a replay from the unwritten-calls file), none for a call still under
way, then completed by the webhooks' hand-on (agent, customer's last four
digits and upload reference, campaign or queue) and marked handed once; the
same for an inbound call's end (callcenter/inbound/service.py end_talk)."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from callcenter.inbound.models import InboundCall
from callcenter.inbound.service import LiveCall, end_talk
from callcenter.models import Call, Event
from callcenter.queues.models import Queue
from callcenter.webhooks import deliveries
from dialer import call_rows
from tests import factories as f
from tests.test_unwritten_calls import ENDED, ended_row


async def test_a_calls_end_is_one_event_completed_as_it_is_handed_on(sessions):
    call_id, live_id = uuid.uuid4().hex, uuid.uuid4().hex
    async with sessions() as s, s.begin():
        agent = await f.user(s, "asha", employee_id="E-7")
        trunk = await f.trunk(s)
        camp = await f.campaign(s, "Birthdays")
        cust = await f.customer(s, "+919876543210", data={"customer ref": "R-9", "Points": "120"})
        for cid in (call_id, live_id):
            s.add(Call(id=cid, agent_id=agent.id, requested_by="asha", mode="desktop", number=cust.mobile,
                       trunk_id=trunk.id, caller_id="8062247000", channels=1, state="connected",
                       customer_id=cust.id, campaign_id=camp.id, requested_at=ENDED - dt.timedelta(minutes=1)))
    engine = sessions.kw["bind"]
    ringing = {**ended_row(live_id), "b_state": "connected", "b_end_reason": None, "b_ended_at": None}
    await call_rows.write(engine, [ended_row(call_id), ringing], [])
    await call_rows.write(engine, [ended_row(call_id)], [])  # written again: no second event
    async with sessions() as s:
        event, = (await s.scalars(select(Event))).all()
    assert (event.kind, event.entity_id, event.handed_at) == ("call.ended", call_id, None)
    assert event.payload["talk_seconds"] == 30.0 and event.payload["end_reason"] == "completed"

    now = dt.datetime.now(dt.timezone.utc)
    async with sessions() as s:
        assert await deliveries.hand_on(s, now, 10) == 1
        await s.commit()
        assert await deliveries.hand_on(s, now, 10) == 0  # handed once
        event = await s.get(Event, event.id, populate_existing=True)
    data = event.payload
    assert event.handed_at is not None
    assert data["agent"] == {"id": agent.id, "name": "asha", "employee_id": "E-7"}
    assert data["customer"] == {"id": cust.id, "mobile_last4": "3210", "reference": {"customer ref": "R-9"}}
    assert data["campaign"] == {"id": camp.id, "name": "Birthdays"} and data["queue"] is None
    assert data["ended_at"] == ENDED.isoformat() and data["talk_seconds"] == 30.0


async def test_an_inbound_calls_end_is_one_event_with_its_queue(sessions):
    answered = ENDED - dt.timedelta(seconds=45)
    async with sessions() as s, s.begin():
        agent = await f.user(s, "ravi", employee_id="E-8")
        trunk = await f.trunk(s)
        cust = await f.customer(s, "+919812340000")
        queue = Queue(name="sales-hi", language="hi")
        s.add(queue)
        await s.flush()
        s.add(InboundCall(id="1765000000.12", did="8062247000", caller=cust.mobile, customer_id=cust.id,
                          trunk_id=trunk.id, queue_id=queue.id, agent_id=agent.id, call_id="in-1",
                          started_at=answered))
        s.add(Call(id="in-1", agent_id=agent.id, requested_by="inbound", mode="desktop", number=cust.mobile,
                   trunk_id=trunk.id, caller_id="8062247000", channels=1, state="connected", customer_id=cust.id,
                   requested_at=answered, direction="inbound", inbound_call_id="1765000000.12"))
    entry = LiveCall(id="1765000000.12", call_id="in-1", did="8062247000", caller=cust.mobile, flow="main",
                     answered_at=answered, talk_ended_at=ENDED)
    await end_talk(sessions, entry, "customer")
    await end_talk(sessions, entry, "customer")  # a second report of the same end: no second event
    async with sessions() as s:
        assert await deliveries.hand_on(s, ENDED, 10) == 1
        await s.commit()
        event, = (await s.scalars(select(Event))).all()
    data = event.payload
    assert (event.kind, data["direction"], data["queue"]["name"]) == ("call.ended", "inbound", "sales-hi")
    assert (data["talk_seconds"], data["end_reason"], data["hangup_by"]) == (45.0, "completed", "customer")
    assert data["agent"]["employee_id"] == "E-8" and data["customer"]["mobile_last4"] == "0000"


async def test_a_batch_of_call_ends_is_completed_in_a_few_queries_not_a_few_per_call(sessions):
    """The hand-on runs on one server beside the calls; 50 ended calls must
    not cost 50 × 4 single-row reads (agent, customer, campaign, call)."""
    from sqlalchemy import event as sa_event

    async with sessions() as s, s.begin():
        agents = [await f.user(s, f"ag{n}", employee_id=f"E-{n}") for n in range(5)]
        trunk = await f.trunk(s)
        camp = await f.campaign(s, "Birthdays")
        customers = [await f.customer(s, f"+9198765432{n:02d}") for n in range(50)]
        ids = [uuid.uuid4().hex for _ in range(50)]
        for n, cid in enumerate(ids):
            s.add(Call(id=cid, agent_id=agents[n % 5].id, requested_by="ops", mode="desktop",
                       number=customers[n].mobile, trunk_id=trunk.id, caller_id="8062247000", channels=1,
                       state="connected", customer_id=customers[n].id, campaign_id=camp.id,
                       requested_at=ENDED - dt.timedelta(minutes=1)))
    engine = sessions.kw["bind"]
    await call_rows.write(engine, [ended_row(cid) for cid in ids], [])
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement.split(None, 1)[0].upper())
    sa_event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with sessions() as s, s.begin():
            assert await deliveries.hand_on(s, dt.datetime.now(dt.timezone.utc), 100) == 50
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", count)
    reads = statements.count("SELECT")
    assert reads <= 8, (reads, statements)  # events, endpoints, then calls, campaigns, customers, agents
    async with sessions() as s:
        events = (await s.scalars(select(Event))).all()
    assert {e.payload["agent"]["name"] for e in events} == {f"ag{n}" for n in range(5)}
    assert all(e.payload["customer"]["mobile_last4"] and e.payload["campaign"]["name"] == "Birthdays"
               for e in events)
