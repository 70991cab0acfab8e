"""Where a caller stands in the hierarchy, and the SQL filters that follow.

An agent sees their own work and customers; a team lead their team's; a
manager their location's; an admin everything. A service token with no user
behind it sees everything only with the admin role, nothing otherwise.
Every query over users, work items, customers, calls or reports is narrowed
with one of these clauses (those over work items, and customers and
campaigns reached through them, are the work's: callcenter/work/scope.py);
a row outside the scope is answered as not found."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.models import Call, User
from callcenter.org.models import Team


@dataclass(frozen=True)
class Scope:
    role: str
    user_id: int | None = None
    team_id: int | None = None
    location_id: int | None = None
    store_id: int | None = None

    @property
    def sees_all(self) -> bool:
        return self.role == "admin"

    def users(self):
        """Clause on User: the users this caller may see (themselves included)."""
        if self.sees_all:
            return true()
        if self.user_id is None:
            return false()
        if self.role == "manager" and self.location_id is not None:
            return (User.location_id == self.location_id) | (User.id == self.user_id)
        if self.role == "teamlead" and self.team_id is not None:
            return (User.team_id == self.team_id) | (User.id == self.user_id)
        return User.id == self.user_id

    def agent_ids(self):
        """A subquery of the ids of the users in scope (for ``col.in_(...)``)."""
        return select(User.id).where(self.users()).scalar_subquery()

    def owned_by(self, agent_column):
        """Clause: ``agent_column`` (e.g. WorkItem.agent_id) is a user in scope."""
        if self.sees_all:
            return true()
        if self.user_id is None:
            return false()
        if self.role == "agent":
            return agent_column == self.user_id
        return agent_column.in_(select(User.id).where(self.users()))

    def calls(self):
        """Clause on Call: placed for a user in scope."""
        return self.owned_by(Call.agent_id)

    def teams(self):
        """Clause on Team: an admin all; a manager their location's; a team
        lead their own (the one rule of the team routes and the reports' ?team)."""
        if self.sees_all:
            return true()
        if self.user_id is None:
            return false()
        if self.role == "teamlead":
            return Team.id == self.team_id if self.team_id is not None else false()
        return Team.location_id == self.location_id if self.location_id is not None else false()


async def load_scope(session: AsyncSession, principal) -> Scope:
    """The scope of an authenticated principal (``name, role, user_id``)."""
    if principal.user_id is None:
        return Scope(role=principal.role)
    row = (await session.execute(select(User.team_id, User.location_id, User.store_id)
                                 .where(User.id == principal.user_id))).first()
    if row is None:
        return Scope(role=principal.role)
    return Scope(role=principal.role, user_id=principal.user_id, team_id=row.team_id,
                 location_id=row.location_id, store_id=row.store_id)
