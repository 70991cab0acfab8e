"""The system's Asterisks (issue 13: two PBX nodes).

Each trunk and each agent's phone is homed on one node (``pbx_node`` of
their rows; the CLI's ``--node`` and the admin pages). Every server links to
every node by AMI (its own ``[ami]`` and ``[pbx] peers``), so a request may
land on any server: a call goes out through the node that hosts its trunk,
and is hung up, watched and reconciled through that node's link. Each node's
call work has one owner at a time, by the lease ``pbx:<node>``
(callcenter/ownership/duties.py), whichever server holds it.

**One node per trunk, with the agents homed with it** (not an IAX2/PJSIP link
between the nodes): a click-to-call rings the agent's phone and the customer
from the same Asterisk, so its audio and its recording never cross between
machines, a node that goes down takes only its own agents' and trunks' calls
with it, and each node's channel count is its own trunks' (the per-trunk
accounting in Redis is exact with no cross-node bookkeeping). The price: an
agent calls out through the trunks of their own node (the default trunk is
the first one there; naming a trunk on another node is refused,
``trunk_on_other_node``), as VICIdial's agents call through their server's
carriers. An agent ringing on a mobile is rung through the trunk itself, so
any trunk serves them.

A server renders, reloads and (when ``[pbx] managed``) runs only its own
node's Asterisk, with the trunks and phones homed on it. The inbound IVR,
queues, web phones and supervisors' monitoring work on each server's own
node. With no peers there is one node: every row is on it whatever its
``pbx_node`` says.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from callcenter.ami import AmiLink
from callcenter.calls.control import CallControl
from callcenter.config import Settings, peer_addresses

log = logging.getLogger(__name__)


@dataclass
class PbxNode:
    """One Asterisk as this server reaches it."""
    name: str
    ami: AmiLink
    control: CallControl
    home: bool
    reconciled_at: float | None = None

    @property
    def up(self) -> bool:
        return self.ami.connected


class PbxNodes:
    """The nodes by name; the home node (``[pbx] node``) first."""

    def __init__(self, settings: Settings) -> None:
        self.home = settings.pbx.node
        self.peers = peer_addresses(settings.pbx)
        self.by_name: dict[str, PbxNode] = {}

    @property
    def many(self) -> bool:
        return bool(self.peers)

    def add(self, node: PbxNode) -> None:
        self.by_name[node.name] = node

    def name_of(self, homed: str | None) -> str:
        """The node a row homed on ``homed`` is on (with one node: it)."""
        return homed if self.many and homed else self.home

    def homed_here(self, homed: str | None) -> bool:
        """Whether a trunk or phone homed on ``homed`` belongs in this server's own Asterisk."""
        return self.name_of(homed) == self.home

    def get(self, name: str | None) -> PbxNode | None:
        return self.by_name.get(self.name_of(name))

    def __iter__(self):
        return iter(self.by_name.values())

    def status(self) -> dict[str, dict]:
        return {node.name: {"connected": node.up, "home": node.home} for node in self}


def peer_link(settings: Settings, name: str, on_event, on_connected) -> AmiLink:
    """An AMI link to the peer node ``name`` (the call-work user of [ami])."""
    host, port = peer_addresses(settings.pbx)[name]
    return AmiLink(dataclasses.replace(settings.ami, host=host, port=port),
                   on_event=on_event, on_connected=on_connected)


def node_state(nodes, tracker, trunk: str) -> dict:
    """The PBX node hosting the trunk and whether this server reaches it: a
    trunk whose node is down carries no call, whatever Redis still counts."""
    if nodes is None:
        return {}
    name = tracker.trunk_nodes.get(trunk, tracker.home)
    node = nodes.get(name)
    return {"pbx_node": name, "pbx_up": node is not None and node.up}
