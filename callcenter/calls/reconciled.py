"""The call tracker's side that Asterisk's own word corrects
(:class:`callcenter.calls.tracker.CallTracker` inherits it): a node's
``CoreShowChannels`` replayed, a PBX lost, calls that never got a channel.
Pure like the tracker: no I/O, time from its clock."""
from __future__ import annotations

from callcenter.calls.outcome import RECONCILED
from callcenter.calls.tracked import call_id_of, endpoint_of


class Reconciled:
    # -- reconciliation with CoreShowChannels --------------------------------
    def snapshot(self, channels: list[dict[str, str]], requested_at: float, node: str | None = None) -> None:
        """Asterisk's list of channels, asked for at ``requested_at``: legs we
        knew of before then and that are no longer listed have hung up unseen.
        ``node``: the list is that node's; other nodes' calls and trunks stay as they are."""
        listed: set[str] = set()
        trunks = self._trunks_on(node)
        foreign: dict[str, set[str]] = {trunk: set() for trunk in trunks}
        monitor_legs: dict[str, set[str]] = {trunk: set() for trunk in trunks}
        for entry in channels:
            listed.add(entry.get("Uniqueid", ""))
            if call_id_of(entry.get("Linkedid", "")):
                # one of our calls (ChannelState 6 marks the leg answered); a
                # forgotten call's channel still hanging up is not foreign
                self._source = node if node != self.home else None
                try:
                    self._track(entry)
                finally:
                    self._source = None
            else:
                trunk, uniqueid = endpoint_of(entry.get("Channel", "")), entry.get("Uniqueid", "")
                if trunk in foreign:
                    (monitor_legs if uniqueid.startswith("cm-") else foreign)[trunk].add(uniqueid)
        for call in list(self.calls.values()):
            if call.state == "ended" or not self._on_node(call, node):
                continue
            for leg in (call.agent, call.customer):
                if (leg.uniqueid and leg.hungup_at is None and leg.seen_at is not None
                        and leg.seen_at <= requested_at and leg.uniqueid not in listed):
                    leg.cause_txt = leg.cause_txt or RECONCILED
                    if call.state != "ended":
                        self._leg_gone(call, leg)
        self._monitor_legs = {**{t: ids for t, ids in self._monitor_legs.items() if t not in trunks},
                              **monitor_legs}
        for trunk, ids in foreign.items():
            if ids != self._foreign.get(trunk, set()):
                self._foreign[trunk] = ids
                self.reporter.foreign_channels(trunk, len(ids))

    def pbx_lost(self, reason: str, node: str | None = None) -> int:
        """The PBX process died: every call it carried is over (calls still
        queued for a channel never reached it and go on). Returns how many ended.
        ``node``: that node's Asterisk; the other nodes' calls go on."""
        ended = 0
        for call in self.active_calls():
            if call.state == "queued" or not self._on_node(call, node):
                continue
            call.cut_reason = reason
            for leg in (call.agent, call.customer):
                if leg.uniqueid and leg.hungup_at is None:
                    leg.cause_txt = leg.cause_txt or RECONCILED
            self._end(call)
            ended += 1
        trunks = self._trunks_on(node)
        self._monitor_legs = {t: ids for t, ids in self._monitor_legs.items() if t not in trunks}
        for trunk, ids in self._foreign.items():
            if ids and trunk in trunks:
                self._foreign[trunk] = set()
                self.reporter.foreign_channels(trunk, 0)
        return ended

    def sweep(self, now: float, max_setup_seconds: float) -> None:
        """End calls whose agent leg never appeared within ``max_setup_seconds``."""
        for call in self.active_calls():
            if call.agent.uniqueid is None and call.started_at is not None \
                    and now - call.started_at > max_setup_seconds:
                call.originate_reason = call.originate_reason or "originate_timeout"
                self._end(call)
