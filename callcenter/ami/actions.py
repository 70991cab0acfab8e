"""Sending AMI actions and matching their replies: the half of
:class:`~callcenter.ami.link.AmiLink` that owns the pending-action table.

Every action is validated by :func:`~callcenter.ami.protocol.build_action`
before anything is written, waits for its reply under a timeout
(:class:`AmiTimeout`; the entry is dropped so a late reply is ignored, unless
the reply may still sit in the link's own unprocessed backlog), fails with
:class:`AmiNotConnected` while the link is down and is never re-sent after a
reconnect (the link fails the pending actions of a lost connection through
``_finish``). Replies and list events are routed here by the link's
``_dispatch``."""
from __future__ import annotations

import logging
from typing import Any

from panoramisk.actions import Action

from .errors import AmiError, AmiNotConnected, AmiTimeout
from .protocol import _Pending, _Protocol, build_action

# the link's logger, so records keep the name they had before the split
log = logging.getLogger("callcenter.ami.link")

_OK = frozenset(("Success", "Follows", "Goodbye"))


class AmiActions:
    """Mixed into AmiLink: needs ``settings``, ``_protocol``, ``_logged_in``,
    ``_pending`` and the action counters set by its ``__init__``."""

    async def action(self, name: str, headers: dict[str, str] | None = None, *,
                     variables: dict[str, str] | None = None,
                     timeout: float | None = None) -> dict[str, str]:
        """Send one action, return its reply; ``AmiError`` on ``Response:
        Error``, ``AmiTimeout``, ``AmiNotConnected``; ``ValueError`` on an
        unsafe header (nothing is sent)."""
        action = build_action(name, headers, variables)
        proto = self._require()
        return await self._send(proto, action, False, self._timeout(timeout))

    async def action_list(self, name: str, headers: dict[str, str] | None = None, *,
                          timeout: float | None = None) -> list[dict[str, str]]:
        """Send a list action (``CoreShowChannels``...) and return its list
        events, without the initial response and the ``...Complete`` event."""
        action = build_action(name, headers)
        proto = self._require()
        return await self._send(proto, action, True, self._timeout(timeout))

    async def originate(self, headers: dict[str, str], variables: dict[str, str], *,
                        timeout: float) -> dict[str, str]:
        """``Originate``; fails at once with ``AmiNotConnected`` when the link
        is down and is never re-sent after a reconnect."""
        return await self.action("Originate", headers, variables=variables, timeout=timeout)

    def _timeout(self, timeout: float | None) -> float:
        return self.settings.action_timeout if timeout is None else timeout

    def _require(self) -> _Protocol:
        proto = self._protocol
        if proto is None or proto.lost or not self._logged_in:
            raise AmiNotConnected("AMI is not connected")
        return proto

    async def _send(self, proto: _Protocol, action: Action, multi: bool, timeout: float) -> Any:
        if proto.lost:
            raise AmiNotConnected("AMI is not connected")
        loop = proto._loop
        fut = loop.create_future()
        name = action["Action"]
        action_id = action.id
        p = _Pending(action_id, fut, name, multi, proto, timeout)
        self._pending[action_id] = p
        p.deadline = loop.time() + 3 * timeout  # upper bound while our own backlog delays the reply
        p.timer = loop.call_later(timeout, self._expire, action_id)
        fut.add_done_callback(lambda _f: self._forget(action_id, p))
        proto.send(action)
        self.actions_sent += 1
        self.actions_by_name[name] = self.actions_by_name.get(name, 0) + 1
        if name != "Login":
            log.debug("AMI -> %s %s", name, action_id)
        return await fut

    def _forget(self, action_id: str, p: _Pending) -> None:
        if self._pending.get(action_id) is p:
            del self._pending[action_id]
        if p.timer is not None:
            p.timer.cancel()

    def _finish(self, p: _Pending, result: Any = None, exc: BaseException | None = None) -> None:
        if self._pending.get(p.action_id) is p:
            del self._pending[p.action_id]
        if p.timer is not None:
            p.timer.cancel()
            p.timer = None
        if not p.future.done():
            if exc is not None:
                p.future.set_exception(exc)
            else:
                p.future.set_result(result)

    def _expire(self, action_id: str) -> None:
        p = self._pending.get(action_id)
        if p is None:
            return
        loop = p.proto._loop
        if p.proto.backlog and not p.proto.lost and loop.time() < p.deadline:
            # the reply may be sitting in our own unprocessed backlog
            p.timer = loop.call_later(0.05, self._expire, action_id)
            return
        del self._pending[action_id]
        p.timer = None
        self.action_timeouts += 1
        if not p.future.done():
            p.future.set_exception(AmiTimeout(f"no reply to {p.name} within {p.timeout}s"))

    def _reply(self, p: _Pending, m: dict[str, str]) -> None:
        response = m["Response"]
        if response not in _OK:
            self._finish(p, exc=AmiError(m.get("Message") or response, m))
        elif not p.multi:
            self._finish(p, m)
        elif m.get("EventList", "").lower() == "start" or "will follow" in m.get("Message", "").lower():
            return  # list events follow
        else:
            self._finish(p, [])

    def _list_item(self, p: _Pending, m: dict[str, str]) -> None:
        if m.get("EventList", "").lower() == "complete" or m["Event"].endswith("Complete"):
            self._finish(p, p.items)
        else:
            p.items.append(m)
