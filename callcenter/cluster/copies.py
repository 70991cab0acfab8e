"""The servers' config files of a cluster: copies of the operator's config.

Each server of ``callcenter cluster`` runs ``serve`` from a copy of the one
config file the operator keeps, written beside it (``<name>.server-<n>.toml``,
mode 0600: it holds the same secrets) so that every relative path in it (the
state folder, the certificate, the IVR flows) means the same file. A copy
differs in only what two servers on one host cannot share:

* ``[web] port``: its own, on 127.0.0.1, in plain HTTP (nginx in front
  terminates TLS with the original's certificate and says so in
  ``X-Forwarded-Proto``);
* ``[ivr] port``: its own; ``dialplan_port`` keeps Asterisk dialling the
  original port, where nginx spreads the IVR sessions over the servers;
* ``[pbx] managed = false``, ``[redis] managed = false``: the cluster runs
  Asterisk and Redis itself, so that a server killed mid-call takes no call
  with it;
* ``[monitoring]``: no Prometheus or Alertmanager of its own.

The copy is the original's text with those keys replaced (added where the
original leaves them to their defaults): comments and everything else stay."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from callcenter.config import _toml_value


@dataclass(frozen=True)
class ServerSlot:
    """One server of the cluster: its number (from 1), config copy and ports."""
    number: int
    config: Path
    web_port: int
    ivr_port: int

    @property
    def name(self) -> str:
        return f"server-{self.number}"


def with_overrides(text: str, overrides: dict[str, dict], top: dict | None = None) -> str:
    """``text`` (TOML) with ``overrides`` ({section: {key: value}}) set: a
    ``key = ...`` line of the section replaced, or a line added after the
    section's header (the section added at the end when absent). ``top``:
    keys before the first section (``state_dir``). Values are one line."""
    pending = {name: dict(keys) for name, keys in overrides.items()}
    top = dict(top or {})
    out: list[str] = []
    section = ""

    def close_section() -> None:
        """Add the keys of the section just ended that it did not have."""
        keys = top if section == "" else pending.get(section, {})
        if not keys:
            return
        blank = False
        while out and out[-1].strip() == "":  # before the blank lines that end it
            out.pop()
            blank = True
        for key, value in keys.items():
            out.append(f"{key} = {_toml_value(value)}")
        keys.clear()
        if blank:
            out.append("")

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]") and not stripped.startswith("[["):
            close_section()
            section = stripped[1:-1].strip()
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            keys = top if section == "" else pending.get(section, {})
            if key in keys:
                line = f"{key} = {_toml_value(keys.pop(key))}"
        out.append(line)
    close_section()
    for name, keys in pending.items():
        if keys:
            out.extend(["", f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in keys.items())])
    return "\n".join(out) + "\n"


def server_text(original: str, settings, slot: ServerSlot) -> str:
    """The config text of one server of the cluster of ``settings``."""
    return with_overrides(original, {
        "web": {"host": "127.0.0.1", "port": slot.web_port, "tls_cert": "", "tls_key": ""},
        "ivr": {"port": slot.ivr_port, "dialplan_port": settings.ivr.dialplan_port or settings.ivr.port},
        "pbx": {"managed": False},
        "redis": {"managed": False},
        "monitoring": {"prometheus": False, "alertmanager": False},
    }, top={"state_dir": str(settings.state_dir)})


def slots(settings, servers: int, first_web_port: int, first_ivr_port: int) -> list[ServerSlot]:
    base = settings.path
    return [ServerSlot(n, base.with_name(f"{base.stem}.server-{n}.toml"), first_web_port + n - 1,
                       first_ivr_port + n - 1) for n in range(1, servers + 1)]


def write_copies(settings, server_slots: list[ServerSlot]) -> None:
    """Write every server's copy (0600, replaced atomically)."""
    original = settings.path.read_text()
    for slot in server_slots:
        tmp = slot.config.with_name(f".{slot.config.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(server_text(original, settings, slot))
        os.replace(tmp, slot.config)
