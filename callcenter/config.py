"""The server's configuration: one TOML file, every key documented in
``callcenter.example.toml``.  ``callcenter init`` writes a file with freshly
generated secrets; nothing here has a default password."""
from __future__ import annotations

import dataclasses
import secrets
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.database_url import DatabaseSettings
from callcenter.pbx_settings import NODE_NAME, PbxSettings, peer_addresses  # noqa: F401 - re-exported
from callcenter.models import ROLES

EXAMPLE = Path(__file__).resolve().parent.parent / "callcenter.example.toml"
SECRET_PLACEHOLDER = "GENERATED-AT-INIT"


class ConfigError(Exception):
    """The config file is missing, unreadable or holds a bad value."""


@dataclass
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # Origins accepted on state-changing browser requests (scheme://host[:port]);
    # empty: only the origin the request itself was sent to.
    allowed_origins: list = field(default_factory=list)
    session_hours: float = 12.0
    cookie_secure: bool = False
    login_max_failures: int = 5
    lockout_minutes: float = 15.0
    timezone: str = "Asia/Kolkata"
    # https: the certificate (full chain) and its key, PEM; relative to the
    # config file. Empty: plain http (callcenter/tls.py).
    tls_cert: str = ""
    tls_key: str = ""


@dataclass
class PrivacySettings:
    # Roles that see customers' mobile numbers in full; others see them masked.
    unmasked_roles: list = field(default_factory=lambda: ["teamlead", "manager", "admin"])


@dataclass
class RedisSettings:
    url: str = "redis://127.0.0.1:6379/0"
    managed: bool = True
    key_prefix: str = "cc:"
    # Seconds a lease of callcenter/ownership lives unrenewed: a dead server's duties move within it.
    lease_seconds: float = 5.0


@dataclass
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "callcenter"
    secret: str = ""
    admin_username: str = "callcenter-admin"
    admin_secret: str = ""
    ping_interval: float = 2.0
    ping_timeout: float = 2.0
    action_timeout: float = 10.0
    reconnect_backoff_max: float = 10.0
    reconcile_interval: float = 5.0


@dataclass
class CallSettings:
    agent_ring_timeout: int = 30
    customer_ring_timeout: int = 45
    originate_timeout: float = 10.0
    queue_wait: float = 0.0
    caller_id_rotation: str = "pilot"  # pilot | round_robin
    default_region: str = "IN"
    record: bool = True
    # The fences of a call that never ends (callcenter/calls/fence.py): the
    # server hangs up a call connected longer than max_call_seconds, or a leg
    # ringing longer than max_ring_seconds; Asterisk itself cuts a call
    # pbx_margin_seconds later if the server could not.
    max_call_seconds: int = 4 * 3600
    max_ring_seconds: int = 120
    pbx_margin_seconds: int = 60


@dataclass
class TrunkDefaults:
    channels: int = 250
    inbound_headroom: int = 0


@dataclass
class SecuritySettings:
    session_secret: str = ""


@dataclass
class MonitoringSettings:
    """Prometheus / Alertmanager started by ``serve`` beside the server (monitoring/processes.py)."""
    prometheus: bool = False
    alertmanager: bool = False
    prometheus_port: int = 9190
    alertmanager_port: int = 9193
    scrape_interval: int = 15
    retention_days: int = 15
    alertmanager_config: str = ""  # empty: monitoring/alertmanager/alertmanager.yml


@dataclass
class Settings:
    path: Path
    state_dir: Path
    web: WebSettings = field(default_factory=WebSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    pbx: PbxSettings = field(default_factory=PbxSettings)
    ami: AmiSettings = field(default_factory=AmiSettings)
    calls: CallSettings = field(default_factory=CallSettings)
    trunks: TrunkDefaults = field(default_factory=TrunkDefaults)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    # The features' sections by name (``settings.work``, ``settings.ivr``...):
    # each feature declares its own (callcenter/feature.py ``Section``).
    sections: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sections = dict(self.sections)  # a copy (dataclasses.replace) has its own

    def __setattr__(self, name: str, value) -> None:
        if name in FEATURE_SECTIONS:
            self.sections[name] = value
        else:
            super().__setattr__(name, value)

    def __getattr__(self, name: str):
        """A feature's section: as loaded, or its defaults."""
        if name.startswith("__") or name == "sections":
            raise AttributeError(name)
        sections = self.__dict__.setdefault("sections", {})
        if name not in sections:
            if name not in FEATURE_SECTIONS:
                raise AttributeError(f"no config section {name!r} (is its feature loaded?)")
            sections[name] = FEATURE_SECTIONS[name].defaults()
        return sections[name]

    @property
    def uploads_dir(self) -> Path:
        return self.state_dir / "uploads"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.state_dir / 'callcenter.db'}"


