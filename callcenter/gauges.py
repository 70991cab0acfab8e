"""The core's live gauges for /metrics (callcenter/services.py registers them)."""
from __future__ import annotations

from monitoring.metrics import gauge


def core_gauges(services) -> list:
    """The core's gauges, read at each scrape: trunk channels, the AMI link, waiting click-to-calls, managed processes."""
    in_use = services.channels_in_use() if services.tracker else {}
    g_use = gauge("callcenter_trunk_channels_in_use", "Channels in use on each trunk", ["trunk"])
    g_max = gauge("callcenter_trunk_channels_max", "Channels each trunk has", ["trunk"])
    for name, (channels, _headroom) in services.trunk_limits.items():
        g_use.add_metric([name], in_use.get(name, 0))
        g_max.add_metric([name], channels)
    g_ami = gauge("callcenter_ami_connected", "1 while the AMI link is logged in")
    g_ami.add_metric([], 1 if services.ami and services.ami.connected else 0)
    g_nodes = gauge("callcenter_pbx_node_connected", "1 while this server's AMI link to the PBX node is up", ["node"])
    for node in services.nodes or ():
        g_nodes.add_metric([node.name], 1 if node.up else 0)
    g_events = gauge("callcenter_ami_events_received", "AMI events received since start")
    g_events.add_metric([], services.ami.events_received if services.ami else 0)
    g_waiting = gauge("callcenter_calls_queued", "Click-to-calls waiting for a free channel")
    g_waiting.add_metric([], len(services.dialer._waiters) if services.dialer else 0)
    g_up = gauge("callcenter_process_up", "1 while a managed process (asterisk, redis) runs", ["process"])
    for name, state in services.supervisor.health().items():
        g_up.add_metric([name], 1 if state["up"] else 0)
    return [g_use, g_max, g_ami, g_nodes, g_events, g_waiting, g_up]
