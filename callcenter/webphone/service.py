"""The web phones: credentials per login, registration state, the SIP relay,
what the dialer and the queues must know about a phone that is offline, and
the call quality the pages report."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from sqlalchemy import select, update

from callcenter.ami import AmiError, AmiNotConnected, AmiTimeout
from callcenter.loops import stop_tasks
from callcenter.models import Call
from callcenter.pbx.sync import admin_list
from callcenter.webphone import quality
from callcenter.webphone.credentials import Credentials, PhoneLogin, session_digest as sessions_digest
from callcenter.webphone.exceptions import AgentPhoneOffline, NoCallToRate, PhoneNotReady
from callcenter.webphone.models import BrowserPhone
from callcenter.webphone.registrations import Registrations, is_web_phone
from callcenter.webphone.sip_relay import SESSION_ENDED, SipRelay

log = logging.getLogger(__name__)

OFFLINE_REASON = "phone offline"     # the queue pause reason of a browser agent whose phone is offline
APPLY_WAIT_SECONDS = 8.0             # how long issuing credentials waits for Asterisk's reload


class WebPhones:
    def __init__(self, settings, sessions, ami, control, pbx_sync, queues, registry, live=None) -> None:
        self.settings = settings
        self.section = settings.webphone
        self.sessions = sessions
        self.ami = ami
        self.control = control
        self.pbx_sync = pbx_sync
        self.queues = queues              # the queues feature's QueueLive, or None
        self.live = live                  # the live bus: call quality to the supervisors' boards
        self.credentials = Credentials(settings, sessions)
        self.registrations = Registrations()
        self.registrations.listeners.append(self._on_registration)
        self.relay = SipRelay(f"ws://127.0.0.1:{settings.pbx.http_port}/ws")
        self.agent_mos: dict[str, float] = {}
        self.metrics = quality.QualityMetrics(registry, self.registrations, self.agent_mos)
        self._offline_due: set[str] = set()   # endpoints gone offline: their calls to end, queues to pause
        self._reconciling: asyncio.Task | None = None

    # -- credentials ------------------------------------------------------------------
    async def issue(self, user_id: int, session_id: str, expires_at: dt.datetime) -> PhoneLogin:
        """This login's phone credentials, in Asterisk's config before they are handed out."""
        login = await self.credentials.issue(user_id, session_id, expires_at)
        # after the row is committed: a config read that began before the
        # commit (while the sync was already busy with another login) may not
        # hold these credentials, and a phone handed them then got 401.
        committed = time.monotonic()
        if self.pbx_sync is not None:
            if not await self.pbx_sync.wait_applied(committed, APPLY_WAIT_SECONDS):
                # a password Asterisk does not know yet would only earn the page a 401
                log.warning("web phone of %s: Asterisk has not reloaded its config yet", login.agent)
                raise PhoneNotReady("the phone system is still loading your phone; trying again shortly",
                                    retry_after=2)
        if login.taken_over:
            self.relay.end(user_id, 4002, "taken over by another tab or device")
        return login

    async def credentials_of(self, user_id: int):
        async with self.sessions() as db:
            return await db.get(BrowserPhone, user_id)

    async def revoke(self, user_id: int, session_id: str) -> None:
        """This login logs its phone out (DELETE /api/v1/phone)."""
        if self.relay.end(user_id, SESSION_ENDED, "logged out", sessions_digest(session_id)):
            await self.relay.wait_closed(user_id)   # the socket first, then the endpoint
        endpoint = await self.credentials.revoke(user_id, session_id)
        self._revoked([endpoint] if endpoint else [])

    async def sweep(self, login_roles) -> None:
        """Revoke the credentials of logins that ended (a loop)."""
        self._revoked(await self.credentials.sweep(login_roles, self._close_socket))
        await self.reconcile()

    def _revoked(self, endpoints: list[str]) -> None:
        """Offline whatever Asterisk last said; out of its config at once."""
        for endpoint in endpoints:
            self.registrations.forget(endpoint)
        if endpoints and self.pbx_sync is not None:
            self.pbx_sync.poke()

    async def _close_socket(self, user_id: int) -> None:
        """A login ended: close its phone's socket before its endpoint goes."""
        if self.relay.end(user_id, SESSION_ENDED, "your login ended"):
            await self.relay.wait_closed(user_id)

    # -- registrations ------------------------------------------------------------------
    def on_event(self, event: dict) -> None:
        self.registrations.on_event(event)

    async def on_connected(self) -> None:
        """After each AMI (re)connect: Asterisk's contacts are the truth."""
        try:
            contacts = await admin_list(self.settings, "PJSIPShowContacts")  # needs the admin user
        except AmiError as error:
            if "no contacts found" not in str(error).lower():
                log.warning("could not list the web phones' contacts: %s", error)
                return
            contacts = []
        except (AmiNotConnected, AmiTimeout, OSError) as error:
            log.warning("could not list the web phones' contacts: %s", error)
            return
        self.registrations.replace(e for e in contacts if e.get("Event") == "ContactList")
        # a phone without a contact now (this server restarted, its sockets
        # went with it) has no call to keep: its channels go too
        for endpoint in await self.credentials.endpoints():
            if not self.registrations.is_online(endpoint):
                self._offline_due.add(endpoint)
        await self.reconcile()

    def _on_registration(self, endpoint: str, online: bool) -> None:
        log.info("web phone %s %s", endpoint, "registered" if online else "offline")
        if not online:
            self._offline_due.add(endpoint)
        else:
            self._offline_due.discard(endpoint)
        if self._reconciling is None or self._reconciling.done():  # at once: a call may be left talking to no one
            self._reconciling = asyncio.get_running_loop().create_task(self._reconcile_soon())

    def check_online(self, agent) -> None:
        """The dialer's check before it rings a browser agent (409 when offline)."""
        if not self.registrations.is_online(agent.sip_endpoint):
            raise AgentPhoneOffline(
                f"{agent.name}'s web phone is offline: open the panel (the phone bar must say "
                f"'Registered') and try again")

    def ring_variables(self, placed) -> dict[str, str]:
        """The agent's leg of a click-to-call: the page answers by itself after a short tone."""
        variables = {"PJSIP_HEADER(add,X-CC-Call-Id)": placed.call_id}
        if self.section.auto_answer:
            variables["PJSIP_HEADER(add,X-CC-Answer-After)"] = str(int(self.section.auto_answer_delay * 1000))
        return variables

    async def _reconcile_soon(self) -> None:
        await asyncio.sleep(0.2)   # a takeover's old contact goes right after the new one comes
        try:
            await self.reconcile()
        except Exception:  # noqa: BLE001 - the loop's next pass tries again
            log.exception("web phone reconcile failed")

    async def close(self) -> None:
        await stop_tasks([self._reconciling], "web phone reconcile")
        await self.relay.close()

    async def reconcile(self) -> None:
        """End the calls of phones that went offline (the page cannot hang up
        any more: the customer must not be left talking to no one) and keep
        browser agents whose phone is offline paused in their queues."""
        for endpoint in list(self._offline_due):
            if self.registrations.is_online(endpoint):
                self._offline_due.discard(endpoint)
                continue
            try:
                await self.ami.action("Hangup", {"Channel": f"/^PJSIP/{endpoint}-[0-9a-f]+$/"}, timeout=5.0)
            except AmiError as error:
                if "no such channel" not in str(error).lower():
                    log.warning("hanging up the calls of offline %s: %s", endpoint, error)
                    continue
            except (AmiNotConnected, AmiTimeout):
                continue
            self._offline_due.discard(endpoint)
        await self._pause_offline()

    async def _pause_offline(self) -> None:
        if self.queues is None:
            return
        done = set()
        for q in list(self.queues.tracker.queues.values()):
            for member in list(q.members.values()):
                interface = member.interface
                endpoint = interface.partition("/")[2]
                if not interface.startswith("PJSIP/") or not is_web_phone(endpoint) or interface in done:
                    continue
                done.add(interface)
                offline = not self.registrations.is_online(endpoint)
                try:
                    if offline and not member.paused:
                        await self.control.pause_member(interface, True, OFFLINE_REASON)
                    elif not offline and member.paused and member.reason == OFFLINE_REASON:
                        await self.control.pause_member(interface, False)
                except Exception as error:  # noqa: BLE001 - the next pass tries again
                    log.warning("could not (un)pause %s for its web phone: %s", interface, error)

    # -- call quality ------------------------------------------------------------------
    async def rate(self, user_id: int, agent: str, call_id: str | None, report: quality.Report) -> dict:
        """Fold one report into the agent's call in progress; its MOS."""
        async with self.sessions() as db:
            query = select(Call).where(Call.agent_id == user_id, Call.ended_at.is_(None))
            if call_id is not None:
                query = query.where(Call.id == call_id)
            call = (await db.scalars(query.order_by(Call.requested_at.desc()).limit(1))).first()
            if call is None:
                raise NoCallToRate("no call of yours is in progress")
            samples = call.quality_samples or 0
            values = {name: quality.running(getattr(call, name), samples, getattr(report, name))
                      for name in ("jitter_ms", "loss_pct", "rtt_ms")}
            score = quality.mos(**values)
            await db.execute(update(Call).where(Call.id == call.id).values(
                quality_samples=samples + 1, mos=score, **values))
            await db.commit()
        self.metrics.reports.inc()
        self.metrics.report_mos.observe(report.mos)
        self.agent_mos[agent] = score
        if self.live is not None:
            await self.live.publish({"type": "call_quality", "call_id": call.id, "agent": agent, "mos": score,
                                     "quality": quality.label(score)}, agent_id=user_id, supervisors_only=True)
        return {"call_id": call.id, "mos": score, "quality": quality.label(score), "report_mos": report.mos}
