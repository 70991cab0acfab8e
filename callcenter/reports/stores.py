"""The per-store report: a day's figures of a store's executives summed per
store (the executive's store, ``users.store_id``), within the caller's scope.
Attempts and connected are outbound calls; inbound calls answered count on
their own; talk time is both directions."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import Call, User
from callcenter.org.models import Store
from callcenter.org.scope import Scope
from callcenter.period import Day
from callcenter.reports.call_counts import inbound_answered, inbound_talk, placed, placed_connected, talk
from callcenter.reports.service import Filters, agents_clause
from callcenter.work.models import Appointment, Disposition


@dataclass
class StoreDay:
    store_id: int
    code: str
    name: str
    city: str
    executives: int = 0
    attempts: int = 0
    connected: int = 0
    talk_seconds: float = 0.0
    inbound_answered: int = 0
    inbound_talk_seconds: float = 0.0
    dispositions: int = 0
    appointments: int = 0

    def as_dict(self) -> dict:
        return {"store": {"id": self.store_id, "code": self.code, "name": self.name, "city": self.city},
                "executives": self.executives, "attempts": self.attempts, "connected": self.connected,
                "talk_seconds": round(self.talk_seconds, 1), "inbound_answered": self.inbound_answered,
                "inbound_talk_seconds": round(self.inbound_talk_seconds, 1), "dispositions": self.dispositions,
                "appointments": self.appointments}


async def store_daily(session: AsyncSession, scope: Scope, filters: Filters, day: Day) -> list[StoreDay]:
    executives = agents_clause(scope, filters, since=day.start) & User.store_id.is_not(None)
    stores = (select(Store.id, Store.code, Store.name, Store.city, func.count(User.id))
              .join(User, User.store_id == Store.id).where(executives)
              .group_by(Store.id).order_by(Store.code))
    rows = {sid: StoreDay(sid, code, name, city, executives=n)
            for sid, code, name, city, n in (await session.execute(stores)).all()}
    if not rows:
        return []
    calls = (select(User.store_id, placed(), placed_connected(), talk(), inbound_answered(), inbound_talk())
             .select_from(Call).join(User, User.id == Call.agent_id)
             .where(executives, Call.requested_at >= day.start, Call.requested_at < day.end)
             .group_by(User.store_id))
    for sid, n, connected, seconds, inbound, inbound_seconds in (await session.execute(calls)).all():
        row = rows[sid]
        row.attempts, row.connected, row.talk_seconds = n, connected, float(seconds or 0)
        row.inbound_answered, row.inbound_talk_seconds = inbound, float(inbound_seconds or 0)
    done = (select(User.store_id, func.count())
            .select_from(Disposition).join(User, User.id == Disposition.agent_id)
            .where(executives, Disposition.created_at >= day.start, Disposition.created_at < day.end)
            .group_by(User.store_id))
    for sid, n in (await session.execute(done)).all():
        rows[sid].dispositions = n
    booked = (select(User.store_id, func.count())
              .select_from(Appointment).join(User, User.id == Appointment.agent_id)
              .where(executives, Appointment.created_at >= day.start, Appointment.created_at < day.end)
              .group_by(User.store_id))
    for sid, n in (await session.execute(booked)).all():
        rows[sid].appointments = n
    return list(rows.values())
