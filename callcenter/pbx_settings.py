"""``[pbx]``: this server's Asterisk, and the system's other ones (its
peers, issue 13: two PBX nodes; callcenter/pbx/nodes.py)."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class PbxSettings:
    managed: bool = True
    root: str = "/var/cache/callcenter/pbx-root-sid-v1"
    instance: str = "default"
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    rtp_start: int = 10000
    rtp_end: int = 10999
    sip_realm: str = "callcenter"
    # Asterisk's HTTP server, on 127.0.0.1 only: it carries the web phones'
    # SIP WebSocket (/ws), reached by browsers through the server's /sip.
    http_port: int = 8088
    run_as: str = "asterisk"
    sync_config: bool = True
    # This Asterisk's name among the system's: its call work has one owner (lease pbx:<node>).
    node: str = "main"
    # The system's other Asterisks, "name=host:port" (their AMI; same users and
    # secrets as [ami]). Empty: this is the only node and every trunk and phone is on it.
    peers: list = field(default_factory=list)
    # Seconds between SIP OPTIONS to each carrier (its reachability on the board); 0: not monitored.
    trunk_qualify_seconds: int = 0

    @property
    def instance_dir(self) -> str:
        """Folder of this instance as Asterisk sees it (inside the root)."""
        return f"/srv/callcenter/{self.instance}"

    def host_path(self, inner: str) -> Path:
        """Where a path Asterisk sees inside its root lies on this host."""
        return Path(self.root) / inner.lstrip("/")

    @property
    def recordings_dir(self) -> Path:
        return self.host_path(self.instance_dir + "/recordings")


NODE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def peer_addresses(pbx: PbxSettings) -> dict[str, tuple[str, int]]:
    """``[pbx] peers`` as {node: (AMI host, port)}; ValueError names a bad entry."""
    if not NODE_NAME.fullmatch(pbx.node):
        raise ValueError(f"node {pbx.node!r}: 1-40 of a-z 0-9 _ -")
    peers: dict[str, tuple[str, int]] = {}
    for entry in pbx.peers:
        name, _, address = entry.partition("=")
        host, _, port = address.rpartition(":")
        try:
            ipaddress.IPv4Address(host)
            number = int(port)
        except ValueError:
            number = 0
        if not NODE_NAME.fullmatch(name) or not 1 <= number <= 65535 or name == pbx.node or name in peers:
            raise ValueError(f"peers entry {entry!r}: write name=IPv4:port, a name other than this node's")
        peers[name] = (host, number)
    return peers
