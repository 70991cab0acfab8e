"""Asterisk is the truth: the server's view of calls and channels replayed
from ``CoreShowChannels`` (on connect, every ``[ami] reconcile_interval``, on
taking the PBX's call work over), and what that reveals freed or hung up.

A mixin of :class:`callcenter.services.Services` (it uses the services' tracker,
AMI link, dialer, accounting and loops), kept apart to keep each file readable."""
from __future__ import annotations

import logging
import time

from callcenter.ami import AmiError
from callcenter.ownership.duties import PBX
from callcenter.trunks import rebuild as accounting_rebuild
from dialer import unseen_ends
from dialer.service import AGENT_CLAIM_SECONDS

log = logging.getLogger(__name__)
ABANDONED_KEPT_SECONDS = 600


class Reconciliation:
    def _pbx_lost(self) -> None:
        ended = self.tracker.pbx_lost("pbx_restarted")
        if ended:
            log.error("Asterisk died with %d calls up: they are ended (pbx_restarted)", ended)

    async def reconcile(self) -> None:
        """Asterisk is the truth: replay CoreShowChannels into the tracker and
        drop reservations that no live call holds."""
        requested_at = time.time()
        channels = await self.ami.action_list("CoreShowChannels")
        self.tracker.snapshot(channels, requested_at)
        await self._hang_up_abandoned(channels)
        calls = self.settings.calls
        setup = calls.originate_timeout + calls.agent_ring_timeout + calls.customer_ring_timeout + 15
        self.tracker.sweep(time.time(), setup)
        if self.loops.holds(PBX):  # the owner frees what leaked; every process keeps its own view
            await self._free_leaked(setup, frozenset(await self._finish_unseen(channels, requested_at, setup)))
        self.reconciled_at = time.time()

    async def _free_leaked(self, setup: float, ended: frozenset[str] = frozenset()) -> None:
        live = {c.call_id for c in self.tracker.active_calls()} | set(self.dialer.placed)
        if await accounting_rebuild.free_leaked(self.accounting, live, self.trunk_limits, self.sessions,
                                                AGENT_CLAIM_SECONDS, setup, ended):
            self.dialer.channel_freed.set()

    async def _finish_unseen(self, channels, listed_at: float, setup: float) -> list[str]:
        """Rows left open that nobody follows and Asterisk has no channel for:
        ended (dialer/unseen_ends.py), their channels and agents freed at once."""
        owner = self.effects.owner
        fence = owner.fence() if owner is not None else None
        if owner is not None and fence is None:
            return []
        followed = set(self.tracker.calls) | set(self.dialer.placed)
        return await unseen_ends.finish(self.engine, channels, listed_at, followed, setup * 2, fence)

    async def _took_pbx(self) -> None:
        """This process now owns the PBX's call work: the calls it tracked are
        written from now on, and Asterisk is asked at once what is up."""
        self.effects.take_over()
        try:
            await self.ownership.stamp(self.engine)  # the previous owner's writes refused from now on
        except Exception as error:  # noqa: BLE001 - the database away: the first write stamps it
            self.loops.failed("lease:pbx", error)
        if self.ami.connected:
            try:
                await self.reconcile()
            except AmiError as error:  # Asterisk restarting: its reconnect reconciles
                log.warning("reconciliation on taking the PBX over failed: %s", error)

    async def _hang_up_abandoned(self, channels) -> None:
        abandoned = self.dialer.abandoned
        await self.control.hang_up_abandoned(channels, abandoned)
        for call_id, at in list(abandoned.items()):
            if time.time() - at > ABANDONED_KEPT_SECONDS:
                del abandoned[call_id]

    async def _reconcile_tick(self) -> None:
        if self.ami.connected:
            await self.reconcile()

    async def _on_ami_connected(self) -> None:
        log.info("AMI connected; reconciling with Asterisk")
        if self.ami.reconnects:
            self.metrics.ami_reconnects.inc()
        try:
            await self.reconcile()
        except AmiError as error:
            log.warning("reconciliation after connect failed: %s", error)
        await self.pbx_events.connected()  # the features' own reconciliation (queues...)
