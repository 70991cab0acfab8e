"""Listen, whisper, barge: monitor sessions on click-to-calls.

:meth:`Monitoring.start` checks who may (a team lead or above whose scope
covers the call's agent; agents never), that the call is in conversation and
that the supervisor has a phone, reserves a trunk channel for a supervisor on
a mobile (like click-to-call), audits ``monitor.start`` and originates the
supervisor's phone into ``ChanSpy`` on the agent's exact channel
(:mod:`callcenter.monitor.legs`). The session ends (``monitor.end`` audited,
the trunk channel released, the live ``monitor`` message sent) when the
supervisor's leg hangs up, which ChanSpy's ``E`` does when the agent's
channel does; :meth:`check` hangs up any supervisor leg whose call has ended
and any ``cm-`` channel no session owns (an Originate lost to an AMI drop:
like the dialer's, it is never re-sent), and ends sessions whose leg Asterisk
no longer has. With several servers on one Asterisk each marks its sessions
in Redis, so none hangs up a leg of another's session. The active sessions are in :meth:`active` (for the board).
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid

from sqlalchemy import select

from callcenter import audit
from callcenter.ami import AmiError, AmiNotConnected, AmiTimeout
from callcenter.calls import numbers
from callcenter.calls.control import checked_channel
from callcenter.clock import utc_iso
from callcenter.loops import stop_tasks
from callcenter.monitor import exceptions as exc
from callcenter.monitor.legs import MODES, MonitorSession, checked_spied, originate, session_of
from callcenter.monitor.settings import notice
from callcenter.models import User

log = logging.getLogger(__name__)
SUPERVISORS = ("teamlead", "manager", "admin")
NO_PHONE = ("you have no phone to listen on: set a desktop SIP endpoint or a mobile number "
            "on your user (PATCH /api/v1/users/{name} with contact or mobile, or the user's page)")


class Monitoring:
    def __init__(self, settings, sessions, ami, tracker, accounting, live, phones=None) -> None:
        self.settings = settings
        self.phones = phones   # the dialer's AgentPhones: is a web phone registered (callcenter/webphone)
        self.section = settings.monitor
        self.sessions = sessions
        self.ami = ami
        self.tracker = tracker
        self.accounting = accounting
        self.live = live
        self.by_id: dict[str, MonitorSession] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- the board's view ---------------------------------------------------------------
    def active(self, call_id: str | None = None) -> list[dict]:
        """The sessions going on (ringing or connected), for the live board: who monitors which call, how."""
        return [s.view() for s in self.by_id.values() if call_id is None or s.call_id == call_id]

    async def active_in(self, scope) -> list[dict]:
        """:meth:`active`, limited to the agents ``scope`` reaches (a team lead's team...)."""
        sessions = self.active()
        if scope is None or scope.sees_all or not sessions:
            return sessions
        agents = {s["agent"]["id"] for s in sessions}
        async with self.sessions() as db:
            reached = set(await db.scalars(select(User.id).where(User.id.in_(agents), scope.users())))
        return [s for s in sessions if s["agent"]["id"] in reached]

    async def covers(self, scope, agent_id: int) -> bool:
        """Does ``scope`` (callcenter.org.scope) reach the agent?"""
        if scope.sees_all:
            return True
        async with self.sessions() as db:
            return await db.scalar(select(User.id).where(User.id == agent_id, scope.users())) is not None

    # -- starting -------------------------------------------------------------------
    async def start(self, principal, call, agent, trunk, covered: bool, mode) -> MonitorSession:
        """``call``/``agent``/``trunk``: the call's row, its agent, its trunk;
        ``covered``: the supervisor's scope covers the agent."""
        if principal.role not in SUPERVISORS:
            raise exc.MayNotMonitor("only a team lead, a manager or an admin may listen in on calls")
        if not covered:
            raise exc.MayNotMonitor(f"agent {agent.name} is outside your team or location")
        if mode not in MODES:
            raise exc.InvalidMode("'mode' must be one of listen, whisper, barge")
        tracked = self.tracker.calls.get(call.id)
        if call.state == "ended" or tracked is None or tracked.state != "connected":
            raise exc.NotMonitorable("the call is not in conversation (not yet connected, or ended)")
        spied = checked_spied(tracked.agent.channel)
        supervisor = await self._supervisor(principal)
        phone, on_trunk = self._phone(supervisor, trunk.name)
        if not self.ami.connected:
            raise exc.MonitorPbxUnavailable("the PBX is not reachable right now; try again shortly")
        session = MonitorSession(uuid.uuid4().hex, call.id, mode, supervisor.id, supervisor.name,
                                 agent.id, agent.name, spied, phone, trunk.name if on_trunk else None)
        if session.trunk and not await self.accounting.reserve(session.trunk, [session.trunk_leg], time.time()):
            raise exc.MonitorTrunkFull(f"all channels of trunk {session.trunk} are in use")
        await self._replace(session)
        self.by_id[session.id] = session
        await self._mark(session.id)
        try:
            await self._audit(session, "monitor.start")  # recorded before anything rings
        except BaseException:
            self.by_id.pop(session.id, None)
            await self._release(session)
            raise
        await self._publish(session, "start")
        headers, variables = originate(session, self.section.ring_timeout)
        try:
            await self.ami.originate(headers, variables, timeout=self.settings.calls.originate_timeout)
        except (AmiNotConnected, AmiTimeout, AmiError) as error:
            log.warning("originate of monitor session %s failed: %s", session.id, error)
            # never re-sent; a channel Asterisk did start is hung up by check() (no session owns it)
            await self.end(session, "originate_failed")
            raise exc.MonitorPbxUnavailable(f"the phone system did not ring your phone ({error})") from None
        return session

    async def _replace(self, new: MonitorSession) -> None:
        """A mode change is a new request: the supervisor's earlier session on the call ends first."""
        for session in [s for s in self.by_id.values()
                        if s.call_id == new.call_id and s.supervisor_id == new.supervisor_id]:
            await self._hang_up(session.uniqueid)
            await self.end(session, f"replaced by {new.mode}")

    async def _supervisor(self, principal) -> User:
        if principal.user_id is None:
            raise exc.SupervisorHasNoPhone(NO_PHONE)
        async with self.sessions() as session:
            user = await session.get(User, principal.user_id)
        if user is None:
            raise exc.SupervisorHasNoPhone(NO_PHONE)
        return user

    def _phone(self, user: User, trunk: str) -> tuple[str, bool]:
        """(dial string, on the trunk?) of the supervisor's phone, by their phone mode
        (a web phone must be registered: 409 agent_phone_offline, nothing rung)."""
        check = self.phones.checks.get("browser") if self.phones is not None else None
        if user.phone_mode == "browser" and check is not None:
            check(user)
        desk = f"PJSIP/{user.sip_endpoint}" if user.sip_endpoint else None
        mobile = f"PJSIP/{numbers.dial_digits(user.mobile)}@{trunk}" if user.mobile else None
        first, second = (mobile, desk) if user.phone_mode == "mobile" else (desk, mobile)
        phone = first or second
        if phone is None:
            raise exc.SupervisorHasNoPhone(NO_PHONE)
        return checked_channel(phone), phone == mobile

    # -- AMI events and ending ---------------------------------------------------------
    def on_event(self, event: dict[str, str]) -> None:
        session = self.by_id.get(session_of(event.get("Uniqueid", "")) or "")
        if session is None:
            return
        kind = event.get("Event")
        if kind == "Newchannel":
            session.channel, session.seen_at = event.get("Channel"), time.time()
        elif kind == "Newstate" and event.get("ChannelState") == "6" and session.answered_at is None:
            session.answered_at = time.time()
            self._spawn(self._publish(session, "connected"))
        elif kind == "Hangup":
            self._spawn(self.end(session, "completed" if session.answered_at else "no_answer"))
        elif kind == "OriginateResponse" and event.get("Response") == "Failure":
            self._spawn(self.end(session, "no_answer"))

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def end(self, session: MonitorSession, reason: str) -> None:
        """Once per session: free its trunk channel, audit the end, then forget it and
        announce it. It stays in the active list until its end is recorded, so whoever
        sees it gone (the board, the API) also finds its ``monitor.end`` row."""
        if session.ended_at is not None or self.by_id.get(session.id) is not session:
            return
        session.ended_at, session.end_reason = time.time(), reason
        try:
            await self._release(session)
            try:
                await self._audit(session, "monitor.end")
            except Exception:  # noqa: BLE001 - the session is over all the same
                log.exception("monitor session %s: end not audited", session.id)
        finally:
            self.by_id.pop(session.id, None)
        try:
            if self.accounting is not None:
                await self.accounting.redis.delete(self._key(session.id))
        except Exception:  # noqa: BLE001 - the mark runs out by itself
            pass
        await self._publish(session, "end")

    async def _release(self, session: MonitorSession) -> None:
        if session.trunk:
            try:
                await self.accounting.release(session.trunk, session.trunk_leg)
            except Exception as error:  # noqa: BLE001 - reconciliation frees it once the call is gone
                log.warning("monitor session %s: trunk channel not released yet: %s", session.id, error)

    # -- the loop: leaks and orphans --------------------------------------------------------
    async def check(self) -> None:
        """Hang up supervisor legs whose call ended or that no session owns; end
        sessions whose leg Asterisk no longer has (a Hangup lost while AMI was down)."""
        if not self.ami.connected:
            return
        requested_at = time.time()  # a leg made after this is not in the list yet
        channels = await self.ami.action_list("CoreShowChannels")
        present = {}
        for entry in channels:
            session_id = session_of(entry.get("Uniqueid", ""))
            if session_id is not None:
                present[session_id] = entry.get("Channel", "")
        await self._mark(*self.by_id)
        elsewhere = await self._elsewhere([sid for sid in present if sid not in self.by_id])
        for session_id, channel in present.items():
            session = self.by_id.get(session_id)
            tracked = self.tracker.calls.get(session.call_id) if session else None
            if session is None and session_id in elsewhere:
                continue  # another server's session: that server looks after its leg
            if session is None or tracked is None or tracked.state == "ended":
                log.warning("hanging up monitor leg %s: its session or call is over", channel)
                await self._hang_up(channel)
        now = time.time()
        for session in list(self.by_id.values()):
            grace = self.settings.calls.originate_timeout + self.section.ring_timeout + 5
            seen_before = session.seen_at is not None and session.seen_at < requested_at
            if session.id not in present and (seen_before or now - session.started_at > grace):
                await self.end(session, "gone")

    # -- several servers: whose session is a leg? -----------------------------------------
    def _key(self, session_id: str) -> str:
        return f"{self.accounting.prefix}monitor:session:{session_id}"

    async def _mark(self, *session_ids: str) -> None:
        """Tell the other servers these sessions are this one's (kept a few checks long)."""
        if not session_ids or self.accounting is None:  # no shared store: the only process
            return
        ttl = int(self.section.check_interval * 3 + 10)
        try:
            async with self.accounting.redis.pipeline(transaction=False) as pipe:
                for session_id in session_ids:
                    pipe.set(self._key(session_id), "1", ex=ttl)
                await pipe.execute()
        except Exception as error:  # noqa: BLE001 - marked again at the next check
            log.warning("monitor sessions not marked in Redis: %s", error)

    async def _elsewhere(self, session_ids: list[str]) -> set[str]:
        """Those of ``session_ids`` another server holds. Redis away: all of them
        (a leg is not hung up on a guess; its call's end still hangs it up there)."""
        if not session_ids or self.accounting is None:
            return set()
        try:
            marks = await self.accounting.redis.mget([self._key(sid) for sid in session_ids])
        except Exception as error:  # noqa: BLE001
            log.warning("monitor sessions of other servers unknown (Redis): %s", error)
            return set(session_ids)
        return {sid for sid, mark in zip(session_ids, marks) if mark is not None}

    async def _hang_up(self, channel: str) -> None:
        try:
            await self.ami.action("Hangup", {"Channel": checked_channel(channel), "Cause": "16"})
        except (AmiError, ValueError) as error:
            log.info("hangup of monitor leg %s: %s", channel, error)

    async def _audit(self, session: MonitorSession, action: str) -> None:
        async with self.sessions() as db, db.begin():
            audit.record(db, session.supervisor, action, "call", session.call_id, monitor_session=session.id,
                         mode=session.mode, agent=session.agent, started_at=utc_iso(session.started_at),
                         ended_at=utc_iso(session.ended_at), end_reason=session.end_reason)

    async def _publish(self, session: MonitorSession, step: str) -> None:
        """The board's ``monitor`` message (start/connected/end), to whoever sees the agent
        (the supervisor included); the agent's own pages only with the notice setting on for the mode."""
        told = notice(self.section, session.mode)
        event = {"type": "monitor", "step": step, "session": session.view(), "notice": told}
        try:
            if told:
                await self.live.publish(event, agent_id=session.agent_id)
            else:  # silent: the agent's pages must not see it; the supervisor and the agent's supervisors' do
                await self.live.publish(event, user_ids=[session.supervisor_id], agent_id=session.agent_id,
                                        supervisors_only=True)
        except Exception as error:  # noqa: BLE001 - the live bus is best effort
            log.info("monitor message not published: %s", error)

    async def close(self) -> None:
        await stop_tasks(list(self._tasks), "monitor task")

