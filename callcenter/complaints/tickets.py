"""Ticket numbers a customer can write down from a phone call:
``<prefix>-<YYMMDD>-<sequence of the day>``, e.g. ``TK-261123-0042`` (the day
in the configured time zone; the sequence grows past 9999 if it must).

The next number of the day is read from the unique ticket index, then the
complaint is inserted with ``ON CONFLICT (ticket) DO NOTHING``: when another
process took that number meanwhile, nothing is written and the next number
is tried, all without leaving (or breaking) the caller's transaction."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.complaints.exceptions import TicketUnavailable
from callcenter.complaints.models import Complaint

TRIES = 50


def format_ticket(prefix: str, day: dt.date, sequence: int) -> str:
    return f"{prefix}-{day:%y%m%d}-{sequence:04d}"


async def next_sequence(session: AsyncSession, prefix: str, day: dt.date) -> int:
    """One more than the day's highest sequence (1 for the day's first)."""
    stem = format_ticket(prefix, day, 0)[:-4]
    last = await session.scalar(
        select(Complaint.ticket).where(Complaint.ticket >= stem, Complaint.ticket < stem + "~")
        .order_by(func.length(Complaint.ticket).desc(), Complaint.ticket.desc()).limit(1))
    tail = last[len(stem):] if last else ""
    return int(tail) + 1 if tail.isdigit() else 1


def _insert_or_skip(session: AsyncSession):
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # elsewhere a taken number raises IntegrityError (no retry)
        return lambda values: insert(Complaint).values(**values).returning(Complaint.id)
    return lambda values: (dialect_insert(Complaint).values(**values)
                           .on_conflict_do_nothing(index_elements=["ticket"]).returning(Complaint.id))


async def insert_with_ticket(session: AsyncSession, values: dict, prefix: str, day: dt.date,
                             *, first: int | None = None) -> tuple[int, str]:
    """Insert a complaint row (``values`` without ticket) under the day's next
    free number; returns (id, ticket). ``first`` forces the first number tried."""
    statement = _insert_or_skip(session)
    sequence = first if first is not None else await next_sequence(session, prefix, day)
    for _ in range(TRIES):
        ticket = format_ticket(prefix, day, sequence)
        new_id = (await session.execute(statement({**values, "ticket": ticket}))).scalar_one_or_none()
        if new_id is not None:
            return new_id, ticket
        sequence += 1
    raise TicketUnavailable("no free ticket number was found; try again")
