"""Errors of the web phone (each a clear 4xx answer)."""
from callcenter.errors import DomainError


class NotBrowserPhone(DomainError):
    error_id, status = "not_browser_phone", 409


class AgentPhoneOffline(DomainError):
    """Click-to-call for a browser agent whose phone is not registered: nothing is dialled."""
    error_id, status = "agent_phone_offline", 409


class InvalidQualityReport(DomainError):
    error_id, status = "invalid_quality_report", 422


class NoCallToRate(DomainError):
    error_id, status = "no_call", 409
