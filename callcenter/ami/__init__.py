"""Asterisk Manager Interface link (see :mod:`callcenter.ami.link`).

Only modules of this package import panoramisk (:mod:`callcenter.ami.protocol`
holds its protocol subclass and action building); the rest of the server
receives events as plain ``dict[str, str]``."""
from .errors import AmiError, AmiNotConnected, AmiTimeout
from .link import AmiLink

__all__ = ["AmiLink", "AmiError", "AmiNotConnected", "AmiTimeout"]
