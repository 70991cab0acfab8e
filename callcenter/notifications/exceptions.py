"""Errors of the notification outbox, each with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class InvalidNotification(DomainError):
    """A message that could never be delivered (unknown channel, bad recipient)."""
    error_id = "invalid_notification"
    status = 422


class NotificationNotFound(DomainError):
    error_id = "notification_not_found"
    status = 404


class ResendRefused(DomainError):
    """A message that may not be sent again now (still waiting, just re-sent, erased customer)."""
    error_id = "resend_refused"
    status = 409
