"""The PBX: Asterisk configuration rendering and the managed processes
(Asterisk inside its Debian-unstable root, and Redis)."""
from callcenter.pbx.render import PhoneConf, TrunkConf, render_config, write_config

__all__ = ["PhoneConf", "TrunkConf", "render_config", "write_config"]
