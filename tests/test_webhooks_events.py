"""Where the call writer's ``call.ended`` comes from and how it is handed on:
written with the row that ends the call, once even when the row is written
again (a replay from the unwritten-calls file), none for a call still under
way, then completed by the webhooks' hand-on (agent, customer's last four
digits and upload reference, campaign) and marked handed once."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from callcenter.models import Call, Event
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
