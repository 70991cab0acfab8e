"""How an agent's phone is rung for a click-to-call, per phone mode:
``desktop`` (their SIP phone, one trunk channel), ``mobile`` (their mobile
through the trunk, two channels) and ``browser`` (the web phone in the panel,
one channel). The feature that owns a phone adds what the dialer cannot know
by itself (callcenter/webphone: is the page's phone registered now, and the
SIP header that tells the page to answer by itself)."""
from __future__ import annotations

import re
from collections.abc import Callable

from callcenter.calls import numbers
from dialer import exceptions as exc

_ENDPOINT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SIP_MODES = ("desktop", "browser")


class AgentPhones:
    def __init__(self) -> None:
        # mode -> check(agent) that raises a DomainError when the phone cannot
        # ring now (the web phone: 409 agent_phone_offline); a mode that needs
        # one (browser) and has none is refused.
        self.checks: dict[str, Callable] = {}
        # mode -> variables(placed) for the agent's leg's Originate
        self.variables: dict[str, Callable[..., dict[str, str]]] = {}

    def channel(self, agent, mode: str, trunk) -> str:
        """The agent's leg's channel, once the mode's check passed."""
        if mode in SIP_MODES:
            if (not agent.sip_endpoint or not _ENDPOINT.match(agent.sip_endpoint)
                    or (agent.phone_mode == "browser") != (mode == "browser")):
                what = "desktop phone" if mode == "desktop" else "web phone"
                raise exc.AgentHasNoPhone(f"agent {agent.name} has no {what}")
            channel = f"PJSIP/{agent.sip_endpoint}"
        elif mode == "mobile":
            if not agent.mobile:
                raise exc.AgentHasNoPhone(f"agent {agent.name} has no mobile number")
            channel = f"PJSIP/{numbers.dial_digits(agent.mobile)}@{trunk.name}"
        else:
            raise exc.InvalidRequest("'mode' must be 'desktop', 'mobile' or 'browser'")
        check = self.checks.get(mode)
        if check is not None:
            check(agent)
        elif mode == "browser":
            raise exc.AgentHasNoPhone("the web phone is not enabled on this server")
        return channel

    def ring_variables(self, placed) -> dict[str, str]:
        extra = self.variables.get(placed.mode)
        return extra(placed) if extra is not None else {}
