"""Dispositions against a real (SQLite) database: each branch of the form
lands the work item in the right bucket, non-contacts are retried and then
closed, survey scores and enrichment are kept, and the rules on calls hold.
An item's ``attempts`` are the calls placed from it, counted by the dialer as
it writes each call row (``add_call`` here writes the row the same way)."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from callcenter.auth.tokens import Principal
from callcenter.customers.models import Customer, DndNumber
from callcenter.dispositions import exceptions as exc, service as dispositions
from callcenter.models import AuditEntry, Call
from callcenter.org.scope import load_scope
from callcenter.work import calling, exceptions as work_exc
from callcenter.work.models import Appointment, Disposition, SurveyAnswer, WorkItem
from dialer import exceptions as dialer_exc
from dialer.service import COUNT_ATTEMPT, ClickToCall, PlacedCall
from tests import factories as f

NOW = dt.datetime(2025, 3, 10, 6, 30, tzinfo=dt.timezone.utc)  # 12:00 in Kolkata
TODAY = dt.date(2025, 3, 10)


def utc(value):
    """SQLite hands timestamps back without their offset."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@pytest.fixture
async def world(sessions):
    async with sessions() as s, s.begin():
        loc = await f.location(s)
        store = await f.store(s, loc)
        team = await f.team(s, loc)
        asha = await f.user(s, "asha", store=store, team=team)
        ravi = await f.user(s, "ravi", store=store, team=team)
        lead = await f.user(s, "lead", role="teamlead", team=team)
        camp = await f.campaign(s, loc=loc, starts_on=TODAY, expires_on=TODAY + dt.timedelta(days=20),
                                retry_delay_minutes=90, max_attempts=2)
        survey = await f.campaign(s, type="new_walkin_survey", loc=loc, starts_on=TODAY,
                                  expires_on=TODAY + dt.timedelta(days=20))
        cust = await f.customer(s, store=store)
        item = await f.work_item(s, camp, cust, asha)
        survey_item = await f.work_item(s, survey, cust, asha)
        other = await f.work_item(s, camp, await f.customer(s, store=store), ravi)
        trunk = await f.trunk(s)
        ids = dict(asha=asha.id, ravi=ravi.id, lead=lead.id, item=item.id, survey_item=survey_item.id,
                   other=other.id, customer=cust.id, store=store.id, trunk=trunk.id, campaign=camp.id)
    return ids


async def add_call(sessions, world, item_key="item", agent="asha", state="ended", **fields):
    call_id = uuid.uuid4().hex
    async with sessions() as s, s.begin():
        item = await s.get(WorkItem, world[item_key])
        s.add(Call(id=call_id, agent_id=world[agent], requested_by=agent, mode="mobile",
                   number="+919800000001", trunk_id=world["trunk"], caller_id="8062247000",
                   channels=2, state=state, requested_at=NOW - dt.timedelta(minutes=3),
                   work_item_id=item.id, customer_id=item.customer_id, campaign_id=item.campaign_id,
                   ended_at=NOW - dt.timedelta(minutes=1) if state == "ended" else None, **fields))
        await s.flush()
        await s.execute(COUNT_ATTEMPT, {"item_id": item.id})  # as the dialer does with the row
    return call_id


async def submit(sessions, settings, world, answers, *, who="asha", role="agent", item="item",
                 call_id=None, remarks="", now=NOW):
    async with sessions() as s, s.begin():
        scope = await load_scope(s, Principal(who, role, world[who]))
        done = await dispositions.submit(s, scope, world[item], call_id, answers, remarks,
                                         f"user:{who}", settings, now)
        return done.disposition.id


async def item_of(sessions, world, key="item"):
    async with sessions() as s:
        return await s.get(WorkItem, world[key])


NOT_TALKED = {"talked": "no", "not_talked_reason": "busy"}


async def test_not_talked_goes_to_non_contact_and_is_retried_after_the_delay(sessions, settings, world):
    call_id = await add_call(sessions, world)
    await submit(sessions, settings, world, NOT_TALKED, call_id=call_id, remarks="  try evening ")
    item = await item_of(sessions, world)
    assert (item.bucket, item.outcome, item.attempts) == ("non_contact", "not_talked", 1)
    assert utc(item.next_attempt_at) == NOW + dt.timedelta(minutes=90)
    assert item.last_call_id == call_id
    async with sessions() as s:
        d = (await s.execute(select(Disposition))).scalar_one()
        call = await s.get(Call, call_id)
    assert (d.outcome, d.reason, d.bucket_after, d.remarks, d.call_id) == (
        "not_talked", "busy", "non_contact", "try evening", call_id)
    assert utc(call.disposed_at) == NOW


