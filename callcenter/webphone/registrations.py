"""Which web phones Asterisk has a contact for, from AMI: ``ContactStatus``
events as they happen (Created, Removed, Reachable...) and a
``PJSIPShowContacts`` snapshot after each (re)connect. Plain state, no I/O:
the service feeds it."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from callcenter.users.service import BROWSER_ENDPOINT_PREFIX

GONE = ("Removed", "Unreachable", "Unavailable")


def is_web_phone(aor: str) -> bool:
    return aor.startswith(BROWSER_ENDPOINT_PREFIX)


class Registrations:
    """endpoint -> since when (epoch seconds) it has a live contact."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.online: dict[str, float] = {}
        self.listeners: list[Callable[[str, bool], None]] = []  # (endpoint, online) on each change

    def is_online(self, endpoint: str | None) -> bool:
        return endpoint is not None and endpoint in self.online

    def _set(self, endpoint: str, online: bool) -> None:
        was = endpoint in self.online
        if online and not was:
            self.online[endpoint] = self.clock()
        elif not online and was:
            del self.online[endpoint]
        else:
            return
        for listener in self.listeners:
            listener(endpoint, online)

    def on_event(self, event: dict) -> None:
        if event.get("Event") != "ContactStatus":
            return
        aor = event.get("AOR", "")
        if not is_web_phone(aor):
            return
        self._set(aor, event.get("ContactStatus", "") not in GONE)

    def replace(self, contacts: Iterable[dict]) -> None:
        """A ``PJSIPShowContacts`` answer: the whole truth after a reconnect."""
        now_online = set()
        for entry in contacts:
            aor = entry.get("Aor") or entry.get("AOR") or ""
            if is_web_phone(aor) and entry.get("Status", "") not in GONE:
                now_online.add(aor)
        for endpoint in list(self.online):
            if endpoint not in now_online:
                self._set(endpoint, False)
        for endpoint in now_online:
            self._set(endpoint, True)

    def forget(self, endpoint: str) -> None:
        """The endpoint's credentials were revoked: it is offline whatever Asterisk last said."""
        self._set(endpoint, False)
