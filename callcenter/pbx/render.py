"""Render the Asterisk configuration of one instance from the settings and
the trunks and phones the server knows.

Every value that ends up in a config file is validated first: a name, host or
secret that could break out of its line (``;``, newlines, ``[``...) raises
``ValueError`` instead of being written."""
from __future__ import annotations

import functools
import ipaddress
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from callcenter.config import Settings
from callcenter.queues import conf as queue_conf, hold_music

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "asterisk-conf"

# The events the call-work AMI user receives (manager.conf eventfilter).
# Action-list responses (CoreShowChannel...) are not filtered by Asterisk.
AMI_EVENTS = (
    "Newchannel", "Newstate", "Hangup", "DialBegin", "DialEnd",
    "BridgeEnter", "BridgeLeave", "OriginateResponse", "FullyBooted", "Shutdown",
    "UserEvent",  # the dialplan's CallCut (maximum call age, callcenter/calls/fence.py)
    "ContactStatus",  # a carrier reachable or not ([pbx] trunk_qualify_seconds; the board)
)

# Folders of an instance, under PbxSettings.instance_dir.
INSTANCE_FOLDERS = ("etc", "spool", "run", "log", "lib", "lib/keys", "lib/moh", "recordings")

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
AMI_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_.~+/=-]{16,128}$")
REALM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MD5_RE = re.compile(r"^[0-9a-f]{32}$")
CONTACT_RE = re.compile(r"^sip:(?:([A-Za-z0-9_.-]{1,40})@)?([0-9.]{7,15}):([0-9]{1,5})$")
# Section names rendered by the templates themselves.
RESERVED_NAMES = frozenset({"global", "system", "transport-udp", "transport-ws", "general"})
# Asterisk's HTTP server (the web phones' SIP WebSocket) listens here only;
# the server's /sip proxy connects from this address too.
HTTP_HOST = "127.0.0.1"
# Codecs offered to browsers, by [webphone] codec (the first is preferred).
# Trunks and desk phones keep A-law (and u-law) only.
WEBPHONE_CODECS = {"alaw": "alaw,opus", "opus": "opus,alaw"}


@dataclass
class TrunkConf:
    """A SIP trunk: Asterisk sends to sip:host:port and identifies the
    carrier's requests by its IP. ``name`` is the PJSIP endpoint name."""
    name: str
    host: str
    port: int
    channels: int
    node: str = "main"  # the PBX node hosting it (callcenter/pbx/nodes.py)


@dataclass
class PhoneConf:
    """An agent's SIP phone. ``contact`` ("sip:127.0.0.10:5070"): static, no
    registration. Otherwise the phone registers with digest auth;
    ``md5_cred`` is md5 hex of "endpoint:realm:password"."""
    endpoint: str
    md5_cred: str | None
    contact: str | None
    # A web phone (callcenter/webphone): WebRTC over the SIP WebSocket,
    # registered with the credentials of one panel login (md5_cred).
    browser: bool = False
    node: str = "main"  # the PBX node it lives on


def check_name(value, what: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ValueError(f"invalid {what} {value!r}: 1-40 of a-z 0-9 _ -, starting with a letter or digit")
    if value in RESERVED_NAMES:
        raise ValueError(f"invalid {what} {value!r}: reserved")
    return value


def check_ipv4(value, what: str = "host") -> str:
    if not isinstance(value, str):
        raise ValueError(f"invalid {what} {value!r}: an IPv4 address is required")
    try:
        addr = ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"invalid {what} {value!r}: an IPv4 address is required (no host names)") from None
    if str(addr) != value:
        raise ValueError(f"invalid {what} {value!r}: write the address in its plain form")
    return value


def check_port(value, what: str = "port") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"invalid {what} {value!r}: an integer 1-65535 is required")
    return value


def _check(regex: re.Pattern, value, what: str) -> str:
    if not isinstance(value, str) or not regex.fullmatch(value):
        raise ValueError(f"invalid {what}")
    return value


