"""Errors of the web phone (each a clear 4xx answer)."""
from callcenter.errors import DomainError


class NotBrowserPhone(DomainError):
    error_id, status = "not_browser_phone", 409


class AgentPhoneOffline(DomainError):
    """Click-to-call for a browser agent whose phone is not registered: nothing is dialled."""
    error_id, status = "agent_phone_offline", 409


class PhoneNotReady(DomainError):
    """Asterisk has not loaded this login's credentials in time (503, Retry-After)."""
    error_id, status = "phone_not_ready", 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class InvalidQualityReport(DomainError):
    error_id, status = "invalid_quality_report", 422


class NoCallToRate(DomainError):
    error_id, status = "no_call", 409
