"""Escalation of complaints past their SLA, one level up the hierarchy at a
time: agent (the creator) -> team lead (of the creator's team) -> manager (of
the complaint's location) -> admin. A level with nobody in it is skipped; at
admin the complaint stays and its owner is reminded at most once per SLA
period. ``due_at`` becomes now + the category's SLA at every step.

The decision (``owner_from``, ``decide``) is pure; ``load_chain`` reads who
holds each level, ``escalate_due`` applies the decisions (a conditional
UPDATE, so two serve processes never escalate one complaint twice), and
``EscalationLoop`` runs it every ``[complaints] escalation_interval`` seconds."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.complaints import events, notices
from callcenter.complaints.models import LEVELS, Complaint, ComplaintCategory, ComplaintEvent
from callcenter.models import User, utcnow

log = logging.getLogger(__name__)
ACTIVE = ("open", "in_progress")
ACTOR = "system:escalation"
BATCH = 200
_C = Complaint.__table__


# -- the decision (pure) ---------------------------------------------------------
@dataclass(frozen=True)
class Chain:
    """Who acts at each level for one complaint (user ids; None: nobody)."""
    agent: int | None = None
    teamlead: int | None = None
    manager: int | None = None
    admin: int | None = None

    def at(self, level: str) -> int | None:
        return getattr(self, level)


@dataclass(frozen=True)
class Step:
    action: str               # "escalated" or "renotified"
    from_level: str
    to_level: str
    owner_id: int | None      # the new owner
    previous_owner_id: int | None
    due_at: dt.datetime


def owner_from(level: str, chain: Chain) -> tuple[str, int | None]:
    """The first level from ``level`` up that has a person, and that person;
    ("admin", None) when nobody is found (the complaint waits for an admin)."""
    for candidate in LEVELS[LEVELS.index(level):]:
        if chain.at(candidate) is not None:
            return candidate, chain.at(candidate)
    return "admin", None


def starting_level(role: str | None) -> str:
    """A complaint starts at its creator's level (an agent's, a team lead's...)."""
    return role if role in LEVELS else "admin"


def decide(level: str, owner_id: int | None, due_at: dt.datetime, now: dt.datetime,
           sla_hours: float, chain: Chain) -> Step | None:
    """What happens to an active complaint at ``now``: None while within its
    SLA; otherwise one level up (skipping empty levels), or at admin a
    reminder to the owner with the next one an SLA period later."""
    if due_at > now:
        return None
    next_due = now + dt.timedelta(hours=sla_hours)
    if level == "admin":
        owner = owner_id if owner_id is not None else chain.admin
        return Step("renotified", "admin", "admin", owner, owner_id, next_due)
    to_level, owner = owner_from(LEVELS[LEVELS.index(level) + 1], chain)
    return Step("escalated", level, to_level, owner, owner_id, next_due)


# -- who holds each level (I/O) ----------------------------------------------------
async def _first(session: AsyncSession, *where) -> int | None:
    return await session.scalar(select(User.id).where(User.active.is_(True), *where)
                                .order_by(User.id).limit(1))


async def load_chain(session: AsyncSession, creator_id: int | None, location_id: int | None) -> Chain:
    """The creator at their own level, then their team's lead, the location's
    manager and the first admin (active users only)."""
    creator = await session.get(User, creator_id) if creator_id is not None else None
    role = creator.role if creator is not None else None
    team_id = creator.team_id if creator is not None else None
    return Chain(
        agent=creator_id if role == "agent" else None,
        teamlead=creator_id if role == "teamlead" else (
            await _first(session, User.role == "teamlead", User.team_id == team_id) if team_id else None),
        manager=creator_id if role == "manager" else (
            await _first(session, User.role == "manager", User.location_id == location_id)
            if location_id else None),
        admin=creator_id if role == "admin" else await _first(session, User.role == "admin"),
    )


async def escalate_due(session: AsyncSession, settings, now: dt.datetime, limit: int = BATCH) -> list[Step]:
    """Escalate every active complaint past ``due_at`` (oldest first, up to
    ``limit``): update, history event, audit row and notifications to the new
    and the previous owner, all in the caller's transaction (the caller commits)."""
    rows = (await session.execute(
        select(Complaint.id, Complaint.level, Complaint.owner_id, Complaint.due_at, Complaint.created_by_id,
               Complaint.location_id, ComplaintCategory.sla_hours)
        .join(ComplaintCategory, ComplaintCategory.id == Complaint.category_id)
        .where(Complaint.status.in_(ACTIVE), Complaint.due_at <= now)
        .order_by(Complaint.due_at).limit(limit))).all()
    steps = []
    for row in rows:
        chain = await load_chain(session, row.created_by_id, row.location_id)
        due_at = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=dt.timezone.utc)
        step = decide(row.level, row.owner_id, due_at, now, row.sla_hours, chain)
        if step is None:
            continue
        values = {"level": step.to_level, "owner_id": step.owner_id, "due_at": step.due_at, "updated_at": now}
        if step.action == "escalated":
            values["escalations"] = _C.c.escalations + 1
        result = await session.execute(update(_C).where(
            _C.c.id == row.id, _C.c.due_at == row.due_at, _C.c.status.in_(ACTIVE)).values(**values))
        if result.rowcount != 1:
            continue  # changed meanwhile (resolved, or escalated by another process)
        note = f"SLA of {row.sla_hours:g} h passed"
        session.add(ComplaintEvent(complaint_id=row.id, at=now, actor=ACTOR, action=step.action,
                                   from_level=step.from_level, to_level=step.to_level, note=note))
        audit.record(session, ACTOR, f"complaint.{step.action}", "complaint", row.id,
                     from_level=step.from_level, to_level=step.to_level, owner_id=step.owner_id,
                     previous_owner_id=step.previous_owner_id)
        complaint = await session.get(Complaint, row.id, populate_existing=True)
        await notices.escalated(session, settings, complaint, step, now)
        if step.action == "escalated":
            await events.escalated(session, complaint, step.from_level, now)
        steps.append(step)
    if steps:
        log.info("escalation: %d complaint(s) past their SLA moved on", len(steps))
    return steps


class EscalationLoop:
    """Runs ``escalate_due`` every ``[complaints] escalation_interval`` seconds;
    ``wake()`` tells the notification outbox there is mail to send."""

    def __init__(self, sessions, settings, wake=None, clock=utcnow) -> None:
        self.sessions = sessions
        self.settings = settings
        self.wake = wake
        self.clock = clock

    @property
    def interval(self) -> float:
        return max(1.0, float(self.settings.complaints.escalation_interval))

    async def tick(self) -> list[Step]:
        async with self.sessions() as session:
            steps = await escalate_due(session, self.settings, self.clock())
            await session.commit()
        if steps and self.wake is not None:
            self.wake()
        return steps
