"""Agents in Asterisk's queues through AMI (the call-work user's "agent"
rights): ``QueueAdd``, ``QueueRemove``, ``QueuePause`` and ``QueueStatus``.
Interfaces come from :mod:`callcenter.queues.conf` (checked parts only); the
AMI link refuses CR/LF in any value. Repeating an add or a remove is
harmless (Asterisk's "already there"/"not there" are taken as done)."""
from __future__ import annotations

import logging

from callcenter.ami import AmiError
from callcenter.ami.errors import AmiNotConnected, AmiTimeout
from callcenter.queues.conf import check_queue_name
from callcenter.queues.exceptions import PbxUnavailable, QueueNotLoaded

log = logging.getLogger(__name__)


def _message(error: AmiError) -> str:
    return (error.response.get("Message") or error.message or "").lower()


class QueueMembers:
    def __init__(self, ami, timeout: float = 5.0) -> None:
        self.ami = ami
        self.timeout = timeout

    async def _action(self, name: str, headers: dict) -> dict:
        try:
            return await self.ami.action(name, headers, timeout=self.timeout)
        except (AmiNotConnected, AmiTimeout) as error:
            raise PbxUnavailable(f"the phone system did not answer ({error.message})") from None

    async def add(self, queue: str, interface: str, member_name: str, penalty: int,
                  state_interface: str | None = None, paused_reason: str | None = None) -> None:
        """Add a member; with ``paused_reason`` it joins paused (an agent on a break)."""
        headers = {"Queue": check_queue_name(queue), "Interface": interface, "MemberName": member_name,
                   "Penalty": str(int(penalty)), "Paused": "true" if paused_reason else "false"}
        if paused_reason:
            headers["Reason"] = paused_reason
        if state_interface:
            headers["StateInterface"] = state_interface
        try:
            await self._action("QueueAdd", headers)
        except AmiError as error:
            message = _message(error)
            if "already there" in message:
                return
            if "no such queue" in message:
                raise QueueNotLoaded(f"queue {queue} is not loaded in the phone system yet; try again") from None
            raise PbxUnavailable(f"the phone system refused to add {member_name} to {queue}: "
                                 f"{error.message}") from None

    async def remove(self, queue: str, interface: str) -> None:
        try:
            await self._action("QueueRemove", {"Queue": check_queue_name(queue), "Interface": interface})
        except AmiError as error:
            if "not there" in _message(error) or "no such queue" in _message(error):
                return
            raise PbxUnavailable(f"the phone system refused to remove a member of {queue}: {error.message}") \
                from None

    async def pause(self, interface: str, paused: bool, reason: str = "") -> None:
        """Pause (with a reason) or unpause the member in every queue it is in."""
        headers = {"Interface": interface, "Paused": "true" if paused else "false"}
        if paused and reason:
            headers["Reason"] = reason
        try:
            await self._action("QueuePause", headers)
        except AmiError as error:
            if "interface not found" in _message(error):
                return  # in no queue (any more): nothing to pause
            raise PbxUnavailable(f"the phone system refused to pause: {error.message}") from None

    async def status(self) -> list[dict]:
        """QueueStatus's list events (QueueParams, QueueMember, QueueEntry)."""
        try:
            return await self.ami.action_list("QueueStatus", timeout=self.timeout)
        except (AmiNotConnected, AmiTimeout) as error:
            raise PbxUnavailable(f"the phone system did not answer ({error.message})") from None