def _check_trunk(t: TrunkConf) -> None:
    check_name(t.name, "trunk name")
    check_ipv4(t.host, f"host of trunk {t.name}")
    check_port(t.port, f"port of trunk {t.name}")
    if isinstance(t.channels, bool) or not isinstance(t.channels, int) or not 1 <= t.channels <= 100000:
        raise ValueError(f"invalid channel count of trunk {t.name}: {t.channels!r}")


def _check_phone(p: PhoneConf) -> None:
    check_name(p.endpoint, "phone endpoint")
    if p.md5_cred is None and p.contact is None:
        raise ValueError(f"phone {p.endpoint}: needs md5_cred (registration) or a static contact")
    if p.browser and (p.md5_cred is None or p.contact is not None):
        raise ValueError(f"web phone {p.endpoint}: registers with md5_cred, never a static contact")
    if p.md5_cred is not None:
        _check(MD5_RE, p.md5_cred, f"md5_cred of phone {p.endpoint} (32 lowercase hex digits)")
    if p.contact is not None:
        m = CONTACT_RE.fullmatch(p.contact) if isinstance(p.contact, str) else None
        if not m:
            raise ValueError(f"invalid contact of phone {p.endpoint}: {p.contact!r} (sip:IPV4:PORT)")
        check_ipv4(m.group(2), f"contact host of phone {p.endpoint}")
        check_port(int(m.group(3)), f"contact port of phone {p.endpoint}")


def _check_settings(settings: Settings) -> None:
    pbx, ami = settings.pbx, settings.ami
    check_name(pbx.instance, "pbx.instance")
    check_ipv4(pbx.sip_host, "pbx.sip_host")
    check_port(pbx.sip_port, "pbx.sip_port")
    check_port(pbx.rtp_start, "pbx.rtp_start")
    check_port(pbx.rtp_end, "pbx.rtp_end")
    if pbx.rtp_end <= pbx.rtp_start:
        raise ValueError("pbx.rtp_end must be above pbx.rtp_start")
    _check(REALM_RE, pbx.sip_realm, "pbx.sip_realm")
    check_port(pbx.http_port, "pbx.http_port")
    if not isinstance(pbx.trunk_qualify_seconds, int) or not 0 <= pbx.trunk_qualify_seconds <= 3600:
        raise ValueError("pbx.trunk_qualify_seconds must be 0 (carriers not monitored) to 3600")
    check_ipv4(ami.host, "ami.host")
    check_port(ami.port, "ami.port")
    _check(AMI_USER_RE, ami.username, "ami.username")
    _check(AMI_USER_RE, ami.admin_username, "ami.admin_username")
    if ami.username == ami.admin_username:
        raise ValueError("ami.username and ami.admin_username must differ")
    _check(SECRET_RE, ami.secret, "ami.secret (16-128 of A-Z a-z 0-9 _ . ~ + / = -)")
    _check(SECRET_RE, ami.admin_secret, "ami.admin_secret (16-128 of A-Z a-z 0-9 _ . ~ + / = -)")
    check_ipv4(settings.ivr.host, "ivr.host")
    check_port(settings.ivr.port, "ivr.port")
    for other, what in ((ami.port, "ami.port"), (settings.ivr.port, "ivr.port"), (settings.web.port, "web.port")):
        if pbx.http_port == other:
            raise ValueError(f"pbx.http_port {pbx.http_port} is already {what}: Asterisk's HTTP server needs its own port")


def webphone_codecs(settings: Settings) -> str:
    """The ``allow`` line of browser endpoints. [webphone] is the webphone
    feature's section: absent when the feature is not loaded (A-law first)."""
    codec = getattr(getattr(settings, "webphone", None), "codec", "alaw")
    if codec not in WEBPHONE_CODECS:
        raise ValueError(f"[webphone] codec must be one of {', '.join(WEBPHONE_CODECS)}")
    return WEBPHONE_CODECS[codec]


