"""Which agent and trunk a click-to-call uses: the agent by name (an agent
only for themselves), the trunk by name or the first one; with several PBX
nodes, one homed on the node the agent's phone lives on
(callcenter/pbx/nodes.py)."""
from __future__ import annotations

from callcenter.auth.tokens import Principal
from dialer import exceptions as exc


async def agent_and_trunk(directory, nodes, principal: Principal, agent_name: str, trunk_name: str | None,
                          mode: str | None):
    """(agent, trunk, phone mode). With several PBX nodes a phone rings from
    its own node, so the trunk is one homed there (callcenter/pbx/nodes.py)."""
    if not isinstance(agent_name, str) or not agent_name:
        raise exc.InvalidRequest("'agent' must be an agent's name")
    agent = await directory.agent(agent_name)
    if agent is None:
        raise exc.AgentNotFound(f"no active agent named {agent_name!r}")
    if principal.role == "agent" and principal.user_id != agent.id:
        raise exc.Forbidden("an agent may place calls only from their own phone")
    mode = mode or agent.phone_mode
    nodes = nodes if nodes is not None and nodes.many and mode != "mobile" else None
    home = nodes.name_of(agent.pbx_node) if nodes is not None else None
    trunk = await directory.trunk(trunk_name, node=home if trunk_name is None else None)
    if trunk is None:
        raise exc.NoTrunk(("no trunk is configured" + (f" on node {home}" if home else ""))
                          if trunk_name is None else f"no trunk named {trunk_name!r}")
    if nodes is not None and nodes.name_of(trunk.pbx_node) != home:
        raise exc.TrunkOnOtherNode(f"{agent.name}'s phone is on PBX node {home}, trunk {trunk.name} on "
                                   f"node {nodes.name_of(trunk.pbx_node)}: pick a trunk of node {home}")
    return agent, trunk, mode
