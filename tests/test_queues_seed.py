"""First start: the queues the shipped IVR flow sends callers to (support-en,
-hi, -ta, -kn, -ml, -te) are created once, on an empty queues table, audited
as 'system'; never again after that, and never beside queues that exist."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select

from callcenter.audit_trail.retention import prune_pass
from callcenter.models import AuditEntry, utcnow
from callcenter.queues.models import Queue
from callcenter.queues.seed import SEED_ACTION, ensure_first_queues, flow_queues, flows_dir
from ivr.flow_files import load_flows
from ivr.flows import parse_flow

SHIPPED = {"support-en": "en", "support-hi": "hi", "support-ta": "ta", "support-kn": "kn",
           "support-ml": "ml", "support-te": "te"}


def test_the_shipped_flows_name_a_support_queue_per_menu_language(settings):
    assert flow_queues(load_flows(flows_dir(settings))) == SHIPPED


def test_a_fixed_queue_name_and_names_no_queue_may_carry_are_kept_apart(caplog):
    flow = parse_flow("sales", {"start": "menu", "language": "hi", "nodes": {
        "menu": {"kind": "menu", "prompt": "p", "options": {"1": "q", "2": "r"}},
        "q": {"kind": "queue", "queue": "sales", "on_timeout": "bye"},
        "r": {"kind": "queue", "queue": "bad_name", "on_timeout": "bye"},
        "bye": {"kind": "hangup"}}})
    with caplog.at_level(logging.WARNING, "callcenter.queues.seed"):
        assert flow_queues({"sales": flow}) == {"sales": "hi"}
    assert "bad_name" in caplog.text


async def queues(sessions) -> list[Queue]:
    async with sessions() as s:
        return list((await s.scalars(select(Queue).order_by(Queue.name))).all())


async def test_first_start_creates_them_once_and_an_emptied_list_stays_empty(settings, sessions, caplog):
    with caplog.at_level(logging.INFO, "callcenter.queues.seed"):
        created = await ensure_first_queues(settings, sessions)
    assert sorted(created) == sorted(SHIPPED)
    made = await queues(sessions)
    assert {q.name: q.language for q in made} == SHIPPED
    for q in made:
        assert q.location_id is None and q.active and q.region == ""
        assert (q.strategy, q.wrapup_seconds, q.max_wait_seconds, q.service_level_seconds) == \
            ("leastrecent", 10, 120, 20)
    lines = [r for r in caplog.records if r.name == "callcenter.queues.seed"]
    assert len(lines) == 1 and "support-hi" in lines[0].getMessage()
    async with sessions() as s:
        entries = (await s.scalars(select(AuditEntry).where(AuditEntry.action == SEED_ACTION))).all()
    assert all(e.actor == "system" and e.entity == "queue" for e in entries)  # one row per queue, on it
    assert sorted((e.entity_id, e.details["name"]) for e in entries) == sorted((str(q.id), q.name) for q in made)

    # the next start: queues exist, nothing happens
    assert await ensure_first_queues(settings, sessions) == []
    # an administrator removes every queue on purpose: the next start keeps it so
    async with sessions() as s, s.begin():
        await s.execute(delete(Queue))
    assert await ensure_first_queues(settings, sessions) == []
    assert await queues(sessions) == []
    # three years on, retention removes the seed's audit rows: still no queues made again
    await prune_pass(sessions, 1095, now=utcnow() + dt.timedelta(days=1096))
    async with sessions() as s:
        assert (await s.scalar(select(AuditEntry.id).where(AuditEntry.action == SEED_ACTION))) is None
    assert await ensure_first_queues(settings, sessions) == []
    assert await queues(sessions) == []


async def test_an_installation_with_queues_is_left_alone(settings, sessions):
    async with sessions() as s, s.begin():
        s.add(Queue(name="north-en", language="en"))
    assert await ensure_first_queues(settings, sessions) == []
    assert [q.name for q in await queues(sessions)] == ["north-en"]
    async with sessions() as s:
        assert (await s.scalar(select(AuditEntry.id).where(AuditEntry.action == SEED_ACTION))) is None


async def test_no_ivr_no_queues(settings, sessions):
    settings.ivr.enabled = False
    assert await ensure_first_queues(settings, sessions) == []
    assert await queues(sessions) == []