@functools.cache  # one a process: compiling the templates on every sync cost more than rendering them
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_config(settings: Settings, trunks: list[TrunkConf], phones: list[PhoneConf],
                  queues: list = ()) -> dict[str, str]:
    """File name -> text of every Asterisk config file of the instance
    (``queues``: :class:`callcenter.queues.conf.QueueConf`, checked)."""
    _check_settings(settings)
    queues = queue_conf.check_queues(queues)
    seen: set[str] = set()
    for t in trunks:
        _check_trunk(t)
        if t.name in seen:
            raise ValueError(f"duplicate PJSIP name {t.name!r}")
        seen.add(t.name)
    for p in phones:
        _check_phone(p)
        if p.endpoint in seen:
            raise ValueError(f"duplicate PJSIP name {p.endpoint!r} (phones and trunks share one namespace)")
        seen.add(p.endpoint)
    hosts = [t.host for t in trunks]
    if len(set(hosts)) != len(hosts):
        raise ValueError("two trunks share a host IP: Asterisk identifies carriers by IP")
    # PJSIP identifies by IP before user name ([global] endpoint_identifier_order):
    # a carrier on 127.0.0.1 would capture every REGISTER the /sip proxy relays
    # (it connects from 127.0.0.1), and web phones could never register.
    if HTTP_HOST in hosts and any(p.browser for p in phones):
        raise ValueError(f"a trunk on {HTTP_HOST} would capture the web phones' registrations "
                         "(PJSIP identifies carriers by IP): give the carrier another address")

    env = _environment()
    context = {
        "d": settings.pbx.instance_dir,
        "pbx": settings.pbx,
        "ami": settings.ami,
        "trunks": trunks,
        "phones": phones,
        "event_names": AMI_EVENTS + queue_conf.QUEUE_EVENTS,
        "ivr": settings.ivr,
        "queues": queues,
        "queue_timing": queue_conf,
        "http_host": HTTP_HOST,
        "webphone_codecs": webphone_codecs(settings),
    }
    out = {}
    for template in sorted(env.list_templates(extensions=["j2"])):
        out[template[: -len(".j2")]] = env.get_template(template).render(context)
    return out


def root_ids(root: Path, user: str) -> tuple[int, int]:
    """uid and gid of ``user`` in the root's own /etc/passwd."""
    passwd = root / "etc" / "passwd"
    try:
        for line in passwd.read_text().splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and fields[0] == user:
                return int(fields[2]), int(fields[3])
    except FileNotFoundError:
        raise FileNotFoundError(f"no {passwd}: build the root with scripts/build-pbx-root.sh") from None
    raise LookupError(f"user {user!r} not found in {passwd}")


def instance_paths(settings: Settings) -> dict[str, Path]:
    """Host paths of the instance folders (etc, spool, run, log, lib, recordings)."""
    base = settings.pbx.instance_dir
    return {name: settings.pbx.host_path(f"{base}/{name}") for name in INSTANCE_FOLDERS}


def write_config(settings: Settings, trunks: list[TrunkConf], phones: list[PhoneConf],
                 queues: list = ()) -> Path:
    """Render and write the config into <root><instance_dir>/etc (each file
    replaced atomically), create the instance folders owned by the root's
    Asterisk user. Returns the host path of the etc folder."""
    files = render_config(settings, trunks, phones, queues)
    root = Path(settings.pbx.root)
    if not root.is_dir():
        raise FileNotFoundError(f"PBX root {root} is missing: run scripts/build-pbx-root.sh")
    uid, gid = root_ids(root, settings.pbx.run_as)
    am_root = os.geteuid() == 0
    base = settings.pbx.host_path(settings.pbx.instance_dir)
    base.parent.mkdir(parents=True, exist_ok=True)
    base.mkdir(mode=0o750, exist_ok=True)
    paths = instance_paths(settings)
    for path in [base, *paths.values()]:
        path.mkdir(mode=0o750, parents=True, exist_ok=True)
        if am_root:
            os.chown(path, uid, gid)
    hold_music.ensure(paths["lib/moh"], uid if am_root else None, gid if am_root else None)
    etc = paths["etc"]
    for name, text in files.items():
        fd, tmp = tempfile.mkstemp(dir=etc, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.chmod(tmp, 0o640)
            if am_root:
                os.chown(tmp, uid, gid)
            os.replace(tmp, etc / name)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
    return etc
