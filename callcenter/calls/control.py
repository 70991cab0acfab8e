"""Call control: the one service that acts on live calls, and on the agents
in the PBX's queues, through the AMI link (:class:`callcenter.ami.AmiLink`).

Every action builds its AMI headers here, from checked values only: the
header names are fixed in this module; a call id is 32 hex digits (its agent
leg is addressed by the uniqueid ``cc-<id>-a``, which exists from the moment
Asterisk runs the Originate); a channel name is a non-empty string without
control characters (the AMI link refuses CR, LF and NUL in any value too);
a queue name passes :func:`callcenter.queues.conf.check_queue_name`; a
member's interface (made by :mod:`callcenter.queues.conf` from checked
parts), name and pause reason are plain text (:func:`plain`). A value that
fails its check never reaches Asterisk (ValueError, or the action's domain
error).

Live calls:

- :meth:`CallControl.hang_up_outbound`: a click-to-call's agent leg (which
  ends the customer's too); retried while the Originate may not have made the
  channel yet. :meth:`dialer.service.ClickToCall.hangup` checks who may and
  audits first.
- :meth:`CallControl.hang_up_inbound`: the agent's side of an inbound call
  (the caller goes on to the survey); any failure is ``CallNotLive``.
- :meth:`CallControl.hang_up_abandoned`: channels Asterisk started for an
  Originate reported failed (link lost, timeout), found by reconciliation.
- :meth:`CallControl.hang_up_legs`: the legs of a call past its limits
  (:mod:`callcenter.calls.fence`).

Queue members (the call-work user's "agent" rights): :meth:`~CallControl.add_member`,
:meth:`~CallControl.remove_member`, :meth:`~CallControl.pause_member`,
:meth:`~CallControl.queue_status` (``QueueAdd``, ``QueueRemove``,
``QueuePause``, ``QueueStatus``). Repeating an add or a remove is harmless
(Asterisk's "already there"/"not there" are taken as done).

Next
----
Listening in, whispering and barging are in :mod:`callcenter.monitor` (an
``Originate`` of the supervisor's phone into ``ChanSpy`` on the agent's exact
channel, context ``cc-monitor``). Transfers (``Redirect`` for a blind one,
``Atxfer`` for an attended one) are the next methods of :class:`CallControl`, under the same rule: headers made
here from checked values, never from what a client sent.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Container, Iterable

from callcenter.ami import AmiError, AmiNotConnected, AmiTimeout
from callcenter.calls.tracked import agent_uniqueid, call_id_of
from callcenter.calls.exceptions import CallNotLive, PbxUnavailable, QueueNotLoaded
from callcenter.calls.queue_names import check_queue_name

log = logging.getLogger(__name__)

HANGUP_ATTEMPTS = 10
HANGUP_RETRY_SECONDS = 0.2    # the Originate may not have created the agent leg yet
NORMAL_CLEARING = "16"        # the Q.850 cause a hang-up from here gives
MEMBER_TIMEOUT = 5.0          # seconds a queue-member action may take
_CALL_ID = re.compile(r"[0-9a-f]{32}")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def checked_call_id(call_id: str) -> str:
    if not isinstance(call_id, str) or not _CALL_ID.fullmatch(call_id):
        raise ValueError("not a call id")
    return call_id


def plain(value: str, what: str) -> str:
    """``value`` if it is a non-empty string without control characters (a
    channel name or uniqueid as Asterisk gave it, an interface, a member's
    name, a pause reason), else ValueError naming ``what``."""
    if not isinstance(value, str) or not value or _CONTROL_CHARACTERS.search(value):
        raise ValueError(f"not a {what}")
    return value


def checked_channel(channel: str) -> str:
    return plain(channel, "channel name")


def _message(error: AmiError) -> str:
    return (error.response.get("Message") or error.message or "").lower()


class CallControl:
    """Actions on live calls and queue members, through ``ami`` (an
    :class:`~callcenter.ami.AmiLink`); ``tracker`` (the
    :class:`~callcenter.calls.tracker.CallTracker`) tells when retrying an
    outbound hang-up is pointless."""

    def __init__(self, ami, tracker=None, member_timeout: float = MEMBER_TIMEOUT) -> None:
        self.ami = ami
        self.tracker = tracker
        self.member_timeout = member_timeout

    # -- hanging up ------------------------------------------------------------------
    async def hang_up_outbound(self, call_id: str) -> None:
        """Hang up a click-to-call by its agent leg (the dialplan then ends the
        customer's). A refusal is retried (the Originate may not have made the
        leg yet) up to HANGUP_ATTEMPTS times, while the tracker still expects
        the leg. ValueError, and nothing sent, if ``call_id`` is not a call id."""
        headers = {"Channel": agent_uniqueid(checked_call_id(call_id)), "Cause": NORMAL_CLEARING}
        for _attempt in range(HANGUP_ATTEMPTS):
            try:
                await self.ami.action("Hangup", headers)
                return
            except AmiError as error:
                tracked = self.tracker.calls.get(call_id) if self.tracker is not None else None
                if tracked is None or tracked.state == "ended" or tracked.agent.hungup_at is not None:
                    return
                log.info("hangup of call %s: %s (retrying)", call_id, error)
            await asyncio.sleep(HANGUP_RETRY_SECONDS)
        log.warning("hangup of call %s: Asterisk never had its agent leg", call_id)

    async def hang_up_inbound(self, agent_channel: str) -> None:
        """Hang up the agent's channel of an inbound call in conversation; the
        phone system's refusal (the leg gone already, the PBX away) or a
        channel name that fails its check is CallNotLive."""
        try:
            await self.ami.action("Hangup", {"Channel": checked_channel(agent_channel)})
        except Exception as error:  # noqa: BLE001 - gone already, or the PBX away: one answer for all
            raise CallNotLive(f"the phone system did not hang up: {error}") from None

    async def hang_up_abandoned(self, channels: Iterable[dict], abandoned: Container[str]) -> None:
        """Hang up each channel of ``channels`` (CoreShowChannels entries) whose
        call is in ``abandoned`` (the ids of calls whose Originate was reported failed)."""
        for entry in channels:
            if call_id_of(entry.get("Linkedid", "")) not in abandoned:
                continue
            log.warning("hanging up %s: its Originate was reported failed", entry.get("Channel"))
            try:
                await self.ami.action("Hangup", {"Channel": checked_channel(entry.get("Channel", ""))})
            except (AmiError, ValueError) as error:
                log.info("hangup of abandoned channel: %s", error)

    async def hang_up_legs(self, call_id: str, channels: Iterable[str]) -> None:
        """Hang up the given legs (uniqueids or channel names) of a call; a leg
        gone meanwhile, or the link down, is logged (the caller tries again later)."""
        for channel in channels:
            try:
                await self.ami.action("Hangup", {"Channel": checked_channel(channel), "Cause": NORMAL_CLEARING})
            except (AmiError, ValueError) as error:
                log.info("hangup of %s (call %s): %s", channel, call_id, error)

    # -- queue members ---------------------------------------------------------------
    async def _member_action(self, name: str, headers: dict) -> dict:
        try:
            return await self.ami.action(name, headers, timeout=self.member_timeout)
        except (AmiNotConnected, AmiTimeout) as error:
            raise PbxUnavailable(f"the phone system did not answer ({error.message})") from None

    async def add_member(self, queue: str, interface: str, member_name: str, penalty: int,
                         state_interface: str | None = None, paused_reason: str | None = None) -> None:
        """Add a member; with ``paused_reason`` it joins paused (an agent on a break)."""
        headers = {"Queue": check_queue_name(queue), "Interface": plain(interface, "member interface"),
                   "MemberName": plain(member_name, "member name"), "Penalty": str(int(penalty)),
                   "Paused": "true" if paused_reason else "false"}
        if paused_reason:
            headers["Reason"] = plain(paused_reason, "pause reason")
        if state_interface:
            headers["StateInterface"] = plain(state_interface, "member interface")
        try:
            await self._member_action("QueueAdd", headers)
        except AmiError as error:
            message = _message(error)
            if "already there" in message:
                return
            if "no such queue" in message:
                raise QueueNotLoaded(f"queue {queue} is not loaded in the phone system yet; try again") from None
            raise PbxUnavailable(f"the phone system refused to add {member_name} to {queue}: "
                                 f"{error.message}") from None

    async def remove_member(self, queue: str, interface: str) -> None:
        try:
            await self._member_action("QueueRemove", {"Queue": check_queue_name(queue),
                                                      "Interface": plain(interface, "member interface")})
        except AmiError as error:
            if "not there" in _message(error) or "no such queue" in _message(error):
                return
            raise PbxUnavailable(f"the phone system refused to remove a member of {queue}: {error.message}") \
                from None

    async def pause_member(self, interface: str, paused: bool, reason: str = "") -> None:
        """Pause (with a reason) or unpause the member in every queue it is in."""
        headers = {"Interface": plain(interface, "member interface"), "Paused": "true" if paused else "false"}
        if paused and reason:
            headers["Reason"] = plain(reason, "pause reason")
        try:
            await self._member_action("QueuePause", headers)
        except AmiError as error:
            if "interface not found" in _message(error):
                return  # in no queue (any more): nothing to pause
            raise PbxUnavailable(f"the phone system refused to pause: {error.message}") from None

    async def queue_status(self) -> list[dict]:
        """QueueStatus's list events (QueueParams, QueueMember, QueueEntry)."""
        try:
            return await self.ami.action_list("QueueStatus", timeout=self.member_timeout)
        except (AmiNotConnected, AmiTimeout) as error:
            raise PbxUnavailable(f"the phone system did not answer ({error.message})") from None
