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
        """The managed Asterisk (this server's own node) died."""
        ended = self.tracker.pbx_lost("pbx_restarted", self.settings.pbx.node if self.nodes.many else None)
        if ended:
            log.error("Asterisk died with %d calls up: they are ended (pbx_restarted)", ended)

    def _node(self, name: str | None):
        return self.nodes.get(name) if name is not None else self.nodes.get(self.settings.pbx.node)

    def _owns(self, node) -> bool:
        """This process does the call work of ``node`` (its lease; True when no lease is kept)."""
        return self.loops.holds(PBX if node.home else f"{PBX}:{node.name}")

    async def reconcile(self, node_name: str | None = None) -> None:
        """Asterisk is the truth: replay a node's CoreShowChannels (None: the
        home node's) into the tracker and drop reservations that no live call holds."""
        node = self._node(node_name)
        scope = node.name if self.nodes.many else None  # the list speaks for this node's calls only
        requested_at = time.time()
        channels = await node.ami.action_list("CoreShowChannels")
        self.tracker.snapshot(channels, requested_at, scope)
        await self._hang_up_abandoned(channels, node.control)
        calls = self.settings.calls
        setup = calls.originate_timeout + calls.agent_ring_timeout + calls.customer_ring_timeout + 15
        self.tracker.sweep(time.time(), setup)
        if self._owns(node):  # the owner frees what leaked; every process keeps its own view
            ended = frozenset(await self._finish_unseen(channels, requested_at, setup, scope))
            await self._free_leaked(setup, ended, scope)
        node.reconciled_at = time.time()
        if node.home:
            self.reconciled_at = node.reconciled_at

    async def _free_leaked(self, setup: float, ended: frozenset[str] = frozenset(), node: str | None = None) -> None:
        live = {c.call_id for c in self.tracker.active_calls()} | set(self.dialer.placed)
        trunks = {name: limits for name, limits in self.trunk_limits.items()
                  if node is None or self.tracker.trunk_nodes.get(name, self.tracker.home) == node}
        if await accounting_rebuild.free_leaked(self.accounting, live, trunks, self.sessions,
                                                AGENT_CLAIM_SECONDS, setup, ended):
            self.dialer.channel_freed.set()

    async def _finish_unseen(self, channels, listed_at: float, setup: float, node: str | None = None) -> list[str]:
        """Rows left open that nobody follows and Asterisk has no channel for:
        ended (dialer/unseen_ends.py), their channels and agents freed at once."""
        owner = self.effects.owner
        fence = owner.fence(node) if owner is not None else None
        if owner is not None and fence is None:
            return []
        followed = set(self.tracker.calls) | set(self.dialer.placed)
        return await unseen_ends.finish(self.engine, channels, listed_at, followed, setup * 2, fence, node)

    async def _took_pbx(self, node_name: str | None = None) -> None:
        """This process now owns a node's call work (None: the home node's): the
        calls it tracked there are written from now on, and Asterisk is asked at once what is up."""
        node = self._node(node_name)
        self.effects.take_over(node.name)
        try:  # the previous owner's writes refused from now on
            await self.ownership.stamp(self.engine, node.name)
        except Exception as error:  # noqa: BLE001 - the database away: the first write stamps it
            self.loops.failed(f"lease:{PBX}:{node.name}", error)
        if node.up:
            try:
                await self.reconcile(node.name)
            except AmiError as error:  # Asterisk restarting: its reconnect reconciles
                log.warning("reconciliation on taking PBX %s over failed: %s", node.name, error)

    async def _hang_up_abandoned(self, channels, control) -> None:
        abandoned = self.dialer.abandoned
        await control.hang_up_abandoned(channels, abandoned)
        for call_id, at in list(abandoned.items()):
            if time.time() - at > ABANDONED_KEPT_SECONDS:
                del abandoned[call_id]

    async def _reconcile_tick(self) -> None:
        failure = None
        for node in list(self.nodes):
            if not node.up:
                continue
            try:
                await self.reconcile(node.name)
            except Exception as error:  # noqa: BLE001 - one node's trouble never keeps the others waiting
                failure = failure or error
        if failure is not None:
            raise failure

    async def _on_ami_connected(self) -> None:
        log.info("AMI connected; reconciling with Asterisk")
        if self.ami.reconnects:
            self.metrics.ami_reconnects.inc()
        try:
            await self.reconcile()
        except AmiError as error:
            log.warning("reconciliation after connect failed: %s", error)
        await self.pbx_events.connected()  # the features' own reconciliation (queues...)

    async def _on_peer_connected(self, name: str) -> None:
        log.info("AMI of PBX node %s connected; reconciling with it", name)
        try:
            await self.reconcile(name)
        except AmiError as error:
            log.warning("reconciliation with PBX node %s after connect failed: %s", name, error)

    def _peer_event(self, name: str, event: dict) -> None:
        """An event of another node's link: the tracker and the call fence hear it
        (the features' listeners hear their own node's link only)."""
        self.tracker.on_node_event(name, event)
        self.fence.on_event(event)
        self.pbx_events.peer_event(event)
