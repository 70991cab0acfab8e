"""Errors of the HR source, each with a stable ``error_id``. Their messages
are plain words for an admin and never hold a secret nor the HR system's
answer body."""
from __future__ import annotations

from callcenter.errors import DomainError


class InvalidSource(DomainError):
    """A setting of the source is wrong (the form or the JSON says which)."""
    error_id = "invalid_hr_source"
    status = 422


class SourceNotReady(DomainError):
    error_id = "hr_source_not_set"
    status = 409


class SecretUnreadable(DomainError):
    """A stored secret cannot be unsealed (the install's session secret changed)."""
    error_id = "hr_secret_unreadable"
    status = 409


class SourceFailed(DomainError):
    """The HR system answered something we cannot use (401, garbage, no list...)."""
    error_id = "hr_source_failed"
    status = 502


class SourceUnreachable(SourceFailed):
    """The HR system is down or too slow: try again later."""
    error_id = "hr_source_unreachable"
    status = 503
    retry_after = 60


class FetchNotFound(DomainError):
    error_id = "hr_fetch_not_found"
    status = 404
