"""The follow-up sweeper and the loop that pushes its news to agents' panels."""
from __future__ import annotations

import datetime as dt

import pytest

from callcenter.models import Call, Trunk, utcnow
from callcenter.work.models import WorkItem
from callcenter.work.sweeper import WorkLoop, sweep
from tests import factories as f

MIN = dt.timedelta(minutes=1)


@pytest.fixture
async def org(sessions):
    async with sessions() as s:
        loc = await f.location(s)
        store = await f.store(s, loc)
        o = {"asha": await f.user(s, "asha", store=store), "bala": await f.user(s, "bala", store=store),
             "camp": await f.campaign(s, "bday", loc=loc), "store": store}
        await s.commit()
    return o


async def item(sessions, org, agent="asha", bucket="future_followup", **fields):
    async with sessions() as s:
        row = await f.work_item(s, org["camp"], await f.customer(s, store=org["store"]), org[agent],
                                bucket=bucket, **fields)
        await s.commit()
    return row


async def bucket_of(sessions, item_id):
    async with sessions() as s:
        return (await s.get(WorkItem, item_id)).bucket


async def test_an_overdue_followup_moves_to_pending_and_a_later_one_stays(sessions, org):
    now = utcnow()
    overdue = await item(sessions, org, followup_at=now - 5 * MIN)
    later = await item(sessions, org, followup_at=now + 5 * MIN)
    other = await item(sessions, org, bucket="non_contact", next_attempt_at=now - 5 * MIN)
    async with sessions() as s:
        result = await sweep(s, now)
        await s.commit()
    assert result["moved"] == 1 and result["agents"] == {org["asha"].id: 1}
    assert await bucket_of(sessions, overdue.id) == "pending_followup"
    assert await bucket_of(sessions, later.id) == "future_followup"
    assert await bucket_of(sessions, other.id) == "non_contact"
    async with sessions() as s:  # nothing left to move: a second sweep changes nothing
        assert (await sweep(s, now))["moved"] == 0
        moved = await s.get(WorkItem, overdue.id)
    assert moved.followup_at.replace(tzinfo=dt.timezone.utc) == overdue.followup_at  # time kept


async def test_a_followup_being_called_is_not_missed(sessions, org):
    now = utcnow()
    calling = await item(sessions, org, followup_at=now - MIN)
    async with sessions() as s:
        trunk = Trunk(name="t", host="127.0.0.2", port=5060, max_channels=10, did_start="8062247000",
                      did_end="8062247009", pilot="8062247000")
        s.add(trunk)
        await s.flush()
        s.add(Call(id="c" * 32, agent_id=org["asha"].id, requested_by="asha", mode="desktop",
                   number="+919800000001", trunk_id=trunk.id, caller_id="8062247000", channels=1,
                   state="connected", requested_at=utcnow(), work_item_id=calling.id))
        await s.commit()
    async with sessions() as s:
        assert (await sweep(s, now + MIN))["moved"] == 0
    assert await bucket_of(sessions, calling.id) == "future_followup"


class FakeHub:
    def __init__(self):
        self.sent = []

    async def publish(self, event, user_ids=None):
        self.sent.append((event, tuple(user_ids or ())))


async def test_the_loop_nudges_agents_and_reminds_once(sessions, org, settings):
    now = utcnow()
    overdue = await item(sessions, org, followup_at=now - MIN)
    soon = await item(sessions, org, "bala", followup_at=now + 10 * MIN)
    await item(sessions, org, "bala", followup_at=now + 60 * MIN)  # outside the 15 min lead
    hub = FakeHub()
    loop = WorkLoop(settings, sessions, hub, failed=None)
    result = await loop.tick(now)
    assert result == {"moved": 1, "reminded": 1}
    asha, bala = (org["asha"].id,), (org["bala"].id,)
    assert ({"type": "bucket_counts"}, asha) in hub.sent
    missed = [e for e, who in hub.sent if who == asha and e["type"] == "reminder"]
    assert [i["item_id"] for i in missed[0]["items"]] == [overdue.id]
    assert missed[0]["items"][0]["kind"] == "missed"
    due = [e for e, who in hub.sent if who == bala and e["type"] == "reminder"]
    assert [i["item_id"] for i in due[0]["items"]] == [soon.id]
    assert due[0]["items"][0]["kind"] == "followup" and due[0]["items"][0]["url"].endswith(f"item={soon.id}")
    # one notification's worth for the panel's notifications, too
    assert due[0]["title"] == "Follow-up due" and due[0]["url"] == due[0]["items"][0]["url"]
    assert due[0]["text"].startswith("Customer ") and due[0]["id"]
    assert missed[0]["missed"] is True and missed[0]["title"] == "Missed follow-up"
    hub.sent.clear()
    assert await loop.tick(now + MIN) == {"moved": 0, "reminded": 0}  # each reminder once
    assert hub.sent == []


async def test_the_loop_survives_without_a_hub(sessions, org, settings):
    await item(sessions, org, followup_at=utcnow() - MIN)
    loop = WorkLoop(settings, sessions, None, failed=None)
    assert (await loop.tick(utcnow()))["moved"] == 1
