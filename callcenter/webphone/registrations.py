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
    """endpoint -> its live contacts (URIs) and since when it has had one.

    Contacts are tracked by URI, not by AOR: when a second tab takes the
    phone over, Asterisk adds the new contact before it removes the old one
    (NonQualified new, Removed old, Reachable new), and the phone must not
    look offline in between."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.contacts: dict[str, set[str]] = {}
        self.online: dict[str, float] = {}
        self.listeners: list[Callable[[str, bool], None]] = []  # (endpoint, online) on each change

    def is_online(self, endpoint: str | None) -> bool:
        return endpoint is not None and endpoint in self.online

    def _settle(self, endpoint: str) -> None:
        now_online = bool(self.contacts.get(endpoint))
        if not self.contacts.get(endpoint, True):
            del self.contacts[endpoint]
        was = endpoint in self.online
        if now_online == was:
            return
        if now_online:
            self.online[endpoint] = self.clock()
        else:
            del self.online[endpoint]
        for listener in self.listeners:
            listener(endpoint, now_online)

    def on_event(self, event: dict) -> None:
        if event.get("Event") != "ContactStatus":
            return
        aor = event.get("AOR", "")
        if not is_web_phone(aor):
            return
        uri = event.get("URI", "")
        uris = self.contacts.setdefault(aor, set())
        if event.get("ContactStatus", "") in GONE:
            uris.discard(uri)
        else:
            uris.add(uri)
        self._settle(aor)

    def replace(self, contacts: Iterable[dict]) -> None:
        """A ``PJSIPShowContacts`` answer: the whole truth after a reconnect."""
        found: dict[str, set[str]] = {}
        for entry in contacts:
            aor = entry.get("Aor") or entry.get("AOR") or entry.get("Endpoint") or ""
            if is_web_phone(aor) and entry.get("Status", "") not in GONE:
                found.setdefault(aor, set()).add(entry.get("Uri") or entry.get("URI") or "")
        for endpoint in set(self.contacts) | set(found):
            self.contacts[endpoint] = found.get(endpoint, set())
            self._settle(endpoint)

    def forget(self, endpoint: str) -> None:
        """The endpoint's credentials were revoked: it is offline whatever Asterisk last said."""
        self.contacts[endpoint] = set()
        self._settle(endpoint)
