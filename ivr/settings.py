"""The ``[ivr]`` section of the config file: the FastAGI server of the inbound IVR."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass
class IvrSettings:
    # The FastAGI server of the inbound IVR (ivr/), part of `serve`.
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 4573
    # Where Asterisk's dialplan sends IVR calls: 0 is ``port`` itself. A
    # cluster (``callcenter cluster``) points it at the one listener that
    # spreads the sessions over every server's own ``port``.
    dialplan_port: int = 0
    # Addresses Asterisk connects from; any other peer is closed at once.
    allowed_peers: list = field(default_factory=lambda: ["127.0.0.1"])
    header_timeout: float = 5.0
    command_timeout: float = 30.0
    max_sessions: int = 500
    flows_dir: str = ""      # empty: the flows shipped in ivr/flows
    prompts_dir: str = "/var/cache/callcenter/prompts"


def check(ivr: IvrSettings, _settings=None) -> None:
    """Raises ValueError on a value the IVR server cannot run with."""
    try:
        for address in [ivr.host, *ivr.allowed_peers]:
            ipaddress.ip_address(address)
    except ValueError as exc:
        raise ValueError(f"[ivr] host and allowed_peers must be IP addresses: {exc}") from None
    if not 1 <= ivr.port <= 65535 or not 0 <= ivr.dialplan_port <= 65535:
        raise ValueError("[ivr] port must be 1-65535 (dialplan_port 0-65535)")
    if min(ivr.header_timeout, ivr.command_timeout) <= 0 or ivr.max_sessions < 1:
        raise ValueError("[ivr] header_timeout, command_timeout and max_sessions must be positive")