async def test_closed_as_unreachable_once_attempts_reach_the_maximum(sessions, settings, world):
    await add_call(sessions, world)
    await submit(sessions, settings, world, NOT_TALKED)
    assert (await item_of(sessions, world)).bucket == "non_contact"
    await add_call(sessions, world)
    await submit(sessions, settings, world, {"talked": "no", "not_talked_reason": "switched_off"},
                 now=NOW + dt.timedelta(hours=2))
    item = await item_of(sessions, world)
    assert (item.bucket, item.outcome, item.attempts, item.next_attempt_at) == ("closed", "unreachable", 2, None)
    with pytest.raises(work_exc.WorkItemClosed):
        await submit(sessions, settings, world, NOT_TALKED, now=NOW + dt.timedelta(hours=4))


async def test_a_connected_call_is_an_attempt_too(sessions, settings, world):
    # max_attempts=2: a talked call (call me later), then a call that does not reach them
    await add_call(sessions, world)
    await submit(sessions, settings, world,
                 {"talked": "yes", "wished": "call_later", "followup_at": "2025-03-12T18:45"})
    item = await item_of(sessions, world)
    assert (item.bucket, item.attempts) == ("future_followup", 1)
    await add_call(sessions, world)
    await submit(sessions, settings, world, NOT_TALKED, now=NOW + dt.timedelta(days=2))
    item = await item_of(sessions, world)
    assert (item.bucket, item.outcome, item.attempts) == ("closed", "unreachable", 2)


async def test_notes_without_a_call_place_no_attempt_and_never_close(sessions, settings, world):
    for hours in (0, 2, 4):
        await submit(sessions, settings, world, NOT_TALKED, now=NOW + dt.timedelta(hours=hours))
    item = await item_of(sessions, world)
    assert (item.bucket, item.attempts) == ("non_contact", 0)


async def test_the_dialer_counts_each_call_row_it_writes_for_an_item(sessions, settings, world):
    """The call-row insert of the dialer (no PBX needed for it) counts the
    attempt in its own transaction; a DND refusal writes nothing and counts nothing."""
    dialer = ClickToCall(settings, sessions, None, None, None, None)
    principal = Principal("asha", "agent", world["asha"])
    link = {"work_item_id": world["item"], "customer_id": world["customer"], "campaign_id": world["campaign"]}

    async def insert(number):
        placed = PlacedCall(uuid.uuid4().hex, world["asha"], "asha", "t1", "desktop", "PJSIP/asha",
                            number[1:], "8062247000", NOW.timestamp())
        return await dialer._insert(principal, placed, world["trunk"], number, "agent_ringing", link)

    await insert("+919800000001")
    await insert("+919800000001")
    assert (await item_of(sessions, world)).attempts == 2
    async with sessions() as s, s.begin():
        s.add(DndNumber(number="+919800000003", added_by="test"))
    with pytest.raises(dialer_exc.NumberDnd):
        await insert("+919800000003")
    assert (await item_of(sessions, world)).attempts == 2
    assert (await item_of(sessions, world, "other")).attempts == 0


async def test_call_me_later_goes_to_future_followup(sessions, settings, world):
    await submit(sessions, settings, world,
                 {"talked": "yes", "wished": "call_later", "followup_at": "2025-03-12T18:45"})
    item = await item_of(sessions, world)
    assert (item.bucket, item.outcome) == ("future_followup", "call_later")
    assert utc(item.followup_at) == dt.datetime(2025, 3, 12, 13, 15, tzinfo=dt.timezone.utc)
    assert item.attempts == 0  # a note without a call


async def test_a_past_followup_is_refused_and_nothing_changes(sessions, settings, world):
    with pytest.raises(exc.AnswersInvalid) as caught:
        await submit(sessions, settings, world,
                     {"talked": "yes", "wished": "call_later", "followup_at": "2025-03-10T11:00"})
    assert caught.value.details["errors"] == {"followup_at": "must be in the future"}
    item = await item_of(sessions, world)
    assert item.bucket == "fresh"
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Disposition)) == 0