_SECTIONS = {
    "web": WebSettings, "database": DatabaseSettings, "redis": RedisSettings,
    "pbx": PbxSettings, "ami": AmiSettings, "calls": CallSettings,
    "trunks": TrunkDefaults, "security": SecuritySettings, "privacy": PrivacySettings,
    "monitoring": MonitoringSettings,
}
# The features' sections (callcenter.feature.Section), registered by
# callcenter.features when it loads the features.
FEATURE_SECTIONS: dict = {}


def register_section(section) -> None:
    if section.name in _SECTIONS or FEATURE_SECTIONS.get(section.name, section) is not section:
        raise ValueError(f"two config sections named [{section.name}]")
    FEATURE_SECTIONS[section.name] = section
_REQUIRED_SECRETS = [("ami", "secret"), ("ami", "admin_secret"), ("security", "session_secret")]


def _section(cls, name: str, raw: dict):
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"[{name}] has an unknown key {key!r}")
        default = getattr(cls(), key)
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"[{name}] {key} must be true or false")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"[{name}] {key} must be a number")
            value = type(default)(value)
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"[{name}] {key} must be a string")
        if isinstance(default, list) and not (isinstance(value, list)
                                              and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"[{name}] {key} must be a list of strings")
        values[key] = value
    try:
        return cls(**values)
    except ValueError as error:  # a section's own check (DatabaseSettings.url...)
        raise ConfigError(f"[{name}] {error}") from None


def load(path: str | Path) -> Settings:
    """The config file, every section checked: the core's and those of the
    features registered so far (``callcenter.features.load_settings`` loads
    the features first)."""
    path = Path(path).resolve()
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no config file at {path}; run 'callcenter init --config {path}'") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    state_dir = Path(raw.pop("state_dir", "var"))
    if not state_dir.is_absolute():
        state_dir = path.parent / state_dir
    core, features = {}, {}
    for name, value in raw.items():
        if not isinstance(value, dict) or (name not in _SECTIONS and name not in FEATURE_SECTIONS):
            raise ConfigError(f"unknown config section or key {name!r}")
        if name in _SECTIONS:
            core[name] = _section(_SECTIONS[name], name, value)
        else:
            features[name] = _section(FEATURE_SECTIONS[name].defaults, name, value)
    settings = Settings(path=path, state_dir=state_dir, sections=features, **core)
    _check_core(settings)
    for section in FEATURE_SECTIONS.values():
        if section.check is not None:
            try:
                section.check(getattr(settings, section.name), settings)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
    return settings


def _check_core(settings: Settings) -> None:
    for section, key in _REQUIRED_SECRETS:
        value = getattr(getattr(settings, section), key)
        if not value or value == SECRET_PLACEHOLDER or len(value) < 16:
            raise ConfigError(f"[{section}] {key} is missing or too short; 'callcenter init' generates it")
    if not set(settings.privacy.unmasked_roles) <= set(ROLES):
        raise ConfigError(f"[privacy] unmasked_roles must be among {', '.join(ROLES)}")
    try:
        zoneinfo.ZoneInfo(settings.web.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[web] timezone {settings.web.timezone!r} is not a known time zone") from None
    if settings.calls.caller_id_rotation not in ("pilot", "round_robin"):
        raise ConfigError("[calls] caller_id_rotation must be 'pilot' or 'round_robin'")
    _check_call_limits(settings.calls)
    try:
        peer_addresses(settings.pbx)
    except ValueError as error:
        raise ConfigError(f"[pbx] {error}") from None
    m = settings.monitoring
    ports = (m.prometheus_port, m.alertmanager_port)
    if not all(1 <= p <= 65535 for p in ports) or len({*ports, settings.web.port}) < 3 or m.scrape_interval < 1:
        raise ConfigError("[monitoring] ports must be 1-65535, differ from each other and from [web] port; "
                          "scrape_interval at least 1")


def _check_call_limits(calls: CallSettings) -> None:
    if min(calls.max_call_seconds, calls.pbx_margin_seconds) < 1 \
            or calls.max_call_seconds + calls.pbx_margin_seconds > 999_999:
        raise ConfigError("[calls] max_call_seconds and pbx_margin_seconds must be at least 1, "
                          "and together at most 999999")
    longest_ring = max(calls.agent_ring_timeout, calls.customer_ring_timeout)
    if calls.max_ring_seconds <= longest_ring:
        raise ConfigError(f"[calls] max_ring_seconds must be above agent_ring_timeout and "
                          f"customer_ring_timeout ({longest_ring}): it cuts only rings that outlive them")


def render_new(overrides: dict[str, dict] | None = None) -> str:
    """The example file with every secret freshly generated and, optionally,
    some keys replaced (``{"ami": {"port": 15038}}``): what ``init`` writes."""
    text = EXAMPLE.read_text()
    lines = []
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        key = stripped.split("=", 1)[0].strip() if "=" in stripped and not stripped.startswith("#") else None
        if key and SECRET_PLACEHOLDER in stripped:
            line = f'{key} = "{secrets.token_urlsafe(32)}"'
        elif key and overrides and key in overrides.get(section or "", {}):
            line = f"{key} = {_toml_value(overrides[section or ''][key])}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
