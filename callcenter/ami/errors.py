"""Exceptions of the AMI link (importable without panoramisk)."""
from __future__ import annotations


class AmiError(Exception):
    """Asterisk answered ``Response: Error`` (or another failure).

    ``message`` is Asterisk's ``Message`` header (or a description of the
    local failure), ``response`` the whole reply as a plain dict (empty when
    there was no reply)."""

    def __init__(self, message: str, response: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response: dict[str, str] = dict(response or {})


class AmiNotConnected(AmiError):
    """There is no authenticated AMI link right now (or it was lost while the
    action was waiting for its reply; the action is never re-sent)."""


class AmiTimeout(AmiError):
    """No reply within the action's timeout; a late reply is ignored."""