async def test_required_fields_are_enforced(sessions, settings, world):
    with pytest.raises(exc.AnswersInvalid) as caught:
        await submit(sessions, settings, world, {"talked": "yes", "wished": "yes"})
    assert caught.value.details["errors"] == {"visit": "required"}
    with pytest.raises(exc.AnswersInvalid) as caught:
        await submit(sessions, settings, world, NOT_TALKED, remarks="x" * 1001)
    assert "remarks" in caught.value.details["errors"]


async def test_will_visit_books_an_appointment_at_the_customers_store(sessions, settings, world):
    answers = {"talked": "yes", "wished": "yes", "visit": "yes", "appointment_at": "2025-03-15T11:00"}
    await submit(sessions, settings, world, answers, remarks="bridal set")
    item = await item_of(sessions, world)
    assert (item.bucket, item.outcome) == ("appointment", "appointment")
    # rebooking cancels the first appointment
    answers["appointment_at"] = "2025-03-16T17:00"
    await submit(sessions, settings, world, answers)
    async with sessions() as s:
        rows = (await s.execute(select(Appointment).order_by(Appointment.id))).scalars().all()
    assert [(a.status, a.store_id, utc(a.at)) for a in rows] == [
        ("cancelled", world["store"], dt.datetime(2025, 3, 15, 5, 30, tzinfo=dt.timezone.utc)),
        ("booked", world["store"], dt.datetime(2025, 3, 16, 11, 30, tzinfo=dt.timezone.utc))]
    assert rows[0].remarks == "bridal set"


async def test_will_not_visit_closes(sessions, settings, world):
    await submit(sessions, settings, world, {"talked": "yes", "wished": "yes", "visit": "no"})
    item = await item_of(sessions, world)
    assert (item.bucket, item.outcome) == ("closed", "closed")


async def test_survey_scores_are_stored_and_enrichment_applied_with_the_old_values_audited(
        sessions, settings, world):
    answers = {"talked": "yes", "wished": "yes", "visit": "no", "sp_greeting": "5",
               "sp_understanding": "4", "sp_product_knowledge": "3", "sp_explanation": "5",
               "sp_courtesy": "4", "sp_billing": "2", "overall_experience": "4", "nps": "9",
               "corrected_name": "Asha Menon", "alternate_number": "+91 98450 12345",
               "birthday": "1991-06-30", "preferred_language": "ml"}
    async with sessions() as s, s.begin():
        old_name = (await s.get(Customer, world["customer"])).name
    disposition_id = await submit(sessions, settings, world, answers, item="survey_item")
    async with sessions() as s:
        scores = {a.question: (a.score, a.source, a.disposition_id, a.agent_id) for a in
                  (await s.execute(select(SurveyAnswer))).scalars()}
        cust = await s.get(Customer, world["customer"])
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "customer.enrich"))).scalar_one()
    assert scores["nps"] == (9, "agent", disposition_id, world["asha"])
    assert scores["sp_billing"][0] == 2 and len(scores) == 8
    assert (cust.name, cust.alternate_mobile, cust.birthday, cust.language) == (
        "Asha Menon", "+919845012345", dt.date(1991, 6, 30), "ml")
    assert entry.details["changes"]["name"] == {"old": old_name, "new": "Asha Menon"}
    assert entry.details["changes"]["birthday"] == {"old": None, "new": "1991-06-30"}
    assert entry.actor == "user:asha"


async def test_a_call_that_failed_to_connect_can_be_disposed(sessions, settings, world):
    call_id = await add_call(sessions, world, end_reason="agent_no_answer")
    await submit(sessions, settings, world, {"talked": "no", "not_talked_reason": "ringing_no_response"},
                 call_id=call_id)
    assert (await item_of(sessions, world)).bucket == "non_contact"


async def test_without_a_call_id_the_pending_call_of_the_item_is_disposed(sessions, settings, world):
    call_id = await add_call(sessions, world)
    await submit(sessions, settings, world, NOT_TALKED)
    async with sessions() as s:
        assert (await s.get(Call, call_id)).disposed_at is not None
        assert (await s.execute(select(Disposition.call_id))).scalar_one() == call_id


async def test_a_call_still_live_is_refused(sessions, settings, world):
    call_id = await add_call(sessions, world, state="connected")
    with pytest.raises(exc.CallNotEnded):
        await submit(sessions, settings, world, NOT_TALKED, call_id=call_id)


