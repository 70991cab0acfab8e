"""One audit row as people read it: when, who (a user, ``cli:<unix user>``,
a service token, or the system), what, on which object, a short summary of
the change and the request it came with.

The summary is built from what the record sites store in ``details``:

- a change: ``changes={field: [old, new]}`` (or ``{"old": .., "new": ..}``,
  or ``changed=`` the same), ``field_before``/``field_after`` pairs, and the
  ``*.update``/``*.change`` sites that put ``field=[old, new]`` at the top:
  "field: old -> new" for each field;
- a bulk view (``view`` rows): "N rows" and the filters given;
- anything else: a few ``key=value`` pairs, each value cut short.

Never a whole record: nested values are counted, not shown, every value is
cut to ``VALUE_MAX`` characters and the summary to ``SUMMARY_MAX``; keys that
name a secret are left out. Phone numbers: a number that *is* the field
changed is shown as the reader's role may see numbers (the panel's rule:
``[privacy] unmasked_roles``); any other number in a row (a new user's
mobile, the DND list's numbers, a view's filters) is always masked, because
it only identifies the object and the reader does not need its digits.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from callcenter.customers.privacy import mask_mobile
from callcenter.models import AuditEntry

VALUE_MAX = 40
SUMMARY_MAX = 240
KEYS_SHOWN = 6
SECRET_WORDS = ("password", "secret", "token", "hash", "key", "credential")
SYSTEM_ACTORS = {"system", "inbound", "webhooks", "hr-source", "dialer", "scheduler"}
CHANGE_ACTIONS = (".update", ".change", ".status")
_NUMBER = re.compile(r"^\+?\d{8,15}$")   # how numbers are stored (E.164, or national digits)

Shown = Callable[[str], str]   # how a number that is the field changed is shown to this reader


def actor_kind(actor: str, users: dict[str, int]) -> str:
    """user, cli, token or system."""
    if actor in users:
        return "user"
    if actor.startswith("cli:"):
        return "cli"
    if actor.startswith("token:"):
        return "token"
    return "system" if actor in SYSTEM_ACTORS or actor.startswith("system") else "user"


def _secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _plain(value: Any, shown: Shown | None = None) -> str:
    """A scalar as text (a number masked unless ``shown`` says how); containers counted."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return f"({len(value)} fields)"
    if isinstance(value, (list, tuple)):
        if len(value) <= 4 and all(not isinstance(v, (list, dict)) for v in value):
            return "[" + ", ".join(_plain(v, shown) for v in value) + "]"
        return f"({len(value)} items)"
    text = str(value)
    if isinstance(value, str) and _NUMBER.match(text):
        text = (shown(text) if shown else mask_mobile(text)) or ""
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX - 1] + "…"


def _pair(value: Any) -> tuple[Any, Any] | None:
    """(old, new) when ``value`` is one."""
    if isinstance(value, dict) and set(value) == {"old", "new"}:
        return value["old"], value["new"]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    return None


def changes_of(entry: AuditEntry) -> dict[str, tuple[Any, Any] | None]:
    """The fields a row says changed: {field: (old, new)}, or None for a field
    changed without its values (a secret, a form)."""
    details = entry.details or {}
    found: dict[str, tuple[Any, Any] | None] = {}
    for key in ("changes", "changed"):
        value = details.get(key)
        if isinstance(value, dict):
            found.update({k: (None if _secret(k) else _pair(v)) for k, v in value.items()})
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            for k in value:
                found.setdefault(k, None)
    if entry.action.endswith(CHANGE_ACTIONS):
        found.update({k: _pair(v) for k, v in details.items()
                      if k not in ("changes", "changed") and not _secret(k) and _pair(v) is not None})
    for key in details:
        if key.endswith("_before") and key[:-7] + "_after" in details and not _secret(key):
            found.setdefault(key[:-7], (details[key], details[key[:-7] + "_after"]))
    return found


def summary_of(entry: AuditEntry, shown: Shown | None = None) -> str:
    """The short text of a row (see the module's docstring)."""
    details = entry.details or {}
    if entry.entity == "view":
        filters = details.get("filters") or {}
        given = ", ".join(f"{k}={_plain(v)}" for k, v in list(filters.items())[:KEYS_SHOWN])
        text = f"{details.get('rows', '?')} rows" + (f" ({given})" if given else "")
        return _cut(text)
    changes = changes_of(entry)
    parts = [f"{field}: {_plain(pair[0], shown)} -> {_plain(pair[1], shown)}" if pair else f"{field} changed"
             for field, pair in changes.items()]
    used = set(changes) | {"changes", "changed"}
    rest = [(k, v) for k, v in details.items()
            if k not in used and v is not None and not _secret(k) and not k.endswith(("_before", "_after"))]
    parts += [f"{k}={_plain(v)}" for k, v in rest[:max(0, KEYS_SHOWN - len(parts))]]
    return _cut("; ".join(parts))


def _cut(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[:SUMMARY_MAX - 1] + "…"


def object_id_of(entry: AuditEntry, shown: Shown | None = None) -> str:
    """The object's id; a DND entry's id is a number, shown as the reader may see numbers."""
    if entry.entity == "dnd" and _NUMBER.match(entry.entity_id or ""):
        return shown(entry.entity_id) if shown else mask_mobile(entry.entity_id) or ""
    return entry.entity_id


def row_view(entry: AuditEntry, users: dict[str, int], shown: Shown | None = None) -> dict:
    """A row for the API, the page and the CSV (times as datetimes)."""
    return {
        "id": entry.id, "at": entry.at, "actor": entry.actor,
        "actor_kind": actor_kind(entry.actor, users), "actor_user_id": users.get(entry.actor),
        "action": entry.action, "object": entry.entity, "object_id": object_id_of(entry, shown),
        "summary": summary_of(entry, shown),
        "request_id": getattr(entry, "request_id", None),
    }
