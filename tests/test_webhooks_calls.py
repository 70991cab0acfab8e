"""A real call's end becomes a ``call.ended`` business event (the call
writer's one INSERT in its batch's transaction), which the webhooks loop
hands on completed with the agent and the customer's last four digits: the
real Asterisk, sipp playing the agent's phone and the carrier (the style of
tests/test_click_to_call.py)."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from callcenter.models import Event
from tests.harness import Agent, TrunkSpec
from tests.stack import free_port

pytestmark = pytest.mark.pbx

CARRIER_IP = "127.0.0.2"
PHONE_IP = "127.0.0.10"


async def events_of(server, call_id: str) -> list[Event]:
    async with server.services.sessions() as session:
        return list((await session.scalars(select(Event).where(Event.entity_id == call_id))).all())


async def test_a_real_calls_end_is_a_call_ended_event(call_server, sipp):
    carrier = sipp("uas_answer_bye", CARRIER_IP, free_port(CARRIER_IP, tcp=False), ["-d", 3000])
    phone = sipp("uas_answer", PHONE_IP, free_port(PHONE_IP, tcp=False), ())
    server = await call_server(agents=[Agent("asha", contact=f"sip:{PHONE_IP}:{phone.port}")],
                               trunks=[TrunkSpec("carrier", CARRIER_IP, carrier.port)])
    resp = await server.place("asha", "+91 98765 43210")
    assert resp.status == 202, await resp.text()
    call_id = (await resp.json())["id"]
    call = await server.wait_state(call_id, "ended", timeout=30)
    assert call["end_reason"] == "completed"

    event, = await events_of(server, call_id)  # written with the ended row, once
    assert event.kind == "call.ended" and event.payload["end_reason"] == "completed"
    assert event.payload["talk_seconds"] == call["talk_seconds"] and event.payload["talk_seconds"] >= 2
    deadline = time.monotonic() + 20  # the webhooks loop hands it on, completed
    while event.handed_at is None:
        assert time.monotonic() < deadline, "the event was never handed on"
        await asyncio.sleep(0.2)
        event, = await events_of(server, call_id)
    data = event.payload
    assert data["agent"]["name"] == "asha" and data["customer"]["mobile_last4"] == "3210"
    assert data["direction"] == "outbound" and data["ended_at"].endswith("+00:00")
    assert "+919876543210" not in str(data)