async def test_no_disposition_without_a_call_while_the_items_call_is_live(sessions, settings, world):
    live = await add_call(sessions, world, state="customer_ringing")
    with pytest.raises(exc.CallNotEnded) as caught:
        await submit(sessions, settings, world, NOT_TALKED)
    assert caught.value.status == 409 and caught.value.details["call_id"] == live
    with pytest.raises(exc.CallNotEnded):  # nor for the agent's team lead
        await submit(sessions, settings, world, NOT_TALKED, who="lead", role="teamlead")
    assert (await item_of(sessions, world)).bucket == "fresh"
    # a note for another item of the customer is not held by this call
    await submit(sessions, settings, world, NOT_TALKED, item="survey_item")
    assert (await item_of(sessions, world, "survey_item")).bucket == "non_contact"


async def test_another_items_call_is_refused(sessions, settings, world):
    call_id = await add_call(sessions, world, item_key="survey_item")
    with pytest.raises(exc.CallNotForItem):
        await submit(sessions, settings, world, NOT_TALKED, call_id=call_id)


async def test_a_call_is_disposed_once(sessions, settings, world):
    call_id = await add_call(sessions, world)
    await submit(sessions, settings, world, {"talked": "yes", "wished": "call_later",
                                             "followup_at": "2025-03-12T10:00"}, call_id=call_id)
    with pytest.raises(exc.AlreadyDisposed):
        await submit(sessions, settings, world, NOT_TALKED, call_id=call_id)


async def test_a_disposition_sent_again_is_saved_once(sessions, settings, world):
    """A retry (after a 503, a lost reply, a double click) with the same answers
    gets the saved disposition back: no second row, no 409, the item moved once."""
    call_id = await add_call(sessions, world)
    first = await submit(sessions, settings, world, NOT_TALKED, call_id=call_id, remarks="try evening")
    again = await submit(sessions, settings, world, NOT_TALKED, call_id=call_id, remarks="try evening ",
                         now=NOW + dt.timedelta(minutes=2))
    assert again == first
    # a note without a call, sent twice, is one note too
    note = await submit(sessions, settings, world, NOT_TALKED, item="survey_item")
    assert await submit(sessions, settings, world, NOT_TALKED, item="survey_item",
                        now=NOW + dt.timedelta(seconds=30)) == note
    async with sessions() as s:
        rows = (await s.execute(select(func.count()).select_from(Disposition))).scalar_one()
    assert rows == 2
    assert (await item_of(sessions, world)).attempts == 1
    # different answers for the same call are still refused
    with pytest.raises(exc.AlreadyDisposed):
        await submit(sessions, settings, world, {"talked": "yes", "wished": "call_later",
                                                 "followup_at": "2025-03-12T10:00"}, call_id=call_id)


async def test_an_agent_cannot_dispose_another_agents_item_or_call(sessions, settings, world):
    with pytest.raises(work_exc.WorkItemNotFound) as caught:
        await submit(sessions, settings, world, NOT_TALKED, item="other")
    assert caught.value.status == 404
    ravis_call = await add_call(sessions, world, item_key="other", agent="ravi")
    with pytest.raises(exc.CallNotFound):
        await submit(sessions, settings, world, NOT_TALKED, call_id=ravis_call)
    assert (await item_of(sessions, world, "other")).bucket == "fresh"


async def test_a_team_lead_disposes_for_their_agent(sessions, settings, world):
    call_id = await add_call(sessions, world, item_key="other", agent="ravi")
    await submit(sessions, settings, world, NOT_TALKED, who="lead", role="teamlead", item="other",
                 call_id=call_id)
    async with sessions() as s:
        d = (await s.execute(select(Disposition))).scalar_one()
        entry = (await s.execute(select(AuditEntry).where(
            AuditEntry.action == "disposition.submit"))).scalar_one()
    assert d.agent_id == world["ravi"]  # the call's agent, not the lead
    assert entry.actor == "user:lead" and entry.details["bucket_after"] == "non_contact"


async def test_pending_call_finds_the_agents_undisposed_call(sessions, settings, world):
    live = await add_call(sessions, world, state="connected")
    async with sessions() as s:
        assert await calling.pending_call(s, world["asha"]) is None
        assert (await calling.pending_call(s, world["asha"], ended_only=False)).id == live
        assert await calling.pending_call(s, world["ravi"], ended_only=False) is None
