"""How the reports count calls by direction, as aggregates of one grouped
query: attempts and connected calls are outbound calls (the calls an agent
placed, ``direction == 'outbound'``); an inbound Call row is written when an
agent answers a queue call, so it counts as an inbound call answered, never
as an attempt. Talk time is counted for both directions.

Conditional counts (``count(CASE WHEN ... THEN 1 END)``) rather than a
``WHERE direction = ...``: the query keeps the plan of its time or agent
index and one row per group, and reads the direction from rows it already
fetches for the talk time."""
from __future__ import annotations

from sqlalchemy import case, distinct, func

from callcenter.models import Call

OUTBOUND = Call.direction == "outbound"
INBOUND = Call.direction == "inbound"
ANSWERED = Call.customer_answered_at.is_not(None)


def placed():
    """Outbound calls (the calls placed)."""
    return func.count(case((OUTBOUND, 1)))


def placed_connected():
    """Outbound calls the customer answered."""
    return func.count(case((OUTBOUND & ANSWERED, 1)))


def items_attempted():
    """Work items with at least one outbound call."""
    return func.count(distinct(case((OUTBOUND, Call.work_item_id))))


def items_contacted():
    """Work items with at least one outbound call the customer answered."""
    return func.count(distinct(case((OUTBOUND & ANSWERED, Call.work_item_id))))


def inbound_answered():
    """Inbound calls an agent answered."""
    return func.count(case((INBOUND & ANSWERED, 1)))


def inbound_talk():
    """Talk seconds of inbound calls."""
    return func.coalesce(func.sum(case((INBOUND, Call.talk_seconds))), 0)


def talk():
    """Talk seconds of every call, both directions."""
    return func.coalesce(func.sum(Call.talk_seconds), 0)
