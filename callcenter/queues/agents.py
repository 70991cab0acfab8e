"""Agents in queues: log in to the queues they are offered, pause with a
reason, unpause, log out. Asterisk is changed first (``QueueAdd``,
``QueuePause``, ``QueueRemove`` through the call control,
:class:`callcenter.calls.control.CallControl`); only then are
the ``QueueSession`` / ``AgentPause`` rows written, so a refused action
changes nothing. After each AMI (re)connect :meth:`QueueAgents.restore` puts
Asterisk back in line with the open sessions.

The member: ``MemberName`` = the user name; a desktop agent's interface is
their phone ``PJSIP/<endpoint>`` (also its StateInterface); a mobile agent's
is a Local channel into ``cc-queue-mobile`` that dials their mobile through
the first usable trunk, presenting its pilot number (one trunk channel per
queue call). Penalty = the place of the queue's language in the agent's
languages (0 for their first language): with several queues of one
language, Asterisk rings first-language speakers first."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.calls import numbers
from callcenter.models import ROLE_RANK, User, utcnow
from callcenter.queues import conf
from callcenter.queues.exceptions import (AgentHasNoPhone, AgentNotFound, InvalidPauseReason, NotLoggedIn,
                                          QueueInvalid, QueueNotLoaded, QueueNotOffered)
from callcenter.queues.models import PAUSE_REASONS, AgentPause, Queue, QueueSession
from callcenter.queues.service import languages_of, offered

log = logging.getLogger(__name__)
LOAD_WAIT = 8.0


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()


class QueueAgents:
    def __init__(self, clients, tracker) -> None:
        self.clients = clients   # callcenter.queues.live.QueueClients
        self.tracker = tracker   # the queue tracker (callcenter.queues.state)

    @property
    def control(self):
        """The process's :class:`~callcenter.calls.control.CallControl`."""
        return self.clients.control

    # -- who, with which phone -------------------------------------------------------
    async def resolve(self, session: AsyncSession, principal, scope, name: str | None) -> User:
        """The agent a request is about: the caller, or (team leads and up) an
        active user in their scope named ``name``."""
        if name in (None, "", principal.name):
            user = await session.get(User, principal.user_id) if principal.user_id else None
        elif ROLE_RANK.get(principal.role, -1) >= ROLE_RANK["teamlead"] and isinstance(name, str):
            user = (await session.scalars(select(User).where(User.name == name, scope.users()))).first()
        else:
            user = None
        if user is None or not user.active:
            raise AgentNotFound("no such agent" if name else "queues need a user login, not a service token")
        return user

    async def interface(self, user: User) -> tuple[str, str | None]:
        """(Interface, StateInterface) of the user's phone."""
        if user.phone_mode == "mobile" and user.mobile:
            trunk = await self.clients.directory.trunk(None)
            if trunk is None:
                raise AgentHasNoPhone("no trunk is configured to ring a mobile agent")
            return conf.mobile_interface(numbers.dial_digits(user.mobile), trunk.name, trunk.pilot), None
        if user.sip_endpoint:
            phone = conf.desktop_interface(user.sip_endpoint)
            return phone, phone
        raise AgentHasNoPhone(f"{user.name} has no phone to take queue calls on")

    def _interfaces(self, user: User, current: str | None) -> set[str]:
        """Where Asterisk has this agent now (the tracker's view) and the current phone."""
        found = {m.interface for _q, m in self.tracker.members_named(user.name)}
        return found | ({current} if current else set())

    # -- reads ----------------------------------------------------------------------------
    async def _open_sessions(self, session: AsyncSession, user: User) -> list[tuple[QueueSession, Queue]]:
        rows = await session.execute(select(QueueSession, Queue).join(Queue, Queue.id == QueueSession.queue_id)
                                     .where(QueueSession.agent_id == user.id, QueueSession.logged_out_at.is_(None))
                                     .order_by(Queue.name))
        return [(s, q) for s, q in rows.all()]

    async def _open_pause(self, session: AsyncSession, user: User) -> AgentPause | None:
        return (await session.scalars(select(AgentPause).where(AgentPause.agent_id == user.id,
                                                               AgentPause.ended_at.is_(None))
                                      .order_by(AgentPause.id.desc()))).first()

    async def status(self, session: AsyncSession, user: User) -> dict:
        queues = (await session.scalars(select(Queue).where(Queue.active.is_(True)).order_by(Queue.name))).all()
        sessions = await self._open_sessions(session, user)
        pause = await self._open_pause(session, user) if sessions else None
        tracker = self.tracker
        live = {q.name: m.state(tracker.clock()) for q, m in tracker.members_named(user.name)}
        in_queues = []
        for s, q in sessions:
            view = tracker.view(q.name)
            in_queues.append({"name": q.name, "language": q.language, "since": _iso(s.logged_in_at),
                              "state": live.get(q.name, "unknown"), "waiting": view["waiting"],
                              "longest_wait": view["longest_wait"]})
        return {"agent": user.name, "phone": user.phone_mode if (user.sip_endpoint or user.mobile) else None,
                "offered": [{"name": q.name, "language": q.language} for q in queues if offered(q, user)],
                "logged_in": in_queues, "paused": pause is not None,
                "pause_reason": pause.reason if pause else None,
                "paused_since": _iso(pause.started_at) if pause else None, "reasons": list(PAUSE_REASONS)}

    # -- changes ----------------------------------------------------------------------------
    async def _loaded(self, names: list[str]) -> None:
        """Wait (a few seconds at most) until Asterisk has loaded these queues."""
        sync = self.clients.pbx_sync
        if sync is None or not (self.clients.settings.pbx.managed or self.clients.settings.pbx.sync_config):
            return
        deadline = asyncio.get_running_loop().time() + LOAD_WAIT
        while not set(names) <= sync.queue_names:
            sync.queues_loaded.clear()
            sync.poke()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise QueueNotLoaded("the phone system has not loaded the queue yet; try again")
            try:
                await asyncio.wait_for(sync.queues_loaded.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def login(self, session: AsyncSession, user: User, names, *, actor: str) -> list[str]:
        """Log in to ``names`` (None: every queue offered); returns the queues joined now."""
        queues = (await session.scalars(select(Queue).where(Queue.active.is_(True)).order_by(Queue.name))).all()
        by_name = {q.name: q for q in queues}
        if names is None:
            chosen = [q for q in queues if offered(q, user)]
        else:
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) > 50:
                raise QueueInvalid("queues must be a list of queue names", field="queues")
            missing = [n for n in names if n not in by_name or not offered(by_name[n], user)]
            if missing:
                raise QueueNotOffered(f"{user.name} may not take calls of queue {missing[0]!r} "
                                      "(not their language or location, or no such queue)")
            chosen = [by_name[n] for n in dict.fromkeys(names)]
        if not chosen:
            raise QueueNotOffered(f"no queue is offered to {user.name} (languages: "
                                  f"{', '.join(languages_of(user)) or 'none'})")
        interface, state = await self.interface(user)
        already = {q.name for _s, q in await self._open_sessions(session, user)}
        pause = await self._open_pause(session, user)
        await self._loaded([q.name for q in chosen])
        joined = []
        for q in chosen:
            penalty = languages_of(user).index(q.language)
            await self.control.add_member(q.name, interface, user.name, penalty, state,
                                          pause.reason if pause else None)
            if q.name not in already:
                session.add(QueueSession(agent_id=user.id, queue_id=q.id))
                joined.append(q.name)
        if joined:
            audit.record(session, actor, "queue.login", "user", user.id, queues=joined, interface=interface)
        return joined

    async def logout(self, session: AsyncSession, user: User, names=None, *, actor: str) -> list[str]:
        """Log out of ``names`` (None: all); the pause ends with the last queue."""
        sessions = await self._open_sessions(session, user)
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
            raise QueueInvalid("queues must be a list of queue names", field="queues")
        leaving = [(s, q) for s, q in sessions if names is None or q.name in names]
        try:
            current = (await self.interface(user))[0]
        except AgentHasNoPhone:
            current = None
        interfaces = self._interfaces(user, current)
        for _s, q in leaving:
            for interface in interfaces:
                await self.control.remove_member(q.name, interface)
        now = utcnow()
        for s, _q in leaving:
            s.logged_out_at = now
        if len(leaving) == len(sessions):
            pause = await self._open_pause(session, user)
            if pause is not None:
                pause.ended_at = now
        left = [q.name for _s, q in leaving]
        if left:
            audit.record(session, actor, "queue.logout", "user", user.id, queues=left)
        return left

    async def pause(self, session: AsyncSession, user: User, reason, *, actor: str) -> None:
        if reason not in PAUSE_REASONS:
            raise InvalidPauseReason(f"reason must be one of {', '.join(PAUSE_REASONS)}", field="reason")
        if not await self._open_sessions(session, user):
            raise NotLoggedIn(f"{user.name} is not logged in to any queue")
        interface = (await self.interface(user))[0]
        for each in self._interfaces(user, interface):
            await self.control.pause_member(each, True, reason)
        current = await self._open_pause(session, user)
        if current is not None and current.reason == reason:
            return
        now = utcnow()
        if current is not None:
            current.ended_at = now
        session.add(AgentPause(agent_id=user.id, reason=reason, started_at=now))
        audit.record(session, actor, "queue.pause", "user", user.id, reason=reason)

    async def unpause(self, session: AsyncSession, user: User, *, actor: str) -> None:
        if not await self._open_sessions(session, user):
            raise NotLoggedIn(f"{user.name} is not logged in to any queue")
        interface = (await self.interface(user))[0]
        for each in self._interfaces(user, interface):
            await self.control.pause_member(each, False)
        current = await self._open_pause(session, user)
        if current is not None:
            current.ended_at = utcnow()
            audit.record(session, actor, "queue.unpause", "user", user.id, reason=current.reason)

    async def close_queue(self, session: AsyncSession, q: Queue, *, actor: str) -> int:
        """A queue switched off: every agent in it leaves it (Asterisk and rows)."""
        rows = (await session.execute(select(QueueSession, User).join(User, User.id == QueueSession.agent_id)
                                      .where(QueueSession.queue_id == q.id,
                                             QueueSession.logged_out_at.is_(None)))).all()
        for _s, user in rows:
            await self.logout(session, user, [q.name], actor=actor)
        return len(rows)

    async def restore(self, session: AsyncSession) -> tuple[int, int]:
        """Make Asterisk match the open sessions (after a restart or reconnect):
        members missing are added again (paused if the agent is), and members
        that are our users without an open session are removed. Returns (added, removed)."""
        rows = (await session.execute(select(QueueSession, Queue, User)
                                      .join(Queue, Queue.id == QueueSession.queue_id)
                                      .join(User, User.id == QueueSession.agent_id)
                                      .where(QueueSession.logged_out_at.is_(None)))).all()
        tracker = self.tracker
        wanted = {(q.name, u.name) for _s, q, u in rows}
        added = removed = 0
        for s, q, u in rows:
            present = any(m.name == u.name for m in tracker.queue(q.name).members.values())
            if present or not q.active or not u.active:
                continue
            try:
                interface, state = await self.interface(u)
                pause = await self._open_pause(session, u)
                await self.control.add_member(q.name, interface, u.name, languages_of(u).index(q.language)
                                       if q.language in languages_of(u) else 0, state,
                                       pause.reason if pause else None)
                added += 1
            except (AgentHasNoPhone, QueueNotLoaded, ValueError) as error:
                log.warning("could not restore %s in queue %s: %s", u.name, q.name, error)
        ours = set((await session.scalars(select(User.name))).all())
        for name, q in list(tracker.queues.items()):
            for m in list(q.members.values()):
                if m.name in ours and (name, m.name) not in wanted:
                    await self.control.remove_member(name, m.interface)
                    removed += 1
        return added, removed
