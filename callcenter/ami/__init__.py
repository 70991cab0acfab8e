"""Asterisk Manager Interface link (see :mod:`callcenter.ami.link`).

Only :mod:`callcenter.ami.link` imports panoramisk; the rest of the server
receives events as plain ``dict[str, str]``."""
from .errors import AmiError, AmiNotConnected, AmiTimeout
from .link import AmiLink

__all__ = ["AmiLink", "AmiError", "AmiNotConnected", "AmiTimeout"]
