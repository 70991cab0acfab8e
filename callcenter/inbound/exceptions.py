"""Errors of inbound calls and call-backs, each with a stable error id."""
from __future__ import annotations

from callcenter.calls.exceptions import CallNotLive  # noqa: F401 - raised by the call control
from callcenter.errors import DomainError


class InboundCallNotFound(DomainError):
    """No such inbound call, or not one the caller may see (ids do not leak)."""
    error_id = "inbound_call_not_found"
    status = 404


class NoCallerNumber(DomainError):
    """The caller's number was withheld or not a phone number: nothing to make a customer of."""
    error_id = "no_caller_number"
    status = 409


class CustomerInvalid(DomainError):
    """A field of the new customer is wrong; ``field`` names it."""
    error_id = "invalid_customer"
    status = 422
